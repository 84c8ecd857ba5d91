"""Who is signed in: SessionState resolves the HttpOnly session cookie server-side into an Actor.

Every state handler that reads or changes data asks `await current_actor(self)` for the actor as it
is NOW: one database read per event (session, user and roles by the cookie), so removing a member, changing a role,
resetting a password or signing out elsewhere takes effect on the next click of every open tab. When it answers
None the handler changes nothing and returns `SessionState.to_sign_in` (the page then looks signed out).

The Actor and the cookie stay in backend-only `_private` vars; the page sees display fields only.

Signing out forgets the whole tab (`forget_tab`): Reflex keys the state tree by a per-tab token that outlives the
sign-in, and the next page load's hydrate sends the whole tree to the browser, so anything a page had loaded (a KYC
case, buyers' emails) would otherwise reach the sign-in page of the next person at that computer. A tab that finds
its session gone (signed out in another tab, revoked, expired) or its surface closed to it forgets itself the same
way, on the event that finds out. And the other signed-in tabs of the browser do not wait for their next click: a
sign-out tells them (a BroadcastChannel, `sign_out_script`), and they reload into the sign-in page at once.
"""

from __future__ import annotations

import asyncio
import json
from http.cookies import CookieError, SimpleCookie

import reflex as rx

from backend.auth.acl import Actor, Permission, Role
from backend.auth.client_ip import client_ip as resolve_client_ip
from backend.auth.service import WEB_SESSION_COOKIE, end_web_session, web_session
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


# The browser's signed-in tabs hear of a sign-out in any one of them on this channel (same origin, this browser only).
SESSION_CHANNEL = "primsell-session"
SIGNED_OUT = "signed-out"
# Run in every signed-in tab (the on_load of signed-in pages): on a sign-out elsewhere, reload; the page load then
# finds no session, forgets the tab and goes to sign-in. One listener per page, however many loads ran.
FOLLOW_SIGN_OUTS_SCRIPT = (
    "if (!window.primsellSessionChannel && 'BroadcastChannel' in window) {"
    f" window.primsellSessionChannel = new BroadcastChannel({json.dumps(SESSION_CHANNEL)});"
    f" window.primsellSessionChannel.onmessage = (e) => {{ if (e.data === {json.dumps(SIGNED_OUT)})"
    " window.location.reload(); }; }"
)


def sign_out_script(target: str):  # type: ignore[no-untyped-def]
    """After the server ended the session: let the API clear the HttpOnly cookie, tell the browser's other tabs (they
    reload: `FOLLOW_SIGN_OUTS_SCRIPT`), then go to `target`. The message goes out on this page's own channel object
    where it has one, which does not hear its own messages: this tab goes to `target`, not through a reload."""
    announce = (f"try {{ (window.primsellSessionChannel || new BroadcastChannel({json.dumps(SESSION_CHANNEL)}))"
                f".postMessage({json.dumps(SIGNED_OUT)}); }} catch (e) {{}}")
    return rx.call_script(
        f"fetch({json.dumps(routes.API_WEB_LOGOUT)}, {{method: 'POST', credentials: 'same-origin', "
        "headers: {'Content-Type': 'application/json'}, body: '{}'})"
        f".finally(() => {{ {announce} window.location.assign({json.dumps(target)}); }})"
    )


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
    """The websocket's peer, or, behind TRUSTED_PROXIES, the client it forwards for (the same rule as the API's)."""
    headers = state.router.headers.raw_headers
    peer = headers.get("asgi-scope-client") or state.router.session.client_ip or None
    return resolve_client_ip(peer, headers.get("x-forwarded-for"))


def may_use(actor: Actor, surface: str) -> bool:
    """Which signed-in people a surface admits: staff on admin, reviewers on KYC, anyone on their account."""
    if surface == "admin":
        return actor.can_use_admin()
    if surface == "kyc":
        return actor.can_use_kyc()
    return surface == "account"


class SessionState(rx.State):
    """The signed-in person for this browser tab, re-read from the database on every event (`current_actor`)."""

    _actor: Actor | None = None
    # The web session this tab signed in to: its websocket keeps the cookie it connected with, which may have been
    # rotated since by another tab; that old value still speaks for this session on this connection only.
    _session_id: str = ""
    _rotate_due: bool = False  # the cookie is due for a new value (see rotate_cookie_script)
    # The brand last chosen in the switcher: it outlives a visit to a surface this person may not use ("no access"
    # forgets the tab's pages and brand list), so /admin opens on it again if it is still theirs. Sign-out forgets it.
    _chosen_brand: int = 0

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

    def _cookie(self) -> str | None:
        return session_cookie(self.router.headers.cookie)

    def _show(self, actor: Actor) -> None:
        """Display what the actor is now; brands they can no longer read leave the switcher at once."""
        self._actor, self._session_id = actor, actor.session_id or ""
        if self.email != actor.email:
            self.email = actor.email
        if self.is_platform_admin != actor.is_platform_admin:
            self.is_platform_admin = actor.is_platform_admin
        readable = [b for b in self.brands if actor.can(Permission.BRAND_READ, int(b["id"]))]
        if readable != self.brands:
            self.brands = readable
        self._apply_brand()
        if self.status != SIGNED_IN:
            self.status = SIGNED_IN

    def _apply_brand(self) -> None:
        actor = self._actor
        names = {int(b["id"]): b["name"] for b in self.brands}
        if self.brand_id not in names:
            self.brand_id = self._chosen_brand if self._chosen_brand in names else next(iter(names), 0)
        if self.brand_name != names.get(self.brand_id, ""):
            self.brand_name = names.get(self.brand_id, "")
        brand = self.brand_id or None

        def can(p: Permission) -> bool:
            return actor is not None and brand is not None and actor.can(p, brand)

        flags = {
            "can_write_campaigns": can(Permission.CAMPAIGN_WRITE),
            "can_delete_campaigns": can(Permission.CAMPAIGN_DELETE),
            "can_update_brand": can(Permission.BRAND_UPDATE),
            "can_read_members": can(Permission.MEMBER_READ),
            "can_manage_members": can(Permission.MEMBER_MANAGE),
            "can_read_operations": actor is not None and can_read_operations(actor),
            "role_label": ROLE_LABELS[actor.role_in(brand)] if actor is not None else "",
        }
        for name, value in flags.items():
            if getattr(self, name) != value:  # an unchanged var is not sent to the page again
                setattr(self, name, value)

    def _clear(self, status: str) -> None:
        self._actor, self._session_id = None, ""
        self.status = status
        self.email = ""
        self.is_platform_admin = False
        self.brands = []
        self.brand_id = 0
        self.brand_name = ""
        self._apply_brand()

    def _sign_in_redirect(self):  # type: ignore[no-untyped-def]
        surface = self.surface if self.surface in routes.SURFACE_LOGIN else "admin"
        # Production serves /admin as /admin/: keep `next` in the routes' own form.
        here = self.router.url.path.rstrip("/") or routes.SURFACE_HOME[surface]
        query = self.router.url.query
        return rx.redirect(routes.login_with_next(surface, here + (f"?{query}" if query else "")))

    @rx.event
    def to_sign_in(self):
        """What a handler returns when `current_actor` answered None: signed-out tabs go to the sign-in page (with
        a way back here); a tab whose person may no longer use this surface shows "no access" instead."""
        if self.status == ANONYMOUS:
            return self._sign_in_redirect()
        return None

    @rx.event
    async def load_session(self, surface: str):
        """on_load of every signed-in page: resolve the cookie; send strangers to the surface's sign-in page."""
        self.surface = surface
        actor = await current_actor(self, surface)
        if actor is None:
            return self._sign_in_redirect() if self.status == ANONYMOUS else None
        if surface == "admin":
            # The brand list is part of "who is signed in": the switcher and every admin page need it.
            brands = await asyncio.to_thread(list_brands, actor)
            self.brands = [{"id": str(b.id), "name": b.name} for b in brands]
            self._apply_brand()
        follow = rx.call_script(FOLLOW_SIGN_OUTS_SCRIPT)
        return [follow, rotate_cookie_script()] if self._rotate_due else follow

    @rx.event
    async def switch_brand(self, brand_id: str):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not brand_id.isdigit():
            return None
        self.brand_id = int(brand_id)
        self._apply_brand()
        self._chosen_brand = self.brand_id  # as _apply_brand kept it: a brand not theirs is never remembered
        # A full reload re-runs the page's on_load for the new brand.
        return rx.call_script("window.location.reload()")

    @rx.event
    async def sign_out(self):
        """Revoke the session server-side, forget everything the tab showed, then let the API clear the HttpOnly
        cookie and go to sign-in."""
        surface = self.surface or "admin"
        await asyncio.to_thread(end_web_session, self._cookie())
        await forget_tab(self)
        self._clear(ANONYMOUS)
        return sign_out_script(routes.SURFACE_LOGIN.get(surface, routes.ADMIN_LOGIN))


def _app_states(cls: type[rx.State]) -> list[type[rx.State]]:
    """The app's states under `cls`, recursively; Reflex's own (hydration, on_load and shared-state bookkeeping)
    hold nobody's data and are left alone."""
    found: list[type[rx.State]] = []
    for sub in cls.get_substates():
        if not sub.__module__.startswith("reflex"):
            found += [sub, *_app_states(sub)]
    return found


async def forget_tab(state: rx.State) -> None:
    """Put every state of this tab's tree back to its defaults, backend-only vars included (sign-out)."""
    root: rx.State = state
    while root.parent_state is not None:
        root = root.parent_state
    classes = _app_states(type(root))
    loaded = []
    for cls in classes:  # with REDIS_URL an event loads only the states it needs: load the others too
        loaded.append(await state.get_state(cls))
    # A polling loop still running compares its generation with _poll_generation (primsell.state.polling): it must
    # see a newer one and stop, not the default again.
    generations = {id(s): s._poll_generation for s in loaded if "_poll_generation" in type(s).__fields__}
    for s in loaded:
        if s.get_parent_state() is type(root):
            s.reset()  # and its substates
    for s in loaded:
        if id(s) in generations:
            s._poll_generation = generations[id(s)] + 1


async def current_actor(state: rx.State, surface: str | None = None) -> Actor | None:
    """THE way a state handler learns who is asking: the actor as it is now, read from the database on every call
    (never kept between events), or None when this tab is signed out (cookie gone, session revoked, expired or idle,
    user deactivated) or may no longer use `surface` (default: the surface of the page that was loaded). None also
    updates the page to look signed out (or "no access"); the handler then changes nothing and returns
    `SessionState.to_sign_in`."""
    session = state if isinstance(state, SessionState) else await state.get_state(SessionState)
    surface = surface or session.surface
    found = await asyncio.to_thread(web_session, session._cookie(), bound_session_id=session._session_id or None)
    if found is None:
        await _forget_if_was_signed_in(session, surface)
        session._clear(ANONYMOUS)
        return None
    actor, session._rotate_due = found.actor, found.rotate_due
    if not surface or not may_use(actor, surface):
        chosen = session._chosen_brand
        await _forget_if_was_signed_in(session, surface)
        session._clear(FORBIDDEN)
        session.email = actor.email
        session._chosen_brand = chosen  # an id only: whether it is still theirs is asked when it is used
        return None
    session._show(actor)
    return actor


async def _forget_if_was_signed_in(session: SessionState, surface: str) -> None:
    """A tab that was showing someone's pages (its session ended, or it may no longer use this surface) forgets all
    it loaded, as at sign-out: its next page load would otherwise send it back to the browser (module docstring).
    A tab that never signed in has nothing to forget, and its page loads (a stranger's) stay cheap."""
    if session._session_id:
        await forget_tab(session)
        session.surface = surface  # the page still knows where it is (its sign-in page, or "no access" to what)


async def current_brand(state: rx.State) -> int:
    """The brand chosen in the admin's brand switcher (0: none). Ask after `current_actor`, which drops the brands the
    actor may no longer read from the switcher; the backend checks the actor's permission on it again."""
    session = state if isinstance(state, SessionState) else await state.get_state(SessionState)
    return session.brand_id


async def current_actor_and_brand(state: rx.State) -> tuple[Actor | None, int]:
    """`current_actor` and `current_brand` for pages that need both; (None, 0) when either is missing."""
    actor = await current_actor(state)
    brand_id = await current_brand(state)
    return (actor, brand_id) if actor is not None and brand_id else (None, 0)


def rotate_cookie_script():  # type: ignore[no-untyped-def]
    """Have the browser fetch a new value of its (HttpOnly) session cookie: only an HTTP response can set it."""
    return rx.call_script(
        f"fetch({json.dumps(routes.API_WEB_ROTATE)}, {{method: 'POST', credentials: 'same-origin', "
        "headers: {'Content-Type': 'application/json'}, body: '{}'}).catch(() => null)"
    )
