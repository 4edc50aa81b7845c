"""One formatting for all code: `ruff format` (run by `make lint`) decides every line's shape,
and no statement opts out of it. Hand-aligned statements drifted (issue 17 counted 88 opt-outs
in the package, 150 by the time they were removed), and each one is a place a reader must
re-check by eye."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A comment that turns the formatter off for a statement or a region.
_OPT_OUT = re.compile(r"#\s*(fmt:\s*(skip|off|on)|yapf:\s*disable)\b")


def opt_outs(source: str) -> list[int]:
    """Line numbers (1-based) of `source` that carry a formatter opt-out comment."""
    return [n for n, line in enumerate(source.splitlines(), 1) if _OPT_OUT.search(line)]


def test_the_finder_sees_every_form_of_opt_out() -> None:
    planted = "a = 1\nb = (1,  2)  # fmt: skip\n# fmt: off\nc = 3\n# fmt: on\nd = 4  #fmt:skip\n"
    assert opt_outs(planted) == [2, 3, 5, 6]
    assert opt_outs("text = 'the fmt module'\n# formatting: skip nothing\n") == []


def test_no_code_opts_out_of_the_formatter() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in ("hotelbot", "tests")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.resolve() != Path(__file__).resolve()
        for line in opt_outs(path.read_text(encoding="utf-8"))
    ]
    assert found == []
