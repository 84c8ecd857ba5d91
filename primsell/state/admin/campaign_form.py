"""Create and edit a campaign: form text -> typed values (money via parse_amount), backend errors -> inline errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import reflex as rx

from backend.campaigns.models import Campaign, CampaignStatus
from backend.campaigns.service import (
    STATUS_CHANGES,
    change_campaign_status,
    create_campaign,
    delete_campaign,
    get_campaign,
    update_campaign,
)
from backend.errors import DomainError, NotFound
from backend.money import CURRENCY_EXPONENTS, SUPPORTED_CURRENCIES, parse_amount, to_decimal
from primsell import routes
from primsell.format import datetime_local
from primsell.state.session import SessionState, current_actor, current_brand

TEXT_FIELDS = ("slug", "name", "description", "image_url", "royalty_receiver", "primary_color", "accent_color",
               "logo_url")
# Backend field names that the form shows under another input.
FORM_NAMES = {"price_minor": "price", "royalty_bps": "royalty_percent", "kyc_threshold_minor": "kyc_threshold"}
FORM_FIELDS = (*TEXT_FIELDS, "price", "currency", "supply_cap", "per_wallet_cap", "sale_starts_at", "sale_ends_at",
               "royalty_percent", "kyc_requirement", "kyc_threshold")
# What each status action is called on the page, and the status it leads to.
STATUS_ACTIONS = {"publish": CampaignStatus.PUBLISHED, "pause": CampaignStatus.PAUSED,
                  "resume": CampaignStatus.PUBLISHED, "archive": CampaignStatus.ARCHIVED}

EMPTY_VALUES = {name: "" for name in FORM_FIELDS} | {"currency": "USD", "per_wallet_cap": "0", "royalty_percent": "0",
                                                    "kyc_requirement": "none"}


def _parse_int(text: str, errors: dict[str, str], name: str, *, required: bool) -> int | None:
    text = text.strip().replace(",", "")
    if not text:
        if required:
            errors[name] = "Enter a whole number."
        return None if required else 0
    if not text.isdigit():
        errors[name] = "Enter a whole number (0 or more)."
        return None
    return int(text)


def _parse_datetime(text: str, errors: dict[str, str], name: str) -> datetime | None:
    """datetime-local inputs carry no zone: the form labels them UTC, so they are read as UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    except ValueError:
        errors[name] = "Enter a date and time."
        return None


def _percent_to_bps(text: str, errors: dict[str, str]) -> int | None:
    text = text.strip() or "0"
    try:
        bps = Decimal(text) * 100
    except InvalidOperation:
        errors["royalty_percent"] = "Enter a percentage such as 5 or 2.5."
        return None
    if not bps.is_finite() or bps != bps.to_integral_value():
        errors["royalty_percent"] = "Use at most two decimal places."
        return None
    return int(bps)


def form_to_campaign(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Turn the submitted text into CampaignCreate's fields; errors are keyed by form input name."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
    currency = str(form.get("currency", "USD")).strip().upper()
    data["currency"] = currency
    price_text = str(form.get("price", "")).strip()
    if not price_text:
        errors["price"] = "Enter a price (0 for free)."
    elif currency in CURRENCY_EXPONENTS:
        try:
            data["price_minor"] = parse_amount(price_text, currency)
        except ValueError as exc:
            errors["price"] = f"Price {exc}."
    else:
        errors["currency"] = "Choose a currency."
    for name, required in (("supply_cap", True), ("per_wallet_cap", False)):
        value = _parse_int(str(form.get(name, "")), errors, name, required=required)
        if value is not None:
            data[name] = value
    for name in ("sale_starts_at", "sale_ends_at"):
        data[name] = _parse_datetime(str(form.get(name, "")), errors, name)
    bps = _percent_to_bps(str(form.get("royalty_percent", "")), errors)
    if bps is not None:
        data["royalty_bps"] = bps
    data["kyc_requirement"] = str(form.get("kyc_requirement", "none")).strip() or "none"
    threshold = str(form.get("kyc_threshold", "")).strip()
    data["kyc_threshold_minor"] = 0
    if data["kyc_requirement"] == "above_amount" and currency in CURRENCY_EXPONENTS:
        try:
            data["kyc_threshold_minor"] = parse_amount(threshold or "0", currency)
        except ValueError as exc:
            errors["kyc_threshold"] = f"Amount {exc}."
    return data, errors


def backend_errors(exc: DomainError) -> dict[str, str]:
    """Backend field errors under the form's input names; whole-model errors go to the field they start with."""
    errors: dict[str, str] = {}
    for key, message in exc.fields.items():
        name = FORM_NAMES.get(key, key)
        if name == "body":
            first = message.split(" ", 1)[0]
            name = FORM_NAMES.get(first, first)
            message = message.replace("royalty_bps", "royalty").replace("_", " ")
        errors.setdefault(name if name in FORM_FIELDS else "form", message)
    return errors


def campaign_values(c: Campaign) -> dict[str, str]:
    exponent = CURRENCY_EXPONENTS.get(c.currency, 2)
    values = {name: str(getattr(c, name) or "") for name in TEXT_FIELDS}
    values |= {
        "price": f"{to_decimal(c.price_minor, c.currency):.{exponent}f}",
        "currency": c.currency,
        "supply_cap": str(c.supply_cap),
        "per_wallet_cap": str(c.per_wallet_cap),
        "sale_starts_at": datetime_local(c.sale_starts_at),
        "sale_ends_at": datetime_local(c.sale_ends_at),
        "royalty_percent": f"{(Decimal(c.royalty_bps) / 100).normalize():f}",
        "kyc_requirement": c.kyc_requirement or "none",
        "kyc_threshold": f"{to_decimal(c.kyc_threshold_minor, c.currency):.{exponent}f}" if c.kyc_threshold_minor
        else "",
    }
    return values


class AdminCampaignFormState(rx.State):
    """/admin/campaigns/new and /admin/campaigns/[campaign]."""

    editing_id: int = 0
    values: dict[str, str] = dict(EMPTY_VALUES)
    field_errors: dict[str, str] = {}
    form_error: str = ""
    saving: bool = False
    loaded: bool = False
    not_found: bool = False
    # Bumped whenever `values` is reloaded so the uncontrolled inputs remount with the new defaults.
    form_key: int = 0
    status: str = ""
    phase: str = ""
    public_url: str = ""
    sold_count: int = 0
    status_actions: list[str] = []

    def _show(self, campaign: Campaign) -> None:
        self.editing_id = campaign.id or 0
        self.values = campaign_values(campaign)
        self.status = campaign.status.value
        self.phase = campaign.sale_phase().value
        self.public_url = routes.campaign_page(campaign.slug)
        self.sold_count = campaign.sold_count
        allowed = STATUS_CHANGES[campaign.status]
        self.status_actions = [
            name
            for name, target in STATUS_ACTIONS.items()
            if target in allowed
            and not (name == "publish" and campaign.status is CampaignStatus.PAUSED)
            and not (name == "resume" and campaign.status is not CampaignStatus.PAUSED)
        ]
        self.form_key += 1

    @rx.event
    def start_new_campaign(self):
        self.editing_id = 0
        self.values = dict(EMPTY_VALUES)
        self.field_errors, self.form_error = {}, ""
        self.status = self.phase = self.public_url = ""
        self.status_actions = []
        self.saving, self.not_found, self.loaded = False, False, True
        self.form_key += 1

    @rx.event
    async def load_campaign(self):
        self.loaded, self.not_found = False, False
        self.field_errors, self.form_error = {}, ""
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        raw = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        if not raw.isdigit():
            self.not_found, self.loaded = True, True
            return None
        try:
            campaign = await asyncio.to_thread(get_campaign, actor, int(raw))
        except NotFound:
            self.not_found = True
        else:
            self._show(campaign)
        self.loaded = True
        return None

    @rx.event
    async def submit_campaign(self, form: dict):
        data, errors = form_to_campaign(form)
        self.values = {name: str(form.get(name, "")) for name in FORM_FIELDS}
        self.field_errors, self.form_error = errors, ""
        if errors:
            self.form_error = "Please fix the highlighted fields."
            return
        actor = await current_actor(self)
        if actor is None:
            self.form_error = "Your session has ended. Sign in again."
            yield SessionState.to_sign_in
            return
        brand_id = await current_brand(self)
        if not brand_id:
            self.form_error = "Choose a brand first."
            return
        self.saving = True
        yield
        try:
            if self.editing_id:
                campaign = await asyncio.to_thread(update_campaign, actor, self.editing_id, data)
            else:
                campaign = await asyncio.to_thread(create_campaign, actor, brand_id, data)
        except DomainError as exc:
            self.field_errors = backend_errors(exc)
            self.form_error = self.field_errors.pop("form", exc.message)
            self.saving = False
            return
        self.saving = False
        if self.editing_id:
            self._show(campaign)
            yield rx.toast.success("Campaign saved.")
        else:
            yield rx.toast.success(f"Campaign “{campaign.name}” created as a draft.")
            yield rx.redirect(routes.admin_campaign(campaign.id))  # type: ignore[arg-type]

    @rx.event
    async def change_status(self, action: str):
        target = STATUS_ACTIONS.get(action)
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if target is None or not self.editing_id:
            return None
        try:
            campaign = await asyncio.to_thread(change_campaign_status, actor, self.editing_id, target)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self._show(campaign)
        return rx.toast.success(f"Campaign is now {campaign.status.value}.")

    @rx.event
    async def delete_draft(self):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        if not self.editing_id:
            return None
        try:
            await asyncio.to_thread(delete_campaign, actor, self.editing_id)
        except DomainError as exc:
            return rx.toast.error(exc.message)
        self.editing_id = 0
        return [rx.toast.success("Draft deleted."), rx.redirect(routes.ADMIN)]


CURRENCY_OPTIONS = [(c, c) for c in SUPPORTED_CURRENCIES]
KYC_OPTIONS = [("none", "Never"), ("every_buyer", "Every buyer"), ("above_amount", "Above an amount per buyer")]
