"""Password links on the checkout surface: /account/set-password?token=... (choose the password a link was emailed
for, then land signed in on /account) and the "email me a link" form under the account sign-in."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.auth.links import link_email, request_password_link, set_password_with_link
from backend.auth.service import begin_web_sign_in
from backend.errors import DomainError, NotFound, RateLimited
from backend.notifications.service import dev_mailbox_url
from primsell import routes
from primsell.state.session import client_ip
from primsell.state.sign_in import exchange_code_script, new_password_errors

LINK_SENT = "If an account exists for that address, we have emailed it a link. It works once, for an hour."


class CheckoutPasswordLinkState(rx.State):
    # /account/set-password
    loaded: bool = False
    link_valid: bool = False
    link_problem: str = ""
    email: str = ""
    field_errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False
    _token: str = ""
    # "Email me a link"
    request_errors: dict[str, str] = {}
    request_message: str = ""
    requesting: bool = False
    mailbox_url: str = ""

    @rx.event
    async def load_link(self):
        self.loaded, self.link_valid, self.link_problem, self.form_error, self.field_errors = False, False, "", "", {}
        self.saving = False
        self._token = str(self.router.url.query_parameters.get("token", ""))[:2000]
        try:
            self.email = await asyncio.to_thread(link_email, self._token) if self._token else ""
            self.link_valid = bool(self.email)
            if not self.link_valid:
                self.link_problem = "This page needs the link from your email."
        except NotFound as exc:
            self.link_problem = exc.message
        self.loaded = True

    @rx.event
    async def submit_password(self, form_data: dict):
        password = str(form_data.get("password", ""))
        confirm = str(form_data.get("password_confirm", ""))
        errors = new_password_errors(password, confirm, confirm_field="password_confirm")
        self.field_errors, self.form_error = errors, ""
        if errors or self.saving:
            return
        self.saving = True
        yield
        try:
            email = await asyncio.to_thread(set_password_with_link, self._token, password)
            code = await asyncio.to_thread(begin_web_sign_in, email, password, ip=client_ip(self))
        except NotFound as exc:
            self.link_valid, self.link_problem = False, exc.message
        except RateLimited as exc:
            self.form_error = f"Your password is set, but too many sign-ins: try again in {exc.retry_after_s} s."
        except DomainError as exc:
            self.form_error = exc.message
            self.field_errors = dict(exc.fields)
        else:
            yield exchange_code_script(code, routes.ACCOUNT, CheckoutPasswordLinkState.finish_sign_in)
            return
        self.saving = False

    @rx.event
    def finish_sign_in(self, result: str):
        if result != "ok":
            self.saving, self.link_valid = False, False
            self.link_problem = "Your password is set, but signing in did not complete: sign in with it now."

    @rx.event
    async def request_link(self, form_data: dict):
        email = str(form_data.get("link_email", "")).strip()
        self.request_errors, self.request_message = {}, ""
        if "@" not in email:
            self.request_errors = {"link_email": "Enter the email address of your orders."}
            return
        if self.requesting:
            return
        self.requesting = True
        yield
        try:
            await asyncio.to_thread(request_password_link, email, ip=client_ip(self))
            self.request_message = LINK_SENT
            self.mailbox_url = await asyncio.to_thread(dev_mailbox_url)
        except RateLimited as exc:
            self.request_errors = {"link_email": f"Too many requests. Try again in {exc.retry_after_s} seconds."}
        except DomainError as exc:
            self.request_errors = {"link_email": next(iter(exc.fields.values()), exc.message)}
        finally:
            self.requesting = False
