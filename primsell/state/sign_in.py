"""The sign-in form shared by /admin/login and /kyc/login: password check server-side, cookie set by the API.

The single-use code goes to the page only to be exchanged at once; the session cookie it buys is HttpOnly.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import reflex as rx
from reflex.event import EventSpec

from backend.auth.service import begin_web_sign_in
from backend.errors import DomainError, NotAuthenticated, RateLimited
from primsell import routes
from primsell.state.session import client_ip


def new_password_errors(password: str, confirm: str, *, confirm_field: str) -> dict[str, str]:
    """The checks a "choose a password" form makes before asking the server (which applies the password policy):
    one is given, and the confirmation repeats it. Errors by field name."""
    if not password:
        return {"password": "Choose a password."}
    if confirm != password:
        return {confirm_field: "The passwords do not match."}
    return {}


def retry_message(exc: RateLimited) -> str:
    """What a throttled sign-in form says: when the next attempt may be made."""
    return f"Too many failed sign-ins. Try again in {exc.retry_after_s} s."


def exchange_code_script(code: str, next_path: str, callback: Any) -> EventSpec:
    """The page exchanges a sign-in code for the HttpOnly session cookie, then navigates fully to `next_path` so the
    websocket reconnects carrying the new cookie. `callback` receives "ok" or "failed"."""
    return rx.call_script(
        "(async () => { try { const r = await fetch("
        f"{json.dumps(routes.API_WEB_SESSION)}, {{method: 'POST', credentials: 'same-origin', "
        "headers: {'Content-Type': 'application/json'}, "
        f"body: JSON.stringify({{code: {json.dumps(code)}}})}}); "
        f"if (r.ok) {{ window.location.assign({json.dumps(next_path)}); return 'ok'; }} "
        "return 'failed'; } catch (e) { return 'failed'; } })()",
        callback=callback,
    )


class AuthSignInState(rx.State):
    """One sign-in form; `surface` says where it goes afterwards."""

    field_errors: dict[str, str] = {}
    form_error: str = ""
    signing_in: bool = False

    @rx.event
    def reset_form(self):
        self.field_errors = {}
        self.form_error = ""
        self.signing_in = False

    @rx.event
    async def submit_sign_in(self, form_data: dict, surface: str):
        email = str(form_data.get("email", "")).strip()
        password = str(form_data.get("password", ""))
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = "Enter your email address."
        elif "@" not in email:
            errors["email"] = "Enter a valid email address."
        if not password:
            errors["password"] = "Enter your password."
        self.field_errors = errors
        self.form_error = ""
        if errors:
            return
        self.signing_in = True
        yield
        try:
            code = await asyncio.to_thread(begin_web_sign_in, email, password, ip=client_ip(self))
        except RateLimited as exc:
            self.form_error = retry_message(exc)
        except NotAuthenticated as exc:
            self.form_error = exc.message
        except DomainError as exc:
            self.form_error = exc.message
            self.field_errors = dict(exc.fields)
        else:
            next_path = routes.safe_next(surface, self.router.url.query_parameters.get("next"))
            yield exchange_code_script(code, next_path, AuthSignInState.finish_sign_in)
            return
        self.signing_in = False

    @rx.event
    def finish_sign_in(self, result: str):
        if result != "ok":
            self.signing_in = False
            self.form_error = "Signing in did not complete. Please try again."
