"""Sending one e-mail over SMTP (aiosmtplib): STARTTLS or implicit TLS with certificate
checks, a login from credentials (never the settings file), explicit timeouts.

Raises MailError naming the server and the error class only (an SMTP server's reply may
quote the address or the login)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib

from hotelbot.errors import HotelbotError
from hotelbot.settings import EmailSettings, credential


class MailError(HotelbotError):
    """The mail was not accepted by the SMTP server (it may be retried)."""


@dataclass(frozen=True, slots=True)
class SmtpLogin:
    username: str
    password: str = field(repr=False)


def smtp_login(environ: Mapping[str, str]) -> SmtpLogin | None:
    """The `smtp_username`/`smtp_password` credentials, or None when either is missing."""
    username = credential("smtp_username", environ)
    password = credential("smtp_password", environ)
    if not username or not password:
        return None
    return SmtpLogin(username, password)


class Mailer:
    """`await send(to, subject, body)`: one plain-text mail. Not idempotent (a retry after a
    timeout may deliver twice: for operator news a duplicate beats silence)."""

    def __init__(self, settings: EmailSettings, login: SmtpLogin | None) -> None:
        self._settings = settings
        self._login = login

    async def send(self, to: Sequence[str], subject: str, body: str) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"] = s.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=s.sender.rpartition("@")[2] or None)
        message.set_content(body)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.host,
                port=s.port,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                username=None if self._login is None else self._login.username,
                password=None if self._login is None else self._login.password,
                timeout=s.timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise MailError(f"SMTP {s.host}:{s.port}: {type(exc).__name__}") from None
