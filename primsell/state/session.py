"""Who is signed in: SessionState resolves the HttpOnly session cookie server-side into an Actor.

The Actor and the cookie stay in backend-only `_private` vars; the page sees display fields only.
"""

from __future__ import annotations

import asyncio
import json
from http.cookies import CookieError, SimpleCookie

import reflex as rx

from backend.auth.acl import Actor, Permission, Role
from backend.auth.service import WEB_SESSION_COOKIE, actor_for_web_session, end_web_session
from backend.brands.service import list_brands
from backend.operations.service import can_read_operations
from primsell import routes

# SessionState.status values.
UNKNOWN, ANONYMOUS, FORBIDDEN, SIGNED_IN = "unknown", "anonymous", "forbidden", "signed_in"

ROLE_LABELS = {
    Role.PLATFORM_ADMIN: "Platform admin",
    Role.BRAND_ADMIN: "Brand admin",
    Role.BRAND_STAFF: "Brand staff",
    Role.KYC_REVIEWER: "KYC reviewer",
    Role.CONSUMER: "Consumer",
}


def session_cookie(cookie_header: str) -> str | None:
    """The session cookie from a raw Cookie header (the websocket request's; page scripts never see it)."""
    if not cookie_header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(WEB_SESSION_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def client_connected(state: rx.State) -> bool:
    """Is the browser tab behind `state` still connected to this process?

    Background polling loops check it: Reflex cancels loops started by on_load when the tab goes away, but not
    those started on mount, and a plain full navigation or closed tab runs no unmount handler.
    """
    from reflex.utils.prerequisites import get_app

    namespace = get_app().app.event_namespace
    if namespace is None:
        return True
    return state.router.session.client_token in namespace.token_to_sid


def client_ip(state: rx.State) -> str:
    return state.router.session.client_ip or state.router.headers.raw_headers.get("asgi-scope-client", "") or "unknown"


class SessionState(rx.State):
    """The signed-in person for this browser tab, re-checked against the cookie on every page load."""

    _actor: Actor | None = None

    status: str = UNKNOWN
    surface: str = ""
    email: str = ""
    role_label: str = ""
    is_platform_admin: bool = False
    # Brands the admin may switch between: [{"id": "3", "name": "Aurora Coffee"}].
    brands: list[dict[str, str]] = []
    brand_id: int = 0
    brand_name: str = ""
    # What the actor may do in the current brand (the backend enforces these again).
    can_write_campaigns: bool = False
    can_delete_campaigns: bool = False
    can_update_brand: bool = False
    can_read_members: bool = False
    can_manage_members: bool = False
    can_read_operations: bool = False

    @rx.var
    def signed_in(self) -> bool:
        return self.status == SIGNED_IN

    @rx.var
    def has_brand(self) -> bool:
        return self.brand_id > 0

    def actor(self) -> Actor | None:
        return self._actor

    def allowed(self, surface: str) -> bool:
        return self.status == SIGNED_IN and self.surface == surface and self._actor is not None

    def _cookie(self) -> str | None:
        return session_cookie(self.router.headers.cookie)

    def _apply_brand(self) -> None:
        actor = self._actor
        names = {int(b["id"]): b["name"] for b in self.brands}
        if self.brand_id not in names:
            self.brand_id = next(iter(names), 0)
        self.brand_name = names.get(self.brand_id, "")
        brand = self.brand_id or None
        can = (lambda p: actor is not None and brand is not None and actor.can(p, brand))
        self.can_write_campaigns = can(Permission.CAMPAIGN_WRITE)
        self.can_delete_campaigns = can(Permission.CAMPAIGN_DELETE)
        self.can_update_brand = can(Permission.BRAND_UPDATE)
        self.can_read_members = can(Permission.MEMBER_READ)
        self.can_manage_members = can(Permission.MEMBER_MANAGE)
        self.can_read_operations = actor is not None and can_read_operations(actor)
        if actor is not None:
            self.role_label = ROLE_LABELS[actor.role_in(brand)]

    def _clear(self, status: str) -> None:
        self._actor = None
        self.status = status
        self.email = ""
        self.role_label = ""
        self.is_platform_admin = False
        self.brands = []
        self.brand_id = 0
        self.brand_name = ""
        self._apply_brand()

    @rx.event
    async def load_session(self, surface: str):
        """on_load of every signed-in page: resolve the cookie; send strangers to the surface's sign-in page."""
        self.surface = surface
        actor = await asyncio.to_thread(actor_for_web_session, self._cookie())
        if actor is None:
            self._clear(ANONYMOUS)
            # Production serves /admin as /admin/: keep `next` in the routes' own form.
            here = self.router.url.path.rstrip("/") or routes.SURFACE_HOME[surface]
            query = self.router.url.query
            return rx.redirect(routes.login_with_next(surface, here + (f"?{query}" if query else "")))
        allowed = actor.can_use_admin() if surface == "admin" else actor.can_use_kyc()
        if not allowed:
            self._clear(FORBIDDEN)
            self.email = actor.email
            return None
        self._actor = actor
        self.email = actor.email
        self.is_platform_admin = actor.is_platform_admin
        if surface == "admin":
            # The brand list is part of "who is signed in": the switcher and every admin page need it.
            brands = await asyncio.to_thread(list_brands, actor)
            self.brands = [{"id": str(b.id), "name": b.name} for b in brands]
        self._apply_brand()
        self.status = SIGNED_IN
        return None

    @rx.event
    def switch_brand(self, brand_id: str):
        if self._actor is None or not brand_id.isdigit():
            return None
        self.brand_id = int(brand_id)
        self._apply_brand()
        # A full reload re-runs the page's on_load for the new brand.
        return rx.call_script("window.location.reload()")

    @rx.event
    async def sign_out(self):
        """Revoke the session server-side, then let the API clear the HttpOnly cookie and go to sign-in."""
        surface = self.surface or "admin"
        await asyncio.to_thread(end_web_session, self._cookie())
        self._clear(ANONYMOUS)
        target = json.dumps(routes.SURFACE_LOGIN.get(surface, routes.ADMIN_LOGIN))
        return rx.call_script(
            f"fetch({json.dumps(routes.API_WEB_LOGOUT)}, {{method: 'POST', credentials: 'same-origin', "
            "headers: {'Content-Type': 'application/json'}, body: '{}'})"
            f".finally(() => window.location.assign({target}))"
        )
