"""The reviewers' side of KYC (platform-wide KYC reviewers and platform admins): the queue, the case page, claims
and decisions.

Claims: one reviewer holds a case at a time. A claim is a machine transition ("start_review", "take_over" of a
lapsed claim, "claim_for_confirmation" of a proposed rejection) made under the case's version check, so of any
number of concurrent claims exactly one wins, on SQLite and PostgreSQL alike; the others are told who holds it.
The holder's activity (opening the case or a document, deciding) renews the claim; it lapses
KYC_CLAIM_TIMEOUT_SECONDS after the last activity and another reviewer may take it over.

Decisions: approve (valid KYC_VALIDITY_DAYS), request changes (what to fix, shown to the consumer), reject (a
reason code from REJECT_REASONS and an internal note). With KYC_FOUR_EYES (the default) a rejection is only
proposed: the case waits in the queue for a second reviewer, who confirms it or sends it back to review; the
proposer can do neither. Every step is a history row; decisions are emailed to the consumer.

Nobody reviews themselves: a reviewer's (or platform admin's) own identity check is not in their queue, and they can
never claim it or take any decision on it (FourEyes), whatever KYC_FOUR_EYES says. Holding it anyway (a claim from
before this rule) they may only release it. Opening it they see only what its subject sees at /kyc/verify: no internal
note, flags, history or documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from backend.auth.acl import Actor, Permission, require
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.kyc.countries import country_name
from backend.kyc.documents import audit, renew_claim, signed_url
from backend.kyc.emails import REJECT_REASONS, queue_decision_email, reason_text
from backend.kyc.errors import CaseHeld, FourEyes
from backend.kyc.models import OPEN_QUEUE_SQL, KycAuditEntry, KycCase, KycDocument, KycSubmission
from backend.kyc.service import search_filter, status_view
from backend.pagination import Page, check_page
from backend.settings import get_settings
from backend.workflow.machines import KycState
from backend.workflow.models import StateTransition
from backend.workflow.outbox import emit
from backend.workflow.transitions import transition

OPEN = (KycState.SUBMITTED, KycState.IN_REVIEW, KycState.REJECTION_PENDING)
STATUS_FILTERS = ("open", "all", *(s.value for s in KycState))
FLAGS = {
    "duplicate_document": "Same document number on another account",
    "blocked_jurisdiction": "Country or region on the blocklist",
    "under_age": "Younger than the minimum age",
    "provider_red": "The provider answered RED",
}
STATE_LABELS = {
    KycState.SUBMITTED: "Waiting", KycState.IN_REVIEW: "In review", KycState.NEEDS_MORE_INFO: "Changes requested",
    KycState.REJECTION_PENDING: "Rejection to confirm", KycState.APPROVED: "Approved", KycState.REJECTED: "Rejected",
    KycState.WITHDRAWN: "Withdrawn",
}


def _reviewer(actor: Actor | None) -> Actor:
    return require(actor, Permission.KYC_REVIEW)


def _actor_label(actor: Actor) -> str:
    return f"user:{actor.user_id}"


def _not_own(case: KycCase, actor: Actor) -> None:
    """Self-review is refused in the domain layer, whichever screen or API asks."""
    if case.user_id == actor.user_id:
        raise FourEyes("This is your own identity check: another reviewer must review and decide it.")


def sla_colour(age: timedelta) -> str:
    """green within half the SLA, amber until the SLA, red past it (KYC_SLA_HOURS)."""
    sla = timedelta(hours=get_settings().kyc_sla_hours)
    return "green" if age < sla / 2 else "amber" if age < sla else "red"


def _age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} min"
    hours = minutes // 60
    return f"{hours} h {minutes % 60:02d} min" if hours < 48 else f"{hours // 24} days"


def _holder(case: KycCase, now: datetime) -> str:
    active = case.claimed_by is not None and case.claim_expires_at is not None and case.claim_expires_at > now
    return case.claimed_by_email if active else ""


# -- the queue ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    id: int
    email: str
    legal_name: str
    country: str
    state: str
    state_label: str
    flags: list[str]
    queued_at: datetime
    age: str
    sla: str  # "green" | "amber" | "red" (only for open cases; "" otherwise)
    held_by: str  # the holder's email while the claim is active


def list_cases(actor: Actor | None, *, status: str = "open", country: str = "", flag: str = "", search: str = "",
               limit: int = 20, offset: int = 0, now: datetime | None = None) -> Page[QueueRow]:
    """The queue, oldest first (by when each case entered the queue), with filters and search."""
    actor = _reviewer(actor)
    limit, offset = check_page(limit, offset)
    if status not in STATUS_FILTERS:
        raise ValidationFailed("Unknown status filter.", fields={"status": f"one of {', '.join(STATUS_FILTERS)}"})
    if flag and flag not in FLAGS:
        raise ValidationFailed("Unknown flag.", fields={"flag": f"one of {', '.join(FLAGS)}"})
    now = now or utcnow()
    query = select(KycCase).where(KycCase.user_id != actor.user_id)  # never one's own check (see _not_own)
    if status == "open":
        query = query.where(text(OPEN_QUEUE_SQL))
    elif status != "all":
        query = query.where(KycCase.state == KycState(status))
    if country:
        query = query.where(KycCase.country == country.strip().upper()[:2])
    if flag:
        query = query.where(KycCase.flags.contains(flag, autoescape=True))  # type: ignore[attr-defined]
    if search.strip():
        query = query.where(search_filter(search[:100]))
    with session_scope() as session:
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        cases = session.execute(query.order_by(KycCase.queued_at, KycCase.id).limit(limit).offset(offset)).scalars()
        rows = [QueueRow(
            id=c.id, email=c.email, legal_name=c.legal_name, country=c.country, state=c.state.value,  # type: ignore[arg-type]
            state_label=STATE_LABELS[c.state], flags=c.flag_list, queued_at=c.queued_at,
            age=_age_text(now - c.queued_at), sla=sla_colour(now - c.queued_at) if c.state in OPEN else "",
            held_by=_holder(c, now)) for c in cases]
    return Page(rows, int(total), limit, offset)


# -- the case page ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DocumentView:
    id: int
    kind: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    sha256: str
    url: str  # a signed link for this reviewer's session; "" once the file is deleted
    deleted_at: datetime | None


@dataclass(frozen=True)
class SubmissionView:
    number: int
    submitted_at: datetime
    legal_name: str
    date_of_birth: str
    country: str
    country_name: str
    region: str
    address: str
    document_type: str
    document_number: str
    consent_text: str
    consent_at: datetime
    documents: list[DocumentView]


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    actor: str
    action: str
    from_state: str
    to_state: str
    why: str


@dataclass(frozen=True)
class OtherCase:
    id: int
    state: str
    decided_at: datetime | None
    outcome: str


@dataclass(frozen=True)
class CaseDetail:
    id: int
    state: str
    state_label: str
    email: str
    queued_at: datetime
    age: str
    sla: str
    flags: list[dict[str, str]]
    held_by: str
    held_by_me: bool
    claim_expires_at: datetime | None
    changes_requested: str
    reject_reason: str
    reject_reason_text: str
    reject_note: str
    rejection_proposed_by: str
    decided_by: str
    decided_at: datetime | None
    valid_until: datetime | None
    documents_deleted_at: datetime | None
    provider: str
    submissions: list[SubmissionView]  # newest first
    other_cases: list[OtherCase]  # the same person's other checks, newest first
    history: list[HistoryRow]  # oldest first: state changes and the audit log
    # What this reviewer may do now (the service checks again when they do it).
    can_claim: bool
    can_decide: bool
    can_confirm_rejection: bool
    own_case: bool = False  # the reviewer's own identity check: the subject's view only, never acted on (_own_case)
    four_eyes: bool = True
    reasons: dict[str, str] = field(default_factory=lambda: dict(REJECT_REASONS))


def _documents(session: Session, actor: Actor, submission_ids: list[int]) -> dict[int, list[DocumentView]]:
    found: dict[int, list[DocumentView]] = {i: [] for i in submission_ids}
    if not submission_ids:
        return found
    order = {"front": 0, "back": 1, "selfie": 2}
    rows = session.execute(select(KycDocument).where(KycDocument.submission_id.in_(submission_ids))).scalars()  # type: ignore[union-attr]
    for d in sorted(rows, key=lambda d: (order[d.kind.value], d.id)):
        found[d.submission_id].append(DocumentView(  # type: ignore[index]
            d.id, d.kind.value, d.content_type, d.size_bytes, d.width, d.height, d.sha256,  # type: ignore[arg-type]
            "" if d.deleted_at else signed_url(actor, d.id), d.deleted_at))  # type: ignore[arg-type]
    return found


def _history(session: Session, case_id: int) -> list[HistoryRow]:
    rows = [HistoryRow(t.created_at, t.actor, t.trigger, t.from_state, t.to_state, t.reason)
            for t in session.execute(select(StateTransition).where(
                StateTransition.entity_type == "kyc_case", StateTransition.entity_id == str(case_id))
                .order_by(StateTransition.id)).scalars()]
    rows += [HistoryRow(a.created_at, a.actor, a.action, "", "", a.detail)
             for a in session.execute(select(KycAuditEntry).where(KycAuditEntry.case_id == case_id)
                                      .order_by(KycAuditEntry.id)).scalars()]
    return sorted(rows, key=lambda r: r.at)


def _actor_names(session: Session, rows: list[HistoryRow]) -> list[HistoryRow]:
    """"user:7" -> the reviewer's email, so the case page says who."""
    from backend.auth.models import User

    ids = {int(r.actor.split(":", 1)[1]) for r in rows if r.actor.startswith("user:") and r.actor[5:].isdigit()}
    emails = dict(session.execute(select(User.id, User.email).where(User.id.in_(ids))).all()) if ids else {}  # type: ignore[union-attr]
    return [HistoryRow(r.at, emails.get(int(r.actor[5:]), r.actor) if r.actor.startswith("user:")
                       and r.actor[5:].isdigit() else r.actor, r.action, r.from_state, r.to_state, r.why)
            for r in rows]


def get_case(actor: Actor | None, case_id: int, now: datetime | None = None) -> CaseDetail:
    """Everything a reviewer needs on one page. The holder's visit renews their claim."""
    actor = _reviewer(actor)
    now = now or utcnow()
    with session_scope() as session:
        case = session.get(KycCase, case_id)
        if case is None:
            raise NotFound("KYC case not found.")
        if case.user_id == actor.user_id:
            return _own_case(session, case, now)
        if case.claimed_by == actor.user_id and case.state in OPEN:
            renew_claim(session, case.id, actor.user_id, now)  # type: ignore[arg-type]
            session.refresh(case)
        submissions = list(session.execute(select(KycSubmission).where(KycSubmission.case_id == case.id)
                                           .order_by(KycSubmission.number.desc())).scalars())  # type: ignore[attr-defined]
        documents = _documents(session, actor, [s.id for s in submissions])  # type: ignore[misc]
        others = [OtherCase(c.id, STATE_LABELS[c.state], c.decided_at,  # type: ignore[arg-type]
                            reason_text(c.reject_reason) if c.state is KycState.REJECTED else
                            (f"valid until {c.valid_until:%Y-%m-%d}" if c.valid_until else ""))
                  for c in session.execute(select(KycCase).where(KycCase.user_id == case.user_id,
                                                                 KycCase.id != case.id)
                                           .order_by(KycCase.id.desc()).limit(20)).scalars()]
        history = _actor_names(session, _history(session, case.id))  # type: ignore[arg-type]
        flag_details = {}
        for row in history:
            if row.action == "flagged":
                name, _, detail = row.why.partition(": ")
                flag_details.setdefault(name, detail)
        held_by = _holder(case, now)
        mine = case.claimed_by == actor.user_id
        proposer = case.rejection_proposed_by
        return CaseDetail(
            id=case.id, state=case.state.value, state_label=STATE_LABELS[case.state], email=case.email,  # type: ignore[arg-type]
            queued_at=case.queued_at, age=_age_text(now - case.queued_at),
            sla=sla_colour(now - case.queued_at) if case.state in OPEN else "",
            flags=[{"flag": f, "label": FLAGS.get(f, f), "detail": flag_details.get(f, "")} for f in case.flag_list],
            held_by=held_by, held_by_me=mine and case.state in OPEN, claim_expires_at=case.claim_expires_at,
            changes_requested=case.changes_requested, reject_reason=case.reject_reason,
            reject_reason_text=reason_text(case.reject_reason) if case.reject_reason else "",
            reject_note=case.reject_note, rejection_proposed_by=case.rejection_proposed_by_email,
            decided_by=case.decided_by, decided_at=case.decided_at, valid_until=case.valid_until,
            documents_deleted_at=case.documents_deleted_at, provider=case.provider,
            submissions=[SubmissionView(
                s.number, s.submitted_at, s.legal_name, s.date_of_birth.isoformat(), s.country, country_name(s.country),
                s.region, s.address, s.document_type.value, s.document_number, s.consent_text, s.consent_at,
                documents[s.id]) for s in submissions],  # type: ignore[index]
            other_cases=others, history=history,
            can_claim=case.state in OPEN and not held_by
            and not (case.state is KycState.REJECTION_PENDING and proposer == actor.user_id),
            can_decide=mine and case.state is KycState.IN_REVIEW,
            can_confirm_rejection=mine and case.state is KycState.REJECTION_PENDING and proposer != actor.user_id,
            four_eyes=get_settings().kyc_four_eyes,
        )


def _own_case(session: Session, case: KycCase, now: datetime) -> CaseDetail:
    """A reviewer's own identity check, as its subject sees it at /kyc/verify (service.status_view): the state in the
    consumer's words (a proposed rejection is "In review"), what to change, the reason of a final rejection; never the
    internal note, the flags, the history (reviewers' names, the provider's comments), documents or other cases.
    Holding it (a claim from before _not_own), they see that, so the page offers to release it."""
    status = status_view(session, case, now)
    holds = case.claimed_by == case.user_id
    return CaseDetail(
        id=case.id, state=status.status, state_label=status.label, email=case.email,  # type: ignore[arg-type]
        queued_at=case.queued_at, age=_age_text(now - case.queued_at), sla="", flags=[],
        held_by=_holder(case, now) if holds else "", held_by_me=holds and case.state in OPEN,
        claim_expires_at=case.claim_expires_at if holds else None,
        changes_requested=status.changes_requested,
        reject_reason=case.reject_reason if case.state is KycState.REJECTED else "",
        reject_reason_text=status.reject_reason, reject_note="", rejection_proposed_by="", decided_by="",
        decided_at=None, valid_until=status.valid_until, documents_deleted_at=None, provider="", submissions=[],
        other_cases=[], history=[], can_claim=False, can_decide=False, can_confirm_rejection=False, own_case=True,
        four_eyes=get_settings().kyc_four_eyes,
    )


# -- claims -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Claimed:
    case_id: int
    state: str
    held_by: str
    claim_expires_at: datetime


def claim(actor: Actor | None, case_id: int) -> Claimed:
    """Take the case (exactly one of concurrent claims wins); the holder claiming again renews the claim."""
    actor = _reviewer(actor)
    now = utcnow()
    expires = now + timedelta(seconds=get_settings().kyc_claim_timeout_s)
    with session_scope() as session:
        case = session.get(KycCase, case_id)
        if case is None:
            raise NotFound("KYC case not found.")
        _not_own(case, actor)
        holder = _holder(case, now)
        if case.state not in OPEN:
            raise Conflict(f"This case is not waiting for review (it is {STATE_LABELS[case.state].lower()}).")
        if holder and case.claimed_by == actor.user_id:
            renew_claim(session, case.id, actor.user_id, now)  # type: ignore[arg-type]
            return Claimed(case.id, case.state.value, actor.email, expires)  # type: ignore[arg-type]
        if holder:
            raise CaseHeld(f"{holder} is reviewing this case (their claim lapses at "
                           f"{case.claim_expires_at:%H:%M} UTC unless they keep working on it).")
        if case.state is KycState.REJECTION_PENDING:
            if case.rejection_proposed_by == actor.user_id:
                raise FourEyes("You proposed this rejection: another reviewer must confirm it.")
            trigger = "claim_for_confirmation"
        else:
            trigger = "start_review" if case.state is KycState.SUBMITTED else "take_over"
        why = "claimed" if trigger != "take_over" else f"took over the lapsed claim of {case.claimed_by_email}"
        transition(session, case, trigger, actor=_actor_label(actor), reason=why,
                   also={"claimed_by": actor.user_id, "claimed_by_email": actor.email, "claim_expires_at": expires})
        return Claimed(case.id, case.state.value, actor.email, expires)  # type: ignore[arg-type]


def _held(session: Session, actor: Actor, case_id: int, *states: KycState, deciding: bool = True) -> KycCase:
    """The case, which this reviewer must hold (a lapsed claim nobody took over still counts), in one of `states`;
    `deciding` (all but release): and which is not their own."""
    case = session.get(KycCase, case_id)
    if case is None:
        raise NotFound("KYC case not found.")
    if deciding:
        _not_own(case, actor)
    if case.claimed_by != actor.user_id:
        holder = _holder(case, utcnow())
        raise CaseHeld(f"{holder} is reviewing this case." if holder else "Claim the case before deciding it.")
    if case.state not in states:
        raise Conflict(f"This case is {STATE_LABELS[case.state].lower()}: that decision does not apply.")
    return case


_RELEASED = {"claimed_by": None, "claimed_by_email": "", "claim_expires_at": None}


def _decided(session: Session, case: KycCase) -> None:
    queue_decision_email(session, case)
    emit(session, "kyc.decided", {"case_id": case.id, "state": case.state.value}, entity=("kyc_case", case.id))


def release(actor: Actor | None, case_id: int) -> None:
    """The holder hands the case back to the queue."""
    actor = _reviewer(actor)
    with session_scope() as session:
        case = _held(session, actor, case_id, KycState.IN_REVIEW, KycState.REJECTION_PENDING, deciding=False)
        if case.state is KycState.IN_REVIEW:
            transition(session, case, "release", actor=_actor_label(actor), reason="released", also=_RELEASED)
        else:
            session.execute(KycCase.__table__.update().where(KycCase.id == case.id).values(**_RELEASED))  # type: ignore[attr-defined]
            audit(session, case.id, _actor_label(actor), "released", "left the rejection for another reviewer")  # type: ignore[arg-type]


def approve(actor: Actor | None, case_id: int, note: str = "") -> None:
    actor = _reviewer(actor)
    now = utcnow()
    with session_scope() as session:
        case = _held(session, actor, case_id, KycState.IN_REVIEW)
        until = now + timedelta(days=get_settings().kyc_validity_days)
        transition(session, case, "approve", actor=_actor_label(actor), reason=note.strip()[:500] or "approved",
                   also={**_RELEASED, "valid_until": until, "decided_at": now, "decided_by": _actor_label(actor)})
        _decided(session, case)


def request_changes(actor: Actor | None, case_id: int, what_to_fix: str) -> None:
    actor = _reviewer(actor)
    text = (what_to_fix or "").strip()
    if not 5 <= len(text) <= 1000:
        raise ValidationFailed("Say what the person must fix.", fields={"message": "between 5 and 1000 characters"})
    with session_scope() as session:
        case = _held(session, actor, case_id, KycState.IN_REVIEW)
        transition(session, case, "request_info", actor=_actor_label(actor), reason=text[:500],
                   also={**_RELEASED, "changes_requested": text})
        _decided(session, case)


def _check_reason(reason: str, note: str) -> tuple[str, str]:
    reason, note = (reason or "").strip(), (note or "").strip()
    fields: dict[str, str] = {}
    if reason not in REJECT_REASONS:
        fields["reason"] = f"one of {', '.join(REJECT_REASONS)}"
    if not 3 <= len(note) <= 1000:
        fields["note"] = "say why (3 to 1000 characters; internal, not sent to the person)"
    if fields:
        raise ValidationFailed("Choose a reason and write a note.", fields=fields)
    return reason, note


def reject(actor: Actor | None, case_id: int, reason: str, note: str) -> str:
    """Reject with a reason code and an internal note. With four eyes on, the rejection is proposed and waits for a
    second reviewer; returns the case's new state."""
    actor = _reviewer(actor)
    reason, note = _check_reason(reason, note)
    now = utcnow()
    with session_scope() as session:
        case = _held(session, actor, case_id, KycState.IN_REVIEW)
        fields = {**_RELEASED, "reject_reason": reason, "reject_note": note}
        if get_settings().kyc_four_eyes:
            transition(session, case, "propose_rejection", actor=_actor_label(actor), reason=f"{reason}: {note}"[:500],
                       also={**fields, "rejection_proposed_by": actor.user_id,
                             "rejection_proposed_by_email": actor.email})
        else:
            transition(session, case, "reject", actor=_actor_label(actor), reason=f"{reason}: {note}"[:500],
                       also={**fields, "decided_at": now, "decided_by": _actor_label(actor)})
            _decided(session, case)
        return case.state.value


def confirm_rejection(actor: Actor | None, case_id: int) -> None:
    """The second reviewer confirms a proposed rejection (never its proposer)."""
    actor = _reviewer(actor)
    now = utcnow()
    with session_scope() as session:
        case = _held(session, actor, case_id, KycState.REJECTION_PENDING)
        if case.rejection_proposed_by == actor.user_id:
            raise FourEyes("You proposed this rejection: another reviewer must confirm it.")
        transition(session, case, "confirm_rejection", actor=_actor_label(actor),
                   reason=f"confirmed the rejection proposed by {case.rejection_proposed_by_email or 'the provider'}",
                   also={**_RELEASED, "decided_at": now, "decided_by": _actor_label(actor)})
        _decided(session, case)


def dismiss_rejection(actor: Actor | None, case_id: int, note: str) -> None:
    """The second reviewer disagrees: the case goes back to review, held by them."""
    actor = _reviewer(actor)
    note = (note or "").strip()
    if not 3 <= len(note) <= 1000:
        raise ValidationFailed("Say why the rejection is wrong.", fields={"note": "3 to 1000 characters"})
    with session_scope() as session:
        case = _held(session, actor, case_id, KycState.REJECTION_PENDING)
        if case.rejection_proposed_by == actor.user_id:
            raise FourEyes("You proposed this rejection: another reviewer must decide on it.")
        expires = utcnow() + timedelta(seconds=get_settings().kyc_claim_timeout_s)
        transition(session, case, "dismiss_rejection", actor=_actor_label(actor), reason=note[:500],
                   also={"reject_reason": "", "reject_note": "", "rejection_proposed_by": None,
                         "rejection_proposed_by_email": "", "claim_expires_at": expires})


def reasons() -> dict[str, Any]:
    return dict(REJECT_REASONS)
