"""Accepting an invitation from the link in the invitee's email: an account without a password chooses one; an
account with a password signs in with it (the link never sets it). Either way the invitee lands signed in."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.auth.acl import Role
from backend.brands.service import accept_invitation, invitation_for_link
from backend.errors import DomainError, NotAuthenticated, NotFound, RateLimited
from primsell import routes
from primsell.state.session import ROLE_LABELS, client_ip
from primsell.state.sign_in import exchange_code_script, new_password_errors, retry_message


class AdminAcceptInviteState(rx.State):
    loaded: bool = False
    valid: bool = False
    problem: str = ""
    email: str = ""
    brand_name: str = ""
    role_label: str = ""
    needs_password: bool = False
    field_errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False
    _token: str = ""
    _next: str = routes.ADMIN  # where the new member lands: their surface

    @rx.event
    async def check_token(self):
        """on_load: what the link is for (or why it cannot be used any more)."""
        self.loaded, self.valid, self.problem, self.field_errors, self.form_error = False, False, "", {}, ""
        self.saving = False
        self._token = str(self.router.url.query_parameters.get("token", ""))[:2000]
        if not self._token:
            self.problem = "Open the full link from your invitation email."
        else:
            try:
                view = await asyncio.to_thread(invitation_for_link, self._token)
            except NotFound as exc:
                self.problem = exc.message
            else:
                self.valid, self.email, self.brand_name = True, view.email, view.brand_name
                self.role_label, self.needs_password = ROLE_LABELS[view.role], view.needs_password
                self._next = routes.KYC if view.role is Role.KYC_REVIEWER else routes.ADMIN
        self.loaded = True

    @rx.event
    async def accept(self, form: dict):
        if self.saving or not self.valid:
            return
        password = str(form.get("password", ""))
        if self.needs_password:
            errors = new_password_errors(password, str(form.get("confirm", "")), confirm_field="confirm")
        else:
            errors = {} if password else {"password": "Enter your password."}
        self.field_errors, self.form_error = errors, ""
        if errors:
            return
        self.saving = True
        yield
        try:
            accepted = await asyncio.to_thread(accept_invitation, self._token, password,
                                               display_name=str(form.get("display_name", "")), ip=client_ip(self))
        except NotFound as exc:
            self.valid, self.problem = False, exc.message
        except RateLimited as exc:
            self.form_error = retry_message(exc)
        except NotAuthenticated as exc:
            self.form_error = exc.message
        except DomainError as exc:
            self.form_error = exc.message
            self.field_errors = {"password" if k != "display_name" else k: v for k, v in exc.fields.items()}
        else:
            yield rx.toast.success(f"Welcome to {self.brand_name}!")
            yield exchange_code_script(accepted.sign_in_code, self._next, AdminAcceptInviteState.finish_sign_in)
            return
        self.saving = False

    @rx.event
    def finish_sign_in(self, result: str):
        if result != "ok":
            self.saving = False
            self.valid, self.problem = False, "You joined, but signing in did not complete: sign in now."
