"""Reflex states driven without a browser: a tab is the root State with every substate, its router data carrying
the session cookie (as the websocket's request headers do), and a handler is called as Reflex would call it.

Each handler runs in a thread of its own with its own event loop (and a copy of the main thread's context variables):
the browser tests' (session-wide) Playwright keeps an event loop running in the main thread, where asyncio.run()
refuses to start another."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import reflex as rx
from reflex.istate.data import RouterData
from reflex.state import State
from sqlmodel import select

import primsell.primsell  # noqa: F401  (registers every page and state, as the app does)
from backend.auth.models import User
from backend.auth.service import WEB_SESSION_COOKIE, begin_web_sign_in, complete_web_sign_in, new_login_grant
from backend.db import session_scope
from primsell.state.session import SessionState
from tests.factories import PASSWORD

T = TypeVar("T", bound=rx.State)


def web_cookie(email: str, password: str | None = PASSWORD) -> str:
    """A real web session: the cookie value the browser would hold after signing in. With `password=None` the
    password check is skipped (the sign-in code is issued directly), for the many sign-ins of the ACL matrix."""
    if password is not None:
        return complete_web_sign_in(begin_web_sign_in(email, password, ip="198.51.100.10"))[0]
    with session_scope() as session:
        code = new_login_grant(session, session.exec(select(User).where(User.email == email)).one())
    return complete_web_sign_in(code)[0]


class Tab:
    """One browser tab's state tree."""

    def __init__(self, cookie: str | None = None, path: str = "/admin", *, ip: str = "198.51.100.10",
                 forwarded_for: str | None = None) -> None:
        self.root = State(_reflex_internal_init=True)  # type: ignore[call-arg]
        self.cookie, self.ip, self.forwarded_for = cookie, ip, forwarded_for
        self.navigate(path)

    def navigate(self, path: str) -> None:
        """What a page load or client-side navigation puts in the router data (the websocket's headers stay)."""
        headers = {"asgi-scope-client": self.ip, "origin": "http://localhost:3000", "host": "localhost:3000"}
        if self.cookie:
            headers["cookie"] = f"{WEB_SESSION_COOKIE}={self.cookie}"
        if self.forwarded_for:
            headers["x-forwarded-for"] = self.forwarded_for
        path_only, _, query = path.partition("?")
        router = RouterData.from_router_data({
            "headers": headers, "pathname": path_only, "asPath": path, "query": query, "ip": self.ip,
            "token": "tab-token", "sid": "tab-sid",
        })
        for state in _tree(self.root):
            state.router = router

    def state(self, cls: type[T]) -> T:
        return self.root.get_substate(cls._get_substate_path())  # type: ignore[return-value]

    def everything_held(self) -> str:
        """What hydrate would send (the root's dict; its computed vars derive from these base vars, and the harness's
        router data cannot compute the dynamic route ones) and what stays server-side (backend vars) of every state."""
        return repr(self.root.dict(include_computed=False)) + "".join(repr(vars(state)) for state in _tree(self.root))

    @property
    def session(self) -> SessionState:
        return self.state(SessionState)

    def run(self, handler: Any, *args: Any) -> list[Any]:
        """Call an event handler (`AdminMembersState.invite`) on this tab; what it returned or yielded, flattened."""
        cls = _owner_of(handler)
        state = self.state(cls)

        async def call() -> list[Any]:
            result = handler.fn(state, *args)
            out: list[Any] = []
            if inspect.isasyncgen(result):
                async for item in result:
                    out.append(item)
            elif inspect.isawaitable(result):
                out.append(await result)
            else:
                out.append(result)
            flat: list[Any] = []
            for item in out:
                flat.extend(item if isinstance(item, list) else [item])
            return [item for item in flat if item is not None]

        # The thread runs in a copy of this context: the app's event processing has Reflex's registration context
        # (which states exist) too.
        context = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(context.run, asyncio.run, call()).result()

    def load_admin_page(self, path: str = "/admin") -> list[Any]:
        """What every signed-in admin page does first (its on_load): resolve the session."""
        self.navigate(path)
        return self.run(SessionState.load_session, "admin")


def _tree(state: rx.State) -> list[rx.State]:
    found = [state]
    for sub in state.substates.values():
        found.extend(_tree(sub))
    return found


def _owner_of(handler: Any) -> type[rx.State]:
    """The state class an EventHandler belongs to."""
    name = handler.state_full_name if hasattr(handler, "state_full_name") else handler.state.get_full_name()
    for cls in all_states():
        if cls.get_full_name() == name:
            return cls
    raise LookupError(f"no state owns {handler}")


def all_states() -> list[type[rx.State]]:
    """Every state class of the app (the root's substates, recursively)."""
    found: list[type[rx.State]] = []

    def walk(cls: type[rx.State]) -> None:
        for sub in cls.get_substates():
            found.append(sub)
            walk(sub)

    walk(State)
    return found


def redirects_to_sign_in(outputs: list[Any]) -> bool:
    """Did the handler send the tab to a sign-in page (SessionState.to_sign_in, or a redirect to a login route)?"""
    text = " ".join(repr(o) for o in outputs)
    return "to_sign_in" in text or "/login" in text


def scripts(outputs: list[Any]) -> list[str]:
    """The JavaScript of the `rx.call_script` events among a handler's outputs, as the browser would run it."""
    found = []
    for out in outputs:
        for name, value in getattr(out, "args", ()):
            if str(name) == "javascript_code":
                found.append(getattr(value, "_var_value", str(value)))
    return found
