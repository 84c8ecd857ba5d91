"""Brand settings: name, logo and colours, with a live preview of the colours while typing."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.brands.service import get_brand, update_brand
from backend.errors import DomainError
from primsell.state.session import SessionState, current_actor_and_brand


class AdminBrandState(rx.State):
    loaded: bool = False
    name: str = ""
    logo_url: str = ""
    primary_color: str = ""
    accent_color: str = ""
    field_errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False

    @rx.event
    def set_name(self, value: str):
        self.name = value

    @rx.event
    def set_logo_url(self, value: str):
        self.logo_url = value

    @rx.event
    def set_primary_color(self, value: str):
        self.primary_color = value

    @rx.event
    def set_accent_color(self, value: str):
        self.accent_color = value

    @rx.event
    async def load_brand(self):
        self.loaded, self.field_errors, self.form_error = False, {}, ""
        actor, brand_id = await current_actor_and_brand(self)
        if actor is None:  # signed out (sent to sign in), or no brand chosen
            return SessionState.to_sign_in
        try:
            brand = await asyncio.to_thread(get_brand, actor, brand_id)
        except DomainError as exc:
            self.form_error = exc.message
            return None
        self.name, self.logo_url = brand.name, brand.logo_url
        self.primary_color, self.accent_color = brand.primary_color, brand.accent_color
        self.loaded = True
        return None

    @rx.event
    async def save_brand(self, form: dict):
        """The inputs are controlled, so the state already holds what the form shows."""
        actor, brand_id = await current_actor_and_brand(self)
        if actor is None:  # signed out (sent to sign in), or no brand chosen
            yield SessionState.to_sign_in
            return
        self.saving, self.field_errors, self.form_error = True, {}, ""
        yield
        data = {"name": self.name, "logo_url": self.logo_url,
                "primary_color": self.primary_color, "accent_color": self.accent_color}
        try:
            brand = await asyncio.to_thread(update_brand, actor, brand_id, data)
        except DomainError as exc:
            self.field_errors, self.form_error = dict(exc.fields), exc.message
            self.saving = False
            return
        self.saving = False
        self.name, self.primary_color, self.accent_color = brand.name, brand.primary_color, brand.accent_color
        session = await self.get_state(SessionState)  # the switcher shows the new name at once
        session.brand_name = brand.name
        session.brands = [b | {"name": brand.name} if b["id"] == str(brand.id) else b for b in session.brands]
        yield rx.toast.success("Brand settings saved.")
