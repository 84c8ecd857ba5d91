"""Helpers of the invitation tests: the links the development mailbox holds."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from backend.notifications.service import mailbox

LINK_RE = re.compile(r"https?://\S+/admin/accept-invite\?token=\S+")


def invitation_links(email: str) -> list[str]:
    """Every invitation link mailed to `email`, newest first (read from the development mailbox)."""
    return [m for mail in mailbox(to=email) if "accept-invite" in mail.body_text
            for m in LINK_RE.findall(mail.body_text)]


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def latest_token(email: str) -> str:
    links = invitation_links(email)
    assert links, f"no invitation mailed to {email}"
    return token_of(links[0])
