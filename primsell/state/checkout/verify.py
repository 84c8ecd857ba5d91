"""/kyc/verify: the signed-in consumer's identity check: where it stands, the form (details, documents, consent),
resubmitting after changes were requested, withdrawing. `?next=` brings them back to the gated step.

Any signed-in person may use it (like /account), so the state resolves the session cookie itself, again on every
event that acts. Each document is sent as soon as it is chosen (rx.upload -> `stage_upload`): the backend judges
it by content, cleans it and keeps it encrypted; the submission then refers to the staged uploads.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.errors import DomainError, NotAuthenticated
from backend.kyc import countries
from backend.kyc.service import KycStatusView, my_status, stage_document, submit, withdraw
from primsell import routes
from primsell.format import utc_date
from primsell.state.session import client_ip, current_actor

KINDS = ("front", "back", "selfie")
# Any signed-in person may use this page, like /account (current_actor's "account" surface).
SURFACE = "account"


class CheckoutVerifyState(rx.State):
    _staged_ids: dict[str, int] = {}

    loaded: bool = False
    email: str = ""
    status: str = ""
    label: str = ""
    message: str = ""
    valid_until: str = ""
    changes_requested: str = ""
    reject_reason: str = ""
    can_submit: bool = False
    can_resubmit: bool = False
    can_withdraw: bool = False
    return_to: str = ""
    # The form.
    previous: dict[str, str] = {}
    country: str = ""
    document_type: str = "passport"
    regions: list[list[str]] = []
    region_required: bool = False
    staged: dict[str, str] = {}  # kind -> what was accepted ("front.jpg, 1200 x 900")
    upload_errors: dict[str, str] = {}
    uploading: str = ""
    field_errors: dict[str, str] = {}
    form_error: str = ""
    submitting: bool = False
    withdrawing: bool = False
    done_message: str = ""

    @rx.var
    def needs_back(self) -> bool:
        return self.document_type in ("id_card", "driving_licence")

    @rx.var
    def show_form(self) -> bool:
        return self.can_submit or self.can_resubmit

    def _here(self) -> str:
        query = self.router.url.query
        return routes.KYC_VERIFY + (f"?{query}" if query else "")

    def _show(self, view: KycStatusView) -> None:
        self.status, self.label, self.message = view.status, view.label, view.message
        self.valid_until = utc_date(view.valid_until)
        self.changes_requested, self.reject_reason = view.changes_requested, view.reject_reason
        self.can_submit, self.can_resubmit, self.can_withdraw = view.can_submit, view.can_resubmit, view.can_withdraw
        self.previous = dict(view.previous)
        if view.previous:
            self._set_country(view.previous.get("country", ""))
            self.document_type = view.previous.get("document_type", self.document_type)

    def _set_country(self, code: str) -> None:
        self.country = code
        self.regions = [[c, n] for c, n in countries.regions(code)] if code else []
        self.region_required = bool(code and countries.blocked_regions(code))

    @rx.event
    async def load_verification(self):
        """on_load: strangers go to the account sign-in and come back here; then read where they stand."""
        self.loaded = False
        self.field_errors, self.form_error, self.upload_errors, self.done_message = {}, "", {}, ""
        self.return_to = routes.safe_return(self.router.url.query_parameters.get("next"))
        actor = await current_actor(self, SURFACE)
        if actor is None:
            return rx.redirect(routes.login_with_next("account", self._here()))
        self.email = actor.email
        self._show(await asyncio.to_thread(my_status, actor))
        self.loaded = True
        return None

    @rx.event
    def choose_country(self, code: str):
        self._set_country(code)
        self.field_errors = {k: v for k, v in self.field_errors.items() if k not in ("country", "region")}

    @rx.event
    def choose_document_type(self, value: str):
        self.document_type = value

    @rx.event
    async def stage_upload(self, files: list[rx.UploadFile], kind: str):
        """One document, sent as soon as it is chosen: checked and cleaned by the backend, or refused with why."""
        if kind not in KINDS or not files:
            return
        self.uploading = kind
        self.upload_errors = {k: v for k, v in self.upload_errors.items() if k != kind}
        yield
        upload = files[0]
        data = await upload.read()
        name = (upload.name or "").rsplit("/", 1)[-1][:80]
        try:
            actor = await current_actor(self, SURFACE)
            staged = await asyncio.to_thread(stage_document, actor, kind, data, filename=name, ip=client_ip(self))
        except NotAuthenticated:
            self.uploading = ""
            yield rx.redirect(routes.login_with_next("account", self._here()))
            return
        except DomainError as exc:
            self.uploading = ""
            self.upload_errors = {**self.upload_errors, kind: exc.fields.get(kind, exc.message)}
            self.staged = {k: v for k, v in self.staged.items() if k != kind}
            self._staged_ids = {k: v for k, v in self._staged_ids.items() if k != kind}
            return
        self._staged_ids = {**self._staged_ids, kind: staged.id}
        size = f"{staged.width} x {staged.height} px, " if staged.width else ""
        self.staged = {**self.staged, kind: f"{name or kind} ({size}{max(1, staged.size_bytes // 1024)} KB)"}
        self.uploading = ""

    @rx.event
    def upload_refused(self, kind: str):
        """The browser refused the file before sending it (more than 10 MB, or not an image or PDF)."""
        self.upload_errors = {**self.upload_errors,
                              kind: "This file is over 10 MB or is not a JPEG, PNG or PDF. Choose another one."}

    @rx.event
    async def submit_verification(self, form: dict):
        if self.submitting:
            return
        data = {name: str(form.get(name, "")).strip() for name in (
            "legal_name", "date_of_birth", "country", "region", "address", "document_type", "document_number")}
        data["consent"] = form.get("consent") in ("on", "true", True)  # type: ignore[assignment]
        self.submitting, self.form_error, self.field_errors = True, "", {}
        yield
        try:
            actor = await current_actor(self, SURFACE)
            view = await asyncio.to_thread(submit, actor, data, staged=dict(self._staged_ids), ip=client_ip(self))
        except NotAuthenticated:
            self.submitting = False
            yield rx.redirect(routes.login_with_next("account", self._here()))
            return
        except DomainError as exc:
            self.submitting = False
            self.form_error = exc.message
            uploads = {k: v for k, v in exc.fields.items() if k in KINDS}
            self.upload_errors = {**self.upload_errors, **uploads}
            self.field_errors = {k: v for k, v in exc.fields.items() if k not in KINDS}
            return
        self.submitting = False
        self._staged_ids, self.staged, self.upload_errors = {}, {}, {}
        self.done_message = "Thank you: your documents are in. We email you when a reviewer has decided."
        self._show(view)

    @rx.event
    async def withdraw_check(self):
        if self.withdrawing:
            return
        self.withdrawing = True
        yield
        try:
            actor = await current_actor(self, SURFACE)
            view = await asyncio.to_thread(withdraw, actor)
        except DomainError as exc:
            self.form_error = exc.message
        else:
            self._show(view)
            self.done_message = "Withdrawn: your documents were deleted."
        self.withdrawing = False
