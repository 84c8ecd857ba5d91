"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records what it accepts and can refuse on demand, so the email
tests run the standard library's smtplib client unchanged against it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "mailer", "smtp-password-for-tests"


@dataclass
class SmtpServer:
    url: str = ""
    received: list[Message] = field(default_factory=list)
    # Answer the next RCPT TO with this SMTP reply (e.g. "550 5.1.1 no such user") instead of accepting it.
    refuse_with: list[str] = field(default_factory=list)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, smtp: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.server.refuse_with:
            return self.server.refuse_with.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        self.server.received.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and data.login.decode() == USER and data.password.decode() == PASSWORD
    return AuthResult(success=ok)


def serve_smtp(port: int | None = None) -> Iterator[SmtpServer]:
    """The server on `port` (default: a free one)."""
    server = SmtpServer()
    if port is None:
        with socket.socket() as probe:  # aiosmtpd checks its server by connecting to the port it was given
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    controller = Controller(_Handler(server), hostname="127.0.0.1", port=port, authenticator=_authenticator,
                            auth_require_tls=False)
    controller.start()
    server.url = f"smtp://{USER}:{PASSWORD}@127.0.0.1:{port}"
    try:
        yield server
    finally:
        controller.stop()
