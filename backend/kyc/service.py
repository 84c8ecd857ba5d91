"""The consumer's side of KYC: stage an upload (the web form sends each file as it is chosen), submit (or resubmit
after changes were requested), see where they stand, withdraw a pending check (its files are deleted at once).

Submitting checks everything first (fields, every file judged by content and cleaned), stores the encrypted
files, then in ONE transaction opens or resubmits the case, runs the automatic checks (jurisdiction blocklist,
minimum age, the same document number on another account) and writes the history, the outbox event and any
decision email. If that transaction fails, the files it would have referenced are deleted again. After the commit,
the external provider (if configured) is told about the case: a network call, never inside the transaction.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from backend.auth.acl import Actor, signed_in
from backend.auth.ratelimit import get_rate_limiter, limit_per_network
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.kyc import countries
from backend.kyc.documents import audit, delete_case_documents
from backend.kyc.emails import queue_decision_email, reason_text
from backend.kyc.errors import BadDocument
from backend.kyc.files import CleanFile, clean_document
from backend.kyc.models import DocumentKind, DocumentType, KycCase, KycDocument, KycSubmission
from backend.kyc.storage import EncryptedStorage, get_storage
from backend.settings import get_settings
from backend.validation import validation_failed
from backend.workflow.machines import KycState
from backend.workflow.outbox import emit
from backend.workflow.transitions import transition

log = logging.getLogger(__name__)

SYSTEM_CHECKS = "system:kyc-checks"
CONSENT_TEXT = (
    "I agree that Primsell processes my identity document, selfie and the details above to verify my identity and "
    "to meet its legal obligations. They are kept encrypted, seen only by Primsell's identity reviewers (and our "
    "verification provider, if one is used), and the document images are deleted after the decision as described "
    "in the privacy notice. I can withdraw a pending check at any time."
)
DOCUMENT_LABELS = {DocumentKind.FRONT: "The front of the document", DocumentKind.BACK: "The back of the document",
                   DocumentKind.SELFIE: "The selfie"}
OPEN_STATES = (KycState.SUBMITTED, KycState.IN_REVIEW, KycState.REJECTION_PENDING)
RENEW_BEFORE = timedelta(days=30)  # an approval may be renewed in its last 30 days
_DOC_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-/.]{1,38}[A-Za-z0-9]$")


def normalize_document_number(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


def required_kinds(document_type: DocumentType | str) -> list[DocumentKind]:
    """A passport has one page that matters; cards and licences have a back."""
    if DocumentType(document_type) is DocumentType.PASSPORT:
        return [DocumentKind.FRONT, DocumentKind.SELFIE]
    return [DocumentKind.FRONT, DocumentKind.BACK, DocumentKind.SELFIE]


class SubmissionForm(BaseModel):
    """The consumer's details; files are checked apart (files.clean_document)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    legal_name: str = Field(min_length=2, max_length=200)
    date_of_birth: date
    country: str = Field(min_length=2, max_length=2)
    region: str = Field("", max_length=6)
    address: str = Field(min_length=5, max_length=500)
    document_type: DocumentType
    document_number: str = Field(min_length=3, max_length=40)
    consent: bool

    @field_validator("legal_name", "address")
    @classmethod
    def _printable(cls, value: str) -> str:
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            raise ValueError("must not contain control characters")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth(cls, value: date) -> date:
        today = utcnow().date()
        if value >= today:
            raise ValueError("must be in the past")
        if value.year < today.year - 130:
            raise ValueError("is not a plausible date of birth")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        value = value.upper()
        if not countries.is_country(value):
            raise ValueError("choose a country from the list")
        return value

    @field_validator("document_number")
    @classmethod
    def _document_number(cls, value: str) -> str:
        if not _DOC_NUMBER.match(value):
            raise ValueError("use the letters and digits printed on the document")
        return value.upper()

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("you must agree to the processing of your data to be verified")
        return value

    @model_validator(mode="after")
    def _region(self) -> SubmissionForm:
        self.region = self.region.upper()
        known = {code for code, _ in countries.regions(self.country)}
        if self.region and self.region not in known:
            raise ValueError("region: choose a region of the chosen country")
        if not self.region and countries.blocked_regions(self.country):
            raise ValueError("region: choose the region you live in")
        return self


def parse_form(data: dict[str, Any]) -> SubmissionForm:
    try:
        return SubmissionForm.model_validate(data)
    except ValidationError as exc:
        failed = validation_failed(exc)
        # The model-level region check reports on "body"; put it on its field.
        fields = {("region" if v.startswith("region: ") else k): v.removeprefix("region: ")
                  for k, v in failed.fields.items()}
        raise ValidationFailed("Please fix the highlighted fields.", fields=fields) from exc


# -- views --------------------------------------------------------------------------------------------------------

STATUS_LABELS = {
    "none": "Not verified",
    KycState.SUBMITTED.value: "Submitted",
    KycState.IN_REVIEW.value: "In review",
    KycState.REJECTION_PENDING.value: "In review",  # the consumer does not see a rejection before it is confirmed
    KycState.NEEDS_MORE_INFO.value: "Changes requested",
    KycState.APPROVED.value: "Approved",
    "expired": "Expired",
    KycState.REJECTED.value: "Rejected",
    KycState.WITHDRAWN.value: "Withdrawn",
}


@dataclass(frozen=True)
class KycStatusView:
    """Where the consumer stands, in words for them (no internal notes, no reviewer names)."""

    status: str  # "none", "submitted", "in_review", "changes_requested", "approved", "expired", "rejected", ...
    label: str
    message: str
    case_id: int | None = None
    valid_until: datetime | None = None
    changes_requested: str = ""
    reject_reason: str = ""
    submitted_at: datetime | None = None
    can_submit: bool = True  # a new check (none yet, rejected, withdrawn, expired, or approval ending soon)
    can_resubmit: bool = False  # changes were requested
    can_withdraw: bool = False
    # The last submission's details (not its files), to fill the form again when changes were requested.
    previous: dict[str, str] = field(default_factory=dict)


def status_view(session: Session, case: KycCase | None, now: datetime) -> KycStatusView:
    """What the person a case is about sees of it (my_status; a reviewer opening their own case, review.get_case)."""
    if case is None:
        return KycStatusView("none", STATUS_LABELS["none"], "Verify your identity once to buy, redeem and withdraw "
                             "where it is asked for.")
    state = case.state
    status = state.value
    if state is KycState.REJECTION_PENDING:
        status = KycState.IN_REVIEW.value
    if state is KycState.NEEDS_MORE_INFO:
        status = "changes_requested"
    if state is KycState.APPROVED and (case.valid_until is None or case.valid_until <= now):
        status = "expired"
    messages = {
        KycState.SUBMITTED.value: "We have your documents. A reviewer will look at them soon.",
        KycState.IN_REVIEW.value: "A reviewer is checking your documents.",
        "changes_requested": "We need a change before we can verify you. Fix what is asked below and submit again.",
        KycState.APPROVED.value: "Your identity is verified.",
        "expired": "Your verification has expired. Submit a new check to keep buying where it is asked for.",
        KycState.REJECTED.value: "We could not verify your identity.",
        KycState.WITHDRAWN.value: "You withdrew your check; its documents were deleted.",
    }
    submission = session.execute(select(KycSubmission).where(KycSubmission.case_id == case.id)
                                 .order_by(KycSubmission.number.desc()).limit(1)).scalars().first()  # type: ignore[attr-defined]
    previous: dict[str, str] = {}
    if submission is not None and state is KycState.NEEDS_MORE_INFO:
        previous = {"legal_name": submission.legal_name, "date_of_birth": submission.date_of_birth.isoformat(),
                    "country": submission.country, "region": submission.region, "address": submission.address,
                    "document_type": submission.document_type.value, "document_number": submission.document_number}
    approved_valid = state is KycState.APPROVED and case.valid_until is not None and case.valid_until > now
    return KycStatusView(
        status=status,
        label=STATUS_LABELS.get(status, status),
        message=messages.get(status, ""),
        case_id=case.id,
        valid_until=case.valid_until if state is KycState.APPROVED else None,
        changes_requested=case.changes_requested if state is KycState.NEEDS_MORE_INFO else "",
        reject_reason=reason_text(case.reject_reason) if state is KycState.REJECTED else "",
        submitted_at=submission.submitted_at if submission else None,
        can_submit=state not in (*OPEN_STATES, KycState.NEEDS_MORE_INFO) and not (
            approved_valid and case.valid_until - now > RENEW_BEFORE),  # type: ignore[operator]
        can_resubmit=state is KycState.NEEDS_MORE_INFO,
        can_withdraw=state in (KycState.SUBMITTED, KycState.IN_REVIEW, KycState.NEEDS_MORE_INFO),
        previous=previous,
    )


def _latest_case(session: Session, user_id: int) -> KycCase | None:
    return session.execute(select(KycCase).where(KycCase.user_id == user_id)
                           .order_by(KycCase.id.desc()).limit(1)).scalars().first()  # type: ignore[union-attr]


def my_status(actor: Actor | None) -> KycStatusView:
    """The signed-in consumer's own check (never anyone else's)."""
    actor = signed_in(actor)
    with session_scope() as session:
        return status_view(session, _latest_case(session, actor.user_id), utcnow())


# -- uploads ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StagedDocument:
    id: int
    kind: str
    content_type: str
    size_bytes: int
    width: int
    height: int


def _store(storage: EncryptedStorage, clean: CleanFile) -> str:
    key = storage.new_key()
    storage.put(key, clean.data)
    return key


def stage_document(actor: Actor | None, kind: DocumentKind | str, data: bytes, *, filename: str = "",
                   ip: str = "") -> StagedDocument:
    """Check, clean and store one file the web form sent as soon as it was chosen; the submission refers to it.
    Unsubmitted uploads are deleted after KYC_STAGED_UPLOAD_TTL_SECONDS. Nothing is stored for a refused file.
    Rate-limited per account and per network of `ip` (the client's address): accounts are free to make."""
    actor = signed_in(actor)
    try:
        kind = DocumentKind(kind)
    except ValueError:
        raise ValidationFailed("Unknown document.", fields={"kind": "must be front, back or selfie"}) from None
    settings = get_settings()
    limit_per_network(settings.kyc_upload_rate_per_ip, "kyc:stage:ip", ip or "unknown")
    get_rate_limiter().hit(settings.kyc_upload_rate_per_account, f"kyc:stage:acct:{actor.user_id}")
    clean = clean_document(data, kind, label=DOCUMENT_LABELS[kind], filename=filename)
    storage = get_storage()
    key = _store(storage, clean)
    try:
        with session_scope() as session:
            document = KycDocument(user_id=actor.user_id, kind=kind, content_type=clean.content_type,
                                   size_bytes=len(clean.data), width=clean.width, height=clean.height,
                                   sha256=clean.sha256, storage_key=key)
            session.add(document)
            session.flush()
            return StagedDocument(document.id, kind.value, clean.content_type, len(clean.data),  # type: ignore[arg-type]
                                  clean.width, clean.height)
    except BaseException:
        storage.delete(key)
        raise


def _staged(session: Session, user_id: int, ids: dict[DocumentKind, int]) -> dict[DocumentKind, KycDocument]:
    found: dict[DocumentKind, KycDocument] = {}
    for kind, document_id in ids.items():
        document = session.get(KycDocument, document_id)
        if (document is None or document.user_id != user_id or document.submission_id is not None
                or document.deleted_at is not None or document.kind is not kind):
            message = f"{DOCUMENT_LABELS[kind]} upload was not found or has expired: choose the file again."
            raise BadDocument(message, fields={kind.value: message})
        found[kind] = document
    return found


def submit(actor: Actor | None, data: dict[str, Any], *, files: dict[str, bytes] | None = None,
           filenames: dict[str, str] | None = None, staged: dict[str, int] | None = None,
           ip: str = "") -> KycStatusView:
    """Submit a check (or resubmit after changes were requested). `files` are raw uploads (the API's multipart
    parts) by kind, with their `filenames`; `staged` refers to uploads the web form staged. Raises ValidationFailed
    or BadDocument (nothing stored), Conflict (a check is already pending, or an approval is still valid),
    RateLimited."""
    actor = signed_in(actor)
    settings = get_settings()
    limit_per_network(settings.kyc_submission_rate_per_ip, "kyc:submit:ip", ip or "unknown")
    get_rate_limiter().hit(settings.kyc_submission_rate_per_account, f"kyc:submit:acct:{actor.user_id}")
    form = parse_form(data)
    needed = required_kinds(form.document_type)
    kinds = {k.value for k in DocumentKind}
    given_files = {DocumentKind(k): v for k, v in (files or {}).items() if k in kinds}
    given_staged = {DocumentKind(k): int(v) for k, v in (staged or {}).items() if k in kinds}
    missing = {k.value: f"{DOCUMENT_LABELS[k]} is required." for k in needed
               if k not in given_files and k not in given_staged}
    if missing:
        raise BadDocument("Add the missing documents.", fields=missing)
    # Check every file before storing any: a refused one means nothing is stored.
    names = filenames or {}
    cleaned = {kind: clean_document(given_files[kind], kind, label=DOCUMENT_LABELS[kind],
                                    filename=names.get(kind.value, "")) for kind in needed if kind in given_files}
    storage = get_storage()
    stored: dict[DocumentKind, str] = {}
    try:
        for kind, clean in cleaned.items():
            stored[kind] = _store(storage, clean)
        case_id, auto_rejected = _record_submission(actor, form, needed, cleaned, stored, given_staged, ip)
    except BaseException:
        for key in stored.values():
            storage.delete(key)
        raise
    if not auto_rejected:
        _tell_provider(case_id)
    return my_status(actor)


def _record_submission(actor: Actor, form: SubmissionForm, needed: list[DocumentKind],
                       cleaned: dict[DocumentKind, CleanFile], stored: dict[DocumentKind, str],
                       staged_ids: dict[DocumentKind, int], ip: str) -> tuple[int, bool]:
    now = utcnow()
    number_norm = normalize_document_number(form.document_number)
    actor_label = f"user:{actor.user_id}"
    with session_scope() as session:
        staged = _staged(session, actor.user_id, {k: v for k, v in staged_ids.items()
                                                  if k in needed and k not in cleaned})
        case = _latest_case(session, actor.user_id)
        if case is not None and case.state in OPEN_STATES:
            raise Conflict("Your identity check is already waiting for review. You can withdraw it to start again.")
        if case is not None and case.state is KycState.APPROVED and case.valid_until is not None \
                and case.valid_until - now > RENEW_BEFORE:
            raise Conflict(f"You are already verified until {case.valid_until:%d %B %Y}.")
        # documents_deleted_at: a resubmission's new files are stored (retention may have deleted the earlier ones).
        copied = {"email": actor.email, "legal_name": form.legal_name, "country": form.country,
                  "document_number_norm": number_norm, "queued_at": now, "claimed_by": None, "claimed_by_email": "",
                  "claim_expires_at": None, "documents_deleted_at": None}
        if case is not None and case.state is KycState.NEEDS_MORE_INFO:
            number = (session.execute(select(func.max(KycSubmission.number)).where(
                KycSubmission.case_id == case.id)).scalar_one() or 0) + 1
            transition(session, case, "resubmit", actor=actor_label, reason=f"submission {number}", also=copied)
        else:
            number = 1
            case = KycCase(user_id=actor.user_id, state=KycState.SUBMITTED, provider=get_settings().kyc_provider,
                           created_at=now, updated_at=now, **copied)
            session.add(case)
            session.flush()
        submission = KycSubmission(
            case_id=case.id, number=number, legal_name=form.legal_name, date_of_birth=form.date_of_birth,  # type: ignore[arg-type]
            country=form.country, region=form.region, address=form.address, document_type=form.document_type,
            document_number=form.document_number, consent_text=CONSENT_TEXT, consent_at=now, ip=ip[:64],
            submitted_at=now)
        session.add(submission)
        session.flush()
        for kind, clean in cleaned.items():
            session.add(KycDocument(submission_id=submission.id, user_id=actor.user_id, kind=kind,
                                    content_type=clean.content_type, size_bytes=len(clean.data), width=clean.width,
                                    height=clean.height, sha256=clean.sha256, storage_key=stored[kind],
                                    created_at=now))
        for document in staged.values():
            document.submission_id = submission.id
            session.add(document)
        session.flush()
        if number == 1:
            audit(session, case.id, actor_label, "submitted", f"submission {number}")  # type: ignore[arg-type]
        emit(session, "kyc.submitted", {"case_id": case.id, "submission": number}, entity=("kyc_case", case.id))
        rejected = run_automatic_checks(session, case, submission, now)
        return case.id, rejected  # type: ignore[return-value]


def run_automatic_checks(session: Session, case: KycCase, submission: KycSubmission, now: datetime) -> bool:
    """Before a human looks: the jurisdiction blocklist and the minimum age reject (with their reason); the same
    document number on another account flags both cases. Returns True if the case was rejected."""
    settings = get_settings()
    others = list(session.execute(select(KycCase).where(
        KycCase.document_number_norm == case.document_number_norm, KycCase.user_id != case.user_id)).scalars())
    if others:
        _add_flag(session, case, "duplicate_document",
                  f"the same document number is on case(s) {', '.join(f'#{o.id}' for o in others[:10])}")
        for other in others:
            _add_flag(session, other, "duplicate_document", f"the same document number is on case #{case.id}")
    reason = ""
    if countries.is_blocked(submission.country, submission.region):
        where = submission.region or submission.country
        _add_flag(session, case, "blocked_jurisdiction", f"{where} is on the jurisdiction blocklist")
        reason, why = "sanctioned_jurisdiction", f"automatic: {where} is on the jurisdiction blocklist"
    elif _age(submission.date_of_birth, now.date()) < settings.kyc_min_age:
        _add_flag(session, case, "under_age", f"under {settings.kyc_min_age}")
        reason, why = "underage", f"automatic: younger than {settings.kyc_min_age}"
    if not reason:
        return False
    transition(session, case, "reject", actor=SYSTEM_CHECKS, reason=why,
               also={"reject_reason": reason, "reject_note": why, "decided_by": SYSTEM_CHECKS, "decided_at": now})
    queue_decision_email(session, case)
    emit(session, "kyc.decided", {"case_id": case.id, "state": case.state.value}, entity=("kyc_case", case.id))
    return True


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _add_flag(session: Session, case: KycCase, flag: str, detail: str) -> None:
    if flag in case.flag_list:
        return
    flags = ",".join(sorted({*case.flag_list, flag}))
    session.execute(update(KycCase).where(KycCase.id == case.id).values(flags=flags))
    case.flags = flags
    audit(session, case.id, SYSTEM_CHECKS, "flagged", f"{flag}: {detail}")  # type: ignore[arg-type]


def _tell_provider(case_id: int) -> None:
    """After the commit: hand the case to the external provider when one is configured. A failure leaves the case
    in the reviewers' queue (logged); it is never lost."""
    from backend.kyc.provider import get_provider

    provider = get_provider()
    if provider.name == "manual":
        return
    try:
        provider.register_case(case_id)
    except Exception as exc:  # noqa: BLE001 - any provider failure leaves the case to the human queue
        log.warning("KYC provider %s did not take case %s: %s", provider.name, case_id, type(exc).__name__)


def withdraw(actor: Actor | None) -> KycStatusView:
    """Withdraw the consumer's pending check; its documents are deleted at once."""
    actor = signed_in(actor)
    with session_scope() as session:
        case = _latest_case(session, actor.user_id)
        if case is None or case.state not in (KycState.SUBMITTED, KycState.IN_REVIEW, KycState.NEEDS_MORE_INFO):
            raise NotFound("You have no pending identity check to withdraw.")
        now = utcnow()
        transition(session, case, "withdraw", actor=f"user:{actor.user_id}", reason="withdrawn by the consumer",
                   also={"claimed_by": None, "claimed_by_email": "", "claim_expires_at": None, "decided_at": now,
                         "decided_by": f"user:{actor.user_id}"})
        delete_case_documents(session, case, f"user:{actor.user_id}", "withdrawn by the consumer", now)
        emit(session, "kyc.decided", {"case_id": case.id, "state": case.state.value}, entity=("kyc_case", case.id))
    return my_status(actor)


def search_filter(term: str) -> Any:
    """The reviewers' search: case number, email, name or document number (used by review.list_cases)."""
    term = term.strip()
    clauses = [func.lower(KycCase.email).contains(term.lower(), autoescape=True),
               func.lower(KycCase.legal_name).contains(term.lower(), autoescape=True)]
    number = normalize_document_number(term)
    if len(number) >= 3:
        clauses.append(KycCase.document_number_norm.contains(number, autoescape=True))  # type: ignore[attr-defined]
    if term.lstrip("#").isdigit() and len(term) < 10:
        clauses.append(KycCase.id == int(term.lstrip("#")))
    return or_(*clauses)
