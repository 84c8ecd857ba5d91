"""/kyc/cases/[case]: one identity check: the person's details, the documents (through short-lived links bound to
this reviewer's session; zoom and rotate in the page), earlier submissions, the person's other checks, flags and
the whole history; claim, release and the decisions (approve, request changes, reject, confirm or dismiss a
proposed rejection)."""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.errors import DomainError, Forbidden, NotAuthenticated, NotFound
from backend.kyc import review
from backend.kyc.review import CaseDetail
from primsell import routes
from primsell.format import utc_datetime
from primsell.state.session import SessionState, current_actor

KIND_LABELS = {"front": "Front", "back": "Back", "selfie": "Selfie"}
DOCUMENT_TYPES = {"passport": "Passport", "id_card": "National ID card", "driving_licence": "Driving licence"}


class KycCaseState(rx.State):
    case_id: int = 0
    loaded: bool = False
    not_found: bool = False
    forbidden: bool = False
    state: str = ""
    state_label: str = ""
    email: str = ""
    age: str = ""
    sla: str = ""
    held_by: str = ""
    held_by_me: bool = False
    claim_expires_at: str = ""
    flags: list[dict[str, str]] = []
    changes_requested: str = ""
    reject_reason_text: str = ""
    reject_note: str = ""
    rejection_proposed_by: str = ""
    decided: str = ""
    valid_until: str = ""
    documents_deleted_at: str = ""
    submissions: list[dict[str, str]] = []  # newest first: the details of each
    documents: list[dict[str, str]] = []  # every document of every submission, with "submission" to group them
    other_cases: list[dict[str, str]] = []
    history: list[dict[str, str]] = []
    can_claim: bool = False
    can_decide: bool = False
    can_confirm_rejection: bool = False
    own_case: bool = False  # the reviewer's own identity check: shown as its subject sees it, never decided
    four_eyes: bool = True
    reasons: list[list[str]] = []
    # Decisions.
    action_error: str = ""
    action_message: str = ""
    busy: bool = False
    decision: str = ""  # "", "changes", "reject", "dismiss": which form is open
    field_errors: dict[str, str] = {}

    def _show(self, d: CaseDetail) -> None:
        self.state, self.state_label, self.email, self.age, self.sla = d.state, d.state_label, d.email, d.age, d.sla
        self.held_by, self.held_by_me, self.claim_expires_at = d.held_by, d.held_by_me, utc_datetime(d.claim_expires_at)
        self.flags = [dict(f) for f in d.flags]
        self.changes_requested, self.reject_reason_text, self.reject_note = (d.changes_requested,
                                                                              d.reject_reason_text, d.reject_note)
        self.rejection_proposed_by = d.rejection_proposed_by
        self.decided = f"{utc_datetime(d.decided_at)} by {d.decided_by}" if d.decided_at else ""
        self.valid_until, self.documents_deleted_at = utc_datetime(d.valid_until), utc_datetime(d.documents_deleted_at)
        self.submissions = [{
            "number": str(s.number), "submitted_at": utc_datetime(s.submitted_at), "legal_name": s.legal_name,
            "date_of_birth": s.date_of_birth, "country": f"{s.country_name} ({s.country})", "region": s.region,
            "address": s.address, "document_type": DOCUMENT_TYPES.get(s.document_type, s.document_type),
            "document_number": s.document_number, "consent": f"{utc_datetime(s.consent_at)}: {s.consent_text}",
        } for s in d.submissions]
        self.documents = [{
            "id": str(doc.id), "submission": str(s.number), "kind": KIND_LABELS.get(doc.kind, doc.kind),
            "url": doc.url, "pdf": "1" if doc.content_type == "application/pdf" else "",
            "info": (f"{doc.width} x {doc.height} px, " if doc.width else "") + f"{max(1, doc.size_bytes // 1024)} KB",
            "deleted": utc_datetime(doc.deleted_at), "rotate": "0", "zoom": "100",
        } for s in d.submissions for doc in s.documents]
        self.other_cases = [
            {
                "id": str(c.id),
                "state": c.state,
                "decided_at": utc_datetime(c.decided_at),
                "outcome": c.outcome,
                "url": routes.kyc_case(c.id),
            }
            for c in d.other_cases
        ]
        self.history = [{"at": utc_datetime(h.at), "actor": h.actor, "action": h.action.replace("_", " "),
                         "change": f"{h.from_state} → {h.to_state}" if h.to_state else "", "why": h.why}
                        for h in d.history]
        self.can_claim, self.can_decide = d.can_claim, d.can_decide
        self.can_confirm_rejection, self.four_eyes, self.own_case = d.can_confirm_rejection, d.four_eyes, d.own_case
        self.reasons = [[code, text] for code, text in d.reasons.items()]

    async def _reload(self) -> None:
        actor = await current_actor(self)
        if actor is None or not self.case_id:
            case_id = self.case_id
            self.reset()  # a signed-out tab keeps nothing of the case it showed
            self.case_id, self.not_found, self.loaded = case_id, not case_id, True
            return
        try:
            detail = await asyncio.to_thread(review.get_case, actor, self.case_id)
        except NotFound:
            self.not_found = True
        except (Forbidden, NotAuthenticated):
            self.forbidden = True
        else:
            self.not_found = self.forbidden = False
            self._show(detail)
        self.loaded = True

    @rx.event
    async def load_case(self):
        raw = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        self.case_id = int(raw) if raw.isdigit() and len(raw) < 10 else 0
        self.loaded, self.action_error, self.action_message, self.decision, self.field_errors = False, "", "", "", {}
        await self._reload()

    async def _act(self, call, message: str, *args):  # type: ignore[no-untyped-def]
        """Run one review service call as the reviewer signed in now, then show the case as it is now."""
        if self.busy:
            return
        self.busy, self.action_error, self.action_message, self.field_errors = True, "", "", {}
        actor = await current_actor(self)
        if actor is None:
            self.busy = False
            return SessionState.to_sign_in
        try:
            await asyncio.to_thread(call, actor, self.case_id, *args)
        except DomainError as exc:
            self.action_error = exc.message
            self.field_errors = dict(exc.fields)
        else:
            self.action_message, self.decision = message, ""
        self.busy = False
        await self._reload()

    @rx.event
    async def claim(self):
        return await self._act(review.claim, "You hold this case now.")

    @rx.event
    async def release(self):
        return await self._act(review.release, "Handed back to the queue.")

    @rx.event
    async def approve(self):
        return await self._act(review.approve, "Approved.")

    @rx.event
    async def confirm_rejection(self):
        return await self._act(review.confirm_rejection, "Rejection confirmed.")

    @rx.event
    def open_decision(self, which: str):
        self.decision = which if which in ("changes", "reject", "dismiss") else ""
        self.field_errors, self.action_error = {}, ""

    @rx.event
    async def request_changes(self, form: dict):
        return await self._act(review.request_changes, "Changes requested: the person was emailed.",
                        str(form.get("message", "")))

    @rx.event
    async def reject(self, form: dict):
        message = "Rejection proposed: a second reviewer must confirm it." if self.four_eyes else "Rejected."
        return await self._act(review.reject, message, str(form.get("reason", "")), str(form.get("note", "")))

    @rx.event
    async def dismiss_rejection(self, form: dict):
        return await self._act(review.dismiss_rejection, "Sent back to review.", str(form.get("note", "")))

    def _view(self, document_id: str, name: str, change) -> None:  # type: ignore[no-untyped-def]
        """The viewer's rotation (degrees) or zoom (percent) of one document, kept with it."""
        self.documents = [{**d, name: str(change(int(d[name])))} if d["id"] == document_id else d
                          for d in self.documents]

    @rx.event
    def rotate(self, document_id: str):
        self._view(document_id, "rotate", lambda a: (a + 90) % 360)

    @rx.event
    def zoom_in(self, document_id: str):
        self._view(document_id, "zoom", lambda z: min(400, z + 50))

    @rx.event
    def zoom_out(self, document_id: str):
        self._view(document_id, "zoom", lambda z: max(50, z - 50))
