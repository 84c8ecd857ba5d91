"""Development-only pages (the mailbox, the sandbox pay page) answer only this machine or a platform admin.

"This machine" is the socket peer of the connection (request.client.host), never X-Forwarded-For: a header any
client can write. A proxy on this machine in front of a development server makes every peer loopback, so don't.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from backend.auth.service import WEB_SESSION_COOKIE, actor_for_web_session
from backend.errors import Forbidden
from backend.exposure import is_loopback
from backend.settings import get_settings


async def local_or_platform_admin(request: Request) -> None:
    """Outside production: refuse unless the peer is loopback or the web session is a platform admin's."""
    if get_settings().is_production:
        return  # production has no mailbox; a staging sandbox is public and guarded by its pay token
    if is_loopback(request.client.host if request.client else None):
        return
    cookie = request.cookies.get(WEB_SESSION_COOKIE)
    actor = await run_in_threadpool(actor_for_web_session, cookie) if cookie else None
    if actor is not None and actor.is_platform_admin:
        return
    raise Forbidden("This development page answers only on the machine running Primsell (127.0.0.1), or to a "
                    "signed-in platform admin.")
