"""A file a message carries: sent by URL (Green API `sendFileByUrl`), with a caption per language.

Green API fetches the file from the URL itself and decides how WhatsApp shows it (photo,
video, voice, document) from the file name's extension, so both are checked when an
operator adds the file (`parse_attachment`), not when a guest is waiting for it:

* the URL must be https:// with a host, no user:password@ and no spaces (Green API fetches
  it from the internet; plain http would let anyone on the way swap the file);
* the file name must be a plain name with an extension ("menu.pdf", "map.jpg"), no folders.

Captions use the template syntax (`{first_name}` ...) and are optional. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from hotelbot.domain.templates import Template, TemplateError, validate

MAX_URL_CHARS: Final = 2000
MAX_FILE_NAME_CHARS: Final = 200
MAX_CAPTION_CHARS: Final = 1024
"""Green API's documented caption limit for file messages (kept short: it shows under a
photo or a document)."""

_FILE_NAME: Final = re.compile(r"^[^/\\\x00-\x1f\x7f]+\.([A-Za-z0-9]{1,10})$")


class AttachmentError(ValueError):
    """A file URL, file name or caption that cannot be sent; the message says how to fix it."""


def url_problem(url: str) -> str | None:
    """Why Green API should not be asked to fetch `url`, or None when it is fine."""
    if not url or len(url) > MAX_URL_CHARS:
        return f"the file URL must be 1..{MAX_URL_CHARS} characters"
    if any(ch.isspace() for ch in url):
        return "the file URL contains spaces; encode them as %20"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return f"{url!r} is not a valid URL"
    if parts.scheme != "https":
        return f"the file URL must start with https:// (got {parts.scheme or 'no'} scheme)"
    if not host:
        return "the file URL has no host"
    if "@" in parts.netloc:
        return "the file URL must not contain user:password@"
    return None


def file_name_problem(name: str) -> str | None:
    """Why `name` is not a file name Green API can type, or None when it is fine."""
    if not name or len(name) > MAX_FILE_NAME_CHARS:
        return f"the file name must be 1..{MAX_FILE_NAME_CHARS} characters"
    if _FILE_NAME.match(name) is None:
        return (
            f"the file name {name!r} needs an extension that tells WhatsApp what it is "
            "(e.g. menu.pdf, map.jpg) and no folders"
        )
    return None


@dataclass(frozen=True, slots=True)
class FileAttachment:
    """A file by URL with captions per language (possibly none). Construction validates
    and raises `AttachmentError` with one message naming what to fix."""

    url: str
    file_name: str
    captions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = url_problem(self.url) or file_name_problem(self.file_name)
        if problem is not None:
            raise AttachmentError(problem)
        captions = {code.strip().lower(): text for code, text in self.captions.items()}
        for code, text in captions.items():
            if not text.strip():
                raise AttachmentError(f"the {code} caption is empty; leave it out instead")
            if len(text) > MAX_CAPTION_CHARS:
                raise AttachmentError(
                    f"the {code} caption is {len(text)} characters; at most {MAX_CAPTION_CHARS}"
                )
        if captions:
            try:
                validate(Template(captions, next(iter(captions))))
            except TemplateError as exc:
                raise AttachmentError("caption: " + "; ".join(exc.problems)) from None
        object.__setattr__(self, "captions", captions)

    def caption_template(self, fallback_language: str) -> Template | None:
        """The captions as a template falling back to `fallback_language` when there is a
        caption in it (else to the first caption); None without captions."""
        if not self.captions:
            return None
        fallback = fallback_language if fallback_language in self.captions else None
        return Template(self.captions, fallback or next(iter(self.captions)))

    def to_dict(self) -> dict[str, object]:
        return {"url": self.url, "file_name": self.file_name, "captions": dict(self.captions)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> FileAttachment:
        url, name, captions = data.get("url"), data.get("file_name"), data.get("captions", {})
        if not isinstance(url, str) or not isinstance(name, str):
            raise AttachmentError(f"a stored file needs url and file_name strings, got {data!r}")
        if not isinstance(captions, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in captions.items()
        ):
            raise AttachmentError("stored captions must map language codes to strings")
        return cls(url, name, dict(captions))
