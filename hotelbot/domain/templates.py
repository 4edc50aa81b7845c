"""Message templates: texts per language with `{variable}` placeholders.

A template is checked when an operator adds it (`validate`) and rendered per guest
(`render`). Rendering never returns a message with a hole: a variable whose value is None or
blank raises `MissingValueError`, and the caller skips or holds the message.

Placeholder syntax is a subset of `str.format`: `{name}` with a name from `VARIABLES`;
`{{` and `}}` are literal braces. Format specs, conversions, attribute or index access and
positional fields (`{}`, `{0}`, `{name:>10}`, `{name!r}`, `{guest.name}`) are rejected,
so a template cannot reach into Python objects.

Dates are rendered as "12 May" (English), "12 мая" (Russian) and ISO "2026-05-12" for other
languages; times as 24-hour "15:00". See `stay_values`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Final

from hotelbot.domain.fire_times import DEFAULT_CHECK_IN_TIME, DEFAULT_CHECK_OUT_TIME, StayFacts

VARIABLES: Final = frozenset(
    {
        "guest_name",
        "first_name",
        "hotel_name",
        "room",
        "check_in",
        "check_out",
        "check_in_time",
        "check_out_time",
        "nights",
    }
)
"""The only placeholder names a template may use. Add new ones here and in `stay_values`."""


class TemplateError(ValueError):
    """A template is malformed or uses unknown variables; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(problems))


class MissingValueError(TemplateError):
    """Rendering needs variables whose values are missing (None or blank).

    `missing` holds the variable names, sorted. The message names variables only, never
    guest data.
    """

    def __init__(self, missing: list[str], language: str) -> None:
        self.missing = tuple(sorted(set(missing)))
        self.language = language
        super().__init__(
            [f"no value for {', '.join('{' + m + '}' for m in self.missing)} ({language} text)"]
        )


def _normalise_language(code: str) -> str:
    return code.strip().replace("_", "-").lower()


@dataclass(frozen=True)
class Template:
    """Texts keyed by language code ("en", "ru", "pt-br"), plus the fallback language.

    Language codes are stored lower-case with "-" separators. The fallback must have a text.
    Construction does not check placeholders; call `validate` (at trigger-add time).
    """

    texts: Mapping[str, str]
    fallback_language: str = "en"

    def __post_init__(self) -> None:
        normalised = {_normalise_language(k): v for k, v in self.texts.items()}
        if len(normalised) != len(self.texts):
            raise TemplateError([f"duplicate language codes in {sorted(self.texts)}"])
        fallback = _normalise_language(self.fallback_language)
        if fallback not in normalised:
            raise TemplateError(
                [f"fallback language {fallback!r} has no text (have: {sorted(normalised)})"]
            )
        object.__setattr__(self, "texts", dict(normalised))
        object.__setattr__(self, "fallback_language", fallback)

    def to_dict(self) -> dict[str, object]:
        return {"texts": dict(self.texts), "fallback_language": self.fallback_language}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Template:
        texts = data.get("texts")
        fallback = data.get("fallback_language", "en")
        if not isinstance(texts, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in texts.items()
        ):
            raise TemplateError([f"texts must map language codes to strings, got {texts!r}"])
        if not isinstance(fallback, str):
            raise TemplateError([f"fallback_language must be a string, got {fallback!r}"])
        return cls(dict(texts), fallback)

    def pick_language(self, language: str | None, default: str | None = None) -> str:
        """The language actually used for a guest: exact code, then its primary subtag
        ("pt-br" -> "pt"), then `default` (the hotel's default language) when there is a
        text in it, then the fallback. Always a language with a text: never a hole."""
        for wanted in (language, default):
            if wanted:
                code = _normalise_language(wanted)
                if code in self.texts:
                    return code
                primary = code.split("-")[0]
                if primary in self.texts:
                    return primary
        return self.fallback_language

    def has_text_for(self, language: str | None) -> bool:
        """Whether `language` (or its primary subtag) has a text of its own."""
        if not language:
            return False
        code = _normalise_language(language)
        return code in self.texts or code.split("-")[0] in self.texts


def _fields(text: str) -> tuple[list[str], list[str]]:
    """(variable names in order, problems) for one text."""
    names: list[str] = []
    problems: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:  # unmatched single brace
        return names, [f"malformed braces ({exc}); write {{{{ or }}}} for a literal brace"]
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        shown += "}"
        if name == "" or name.isdigit():
            problems.append(f"positional placeholder {shown}; use a name like {{guest_name}}")
        elif conversion or spec:
            problems.append(f"{shown}: conversions and format specs are not allowed")
        elif not name.isidentifier():
            problems.append(f"{shown}: attribute or index access is not allowed")
        elif name not in VARIABLES:
            problems.append(f"unknown variable {shown}")
        else:
            names.append(name)
    return names, problems


def variables_used(template: Template) -> frozenset[str]:
    """Every allowed variable name used in any language's text."""
    used: set[str] = set()
    for text in template.texts.values():
        names, _ = _fields(text)
        used.update(n for n in names if n in VARIABLES)
    return frozenset(used)


def validate(template: Template) -> None:
    """Raise `TemplateError` listing every problem in every language, or return None.

    Problems: blank text, malformed braces, unknown variables, and placeholder forms other
    than `{name}`. Allowed names are in `VARIABLES`; the error lists them when a name is
    unknown, so the operator sees the fix.
    """
    problems: list[str] = []
    for language in sorted(template.texts):
        text = template.texts[language]
        if not text.strip():
            problems.append(f"{language}: text is empty")
            continue
        _, found = _fields(text)
        problems.extend(f"{language}: {p}" for p in found)
    if problems:
        if any("unknown variable" in p for p in problems):
            problems.append(f"allowed variables: {', '.join(sorted(VARIABLES))}")
        raise TemplateError(problems)


def render(
    template: Template,
    language: str | None,
    values: Mapping[str, str | None],
    *,
    default_language: str | None = None,
) -> str:
    """The text for `language` (see `Template.pick_language`; `default_language` is the
    hotel's, tried before the template's fallback) with placeholders filled.

    Raises `TemplateError` if the chosen text is invalid, and `MissingValueError` naming
    every used variable whose value is absent, None or blank. Pure; never returns a text
    with an unfilled placeholder.
    """
    chosen = template.pick_language(language, default_language)
    text = template.texts[chosen]
    names, problems = _fields(text)
    if problems:
        raise TemplateError([f"{chosen}: {p}" for p in problems])
    missing = [n for n in names if not (values.get(n) or "").strip()]
    if missing:
        raise MissingValueError(missing, chosen)
    out: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(text):
        out.append(literal)
        if name is not None:
            value = values[name]
            assert value is not None  # checked above
            out.append(value)
    return "".join(out)


# --- values from a stay ----------------------------------------------------------------------

_EN_MONTHS: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_RU_MONTHS_GENITIVE: Final = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def format_date(day: date, language: str) -> str:
    """'12 May' (en), '12 мая' (ru), ISO '2026-05-12' otherwise."""
    primary = _normalise_language(language).split("-")[0]
    if primary == "en":
        return f"{day.day} {_EN_MONTHS[day.month - 1]}"
    if primary == "ru":
        return f"{day.day} {_RU_MONTHS_GENITIVE[day.month - 1]}"
    return day.isoformat()


def format_time(at: time) -> str:
    return at.strftime("%H:%M")


def stay_values(
    stay: StayFacts,
    *,
    hotel_name: str,
    language: str | None = None,
    default_check_in: time = DEFAULT_CHECK_IN_TIME,
    default_check_out: time = DEFAULT_CHECK_OUT_TIME,
) -> dict[str, str | None]:
    """Template values for a stay, one key per name in `VARIABLES`.

    Dates are formatted for `language` (default: the stay's). Unknown facts (room not yet
    assigned, blank name) are None, so `render` refuses a template that needs them.
    """
    lang = language or stay.language
    name = " ".join(stay.guest_name.split())
    return {
        "guest_name": name or None,
        "first_name": name.split(" ")[0] if name else None,
        "hotel_name": hotel_name.strip() or None,
        "room": (stay.room or "").strip() or None,
        "check_in": format_date(stay.check_in, lang),
        "check_out": format_date(stay.check_out, lang),
        "check_in_time": format_time(stay.check_in_time or default_check_in),
        "check_out_time": format_time(stay.check_out_time or default_check_out),
        "nights": str(stay.nights),
    }
