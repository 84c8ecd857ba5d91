"""Accepting an invitation: the invitee sets a password, then signs in."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.brands.service import accept_invitation
from backend.errors import DomainError
from primsell import routes
from primsell.state.sign_in import new_password_errors


class AdminAcceptInviteState(rx.State):
    field_errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False
    has_token: bool = False

    @rx.event
    def check_token(self):
        self.field_errors, self.form_error, self.saving = {}, "", False
        self.has_token = bool(self.router.url.query_parameters.get("token"))

    @rx.event
    async def accept(self, form: dict):
        token = self.router.url.query_parameters.get("token", "")
        password = str(form.get("password", ""))
        confirm = str(form.get("confirm", ""))
        errors = new_password_errors(password, confirm, confirm_field="confirm")
        self.field_errors, self.form_error = errors, ""
        if errors or not token:
            return
        self.saving = True
        yield
        try:
            email = await asyncio.to_thread(accept_invitation, token, password, str(form.get("display_name", "")))
        except DomainError as exc:
            fields = dict(exc.fields)
            self.field_errors = {"password" if k != "display_name" else k: v for k, v in fields.items()}
            self.form_error = exc.message
            self.saving = False
            return
        self.saving = False
        yield rx.toast.success(f"Welcome! Sign in as {email} with your new password.")
        yield rx.redirect(routes.ADMIN_LOGIN)
