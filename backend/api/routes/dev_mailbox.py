"""The development mailbox (`/api/dev/mailbox`): the email Primsell would have sent, when no SMTP server is
configured, with its links clickable. Answers 404 in production, and wherever an SMTP server is configured; elsewhere
only this machine (a loopback peer) or a signed-in platform admin may read it (backend/api/local_only.py)."""

from __future__ import annotations

import html
import re

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from backend.api.local_only import local_or_platform_admin
from backend.errors import NotFound
from backend.notifications.service import DEV_MAILBOX_PATH, dev_mailbox_active, mailbox

router = APIRouter(prefix="/api/dev", tags=["development"], include_in_schema=False,
                   dependencies=[Depends(local_or_platform_admin)])

_LINK = re.compile(r"(https?://[^\s<>\"]+)")
_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f4f5;margin:0;color:#18181b}
.banner{background:#1d4ed8;color:#fff;text-align:center;padding:10px;font-weight:700;letter-spacing:.05em}
main{max-width:760px;margin:24px auto;padding:0 12px} article{background:#fff;border-radius:10px;padding:16px 20px;
margin:12px 0;box-shadow:0 1px 4px #0002} h2{font-size:17px;margin:0 0 4px} .meta{font-size:12px;color:#52525b}
pre{white-space:pre-wrap;font-family:inherit;font-size:14px} .empty{color:#52525b;text-align:center;margin:48px 0}
"""


def _body(text: str) -> str:
    return _LINK.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', html.escape(text, quote=False))


@router.get(DEV_MAILBOX_PATH.removeprefix("/api/dev"), response_class=HTMLResponse)
async def dev_mailbox(to: str | None = None) -> HTMLResponse:
    if not dev_mailbox_active():
        raise NotFound("Not found.")
    entries = await run_in_threadpool(mailbox, limit=50, to=to)
    articles = "".join(
        f'<article data-testid="mail"><h2>{html.escape(e.subject)}</h2>'
        f'<div class="meta">to {html.escape(e.to_address)} · {e.created_at:%Y-%m-%d %H:%M:%S} UTC · {e.status}</div>'
        f"<pre>{_body(e.body_text)}</pre></article>" for e in entries)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Mailbox · Primsell development</title>"
            f"<style>{_STYLE}</style></head><body><div class='banner'>DEVELOPMENT MAILBOX: NOTHING WAS SENT</div>"
            f"<main>{articles or '<p class=empty>No email yet.</p>'}</main></body></html>")
    return HTMLResponse(page)
