"""Where email goes: an SMTP server (SMTP_URL, through the standard library's smtplib), or nowhere in development
(the message stays in the local mailbox). The sender only sees `Mailer.send` and `MailError.retryable`."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import unquote, urlsplit

from backend.settings import get_settings


class MailError(Exception):
    """Sending failed. `retryable`: a later attempt may work (server down, 4xx); else the address is refused.
    `unreachable`: the server could not be reached at all (nothing was asked of it): such attempts do not count
    against EMAIL_MAX_ATTEMPTS."""

    def __init__(self, message: str, *, retryable: bool, unreachable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.unreachable = unreachable


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    """smtp://user:password@host:587 (STARTTLS when the server offers it) or smtps://user:password@host:465."""

    def __init__(self, url: str, *, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username or "")
        self._password = unquote(parts.password or "")
        self.timeout_s = timeout_s

    def __repr__(self) -> str:  # never the password
        return f"SmtpMailer({'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port})"

    def send(self, message: EmailMessage) -> None:
        try:
            if self.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                                        context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            with client:
                client.ehlo()
                if not self.implicit_tls and client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                if self.username:
                    client.login(self.username, self._password)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise MailError(f"the server refused the address ({codes[0] if codes else '?'})",
                            retryable=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise MailError(f"the SMTP server refused our credentials ({exc.smtp_code})", retryable=True) from None
        except smtplib.SMTPResponseException as exc:
            raise MailError(f"the SMTP server answered {exc.smtp_code}", retryable=exc.smtp_code < 500) from None
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise MailError(f"the SMTP server is unreachable ({type(exc).__name__})", retryable=True,
                            unreachable=True) from None


def get_mailer() -> Mailer | None:
    """The configured SMTP server, or None: keep messages in the local mailbox (development and tests)."""
    if _override is not None:
        return _override
    settings = get_settings()
    url = settings.smtp_url.get_secret_value() if settings.smtp_url is not None else ""
    return SmtpMailer(url, timeout_s=settings.smtp_timeout_s) if url else None


_override: Mailer | None = None


def set_mailer(mailer: Mailer | None) -> None:
    """Tests: send through `mailer` (None restores the configured one)."""
    global _override
    _override = mailer
