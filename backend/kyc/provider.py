"""External identity-verification providers behind one small interface.

`ManualProvider` (the default) does nothing: reviewers decide every case. `SumsubProvider` speaks Sumsub's format:
after a submission commits, the case is registered as an applicant (`POST /resources/applicants?levelName=...`,
signed with X-App-Token / X-App-Access-Ts / X-App-Access-Sig = hex HMAC-SHA256 of ts + METHOD + path + body), and
Sumsub's `applicantReviewed` webhooks land in the same machine and queue:

- GREEN -> approved (valid KYC_VALIDITY_DAYS); GREEN on an approved case changes nothing.
- RED + RETRY -> changes requested (the user-facing `moderationComment` is what to fix; the internal
  `clientComment` goes to the case's log only).
- RED + FINAL -> with four eyes on, a proposed rejection that a human reviewer confirms (or sends back); without,
  rejected. On an approved case: the approval is revoked.

Webhooks carry `X-Payload-Digest` (hex HMAC of the RAW body with SUMSUB_WEBHOOK_SECRET) and `X-Payload-Digest-Alg`
(HMAC_SHA256_HEX by default, HMAC_SHA1_HEX, HMAC_SHA512_HEX). A bad or missing digest is refused and nothing is
stored. Each body is stored once (its SHA-256 is unique): a redelivery is a duplicate. Sumsub may send several final
answers (GREEN then RED) and retries for hours, so deliveries are applied in the order of their `createdAtMs` (or
`createdAt`): one older than the newest applied is stored and ignored ("stale"), and so is one whose time cannot be
read once a timed answer was applied (it may be older). Other event types are stored and ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import select
from sqlmodel import Session

from backend.db import session_scope, utcnow
from backend.kyc.documents import audit
from backend.kyc.emails import queue_decision_email
from backend.kyc.errors import BadSignature
from backend.kyc.models import KycCase, KycProviderEvent, KycSubmission
from backend.settings import get_settings
from backend.workflow.machines import KycState
from backend.workflow.outbox import emit
from backend.workflow.sql import insert_ignore
from backend.workflow.transitions import transition

log = logging.getLogger(__name__)

SUMSUB = "sumsub"
ACTOR = "provider:sumsub"
_DIGESTS = {"HMAC_SHA256_HEX": hashlib.sha256, "HMAC_SHA1_HEX": hashlib.sha1, "HMAC_SHA512_HEX": hashlib.sha512}
# Sumsub's rejectLabels -> our reason codes (anything else: "other").
_LABELS = {
    "FORGERY": "suspected_forgery", "DOCUMENT_TEMPLATE": "suspected_forgery",
    "FRAUDULENT_PATTERNS": "suspected_forgery", "SELFIE_MISMATCH": "selfie_mismatch",
    "UNSATISFACTORY_PHOTOS": "document_unreadable", "BAD_PROOF_OF_IDENTITY": "document_unreadable",
    "ID_INVALID": "document_expired", "EXPIRATION_DATE": "document_expired", "UNDERAGE_PERSON": "underage",
    "AGE_REQUIREMENT_MISMATCH": "underage", "WRONG_USER_REGION": "sanctioned_jurisdiction", "BLACKLIST": "other",
    "DUPLICATE": "duplicate_identity", "PROBLEMATIC_APPLICANT_DATA": "data_mismatch",
    "INCONSISTENT_PROFILE": "data_mismatch",
}


class ProviderError(RuntimeError):
    pass


class KycProvider(Protocol):
    name: str

    def register_case(self, case_id: int) -> str:
        """Tell the provider about a submitted case (a network call, after the commit); returns its reference."""
        ...


class ManualProvider:
    """Reviewers decide every case; nothing leaves Primsell."""

    name = "manual"

    def register_case(self, case_id: int) -> str:
        return ""


def external_user_id(case_id: int) -> str:
    return f"primsell-kyc-case-{case_id}"


def case_id_from_external(value: str) -> int | None:
    prefix = "primsell-kyc-case-"
    tail = value[len(prefix):] if isinstance(value, str) and value.startswith(prefix) else ""
    return int(tail) if tail.isdigit() and len(tail) < 12 else None


class SumsubProvider:
    name = SUMSUB

    def __init__(self, base_url: str, app_token: str, secret_key: str, level_name: str, *, timeout_s: float = 20.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._app_token = app_token
        self._secret_key = secret_key
        self.level_name = level_name
        self._client = client or httpx.Client(timeout=timeout_s)

    def __repr__(self) -> str:  # never the token or the key
        return f"SumsubProvider({self.base_url})"

    def _signed_headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        ts = str(int(time.time()))
        sig = hmac.new(self._secret_key.encode(), ts.encode() + method.upper().encode() + path.encode() + body,
                       hashlib.sha256).hexdigest()
        return {"X-App-Token": self._app_token, "X-App-Access-Ts": ts, "X-App-Access-Sig": sig,
                "Content-Type": "application/json", "Accept": "application/json"}

    def register_case(self, case_id: int) -> str:
        with session_scope() as session:
            case = session.get(KycCase, case_id)
            submission = session.execute(select(KycSubmission).where(KycSubmission.case_id == case_id)
                                         .order_by(KycSubmission.number.desc()).limit(1)).scalars().first()  # type: ignore[attr-defined]
            if case is None or submission is None or case.provider_applicant_id:
                return case.provider_applicant_id if case else ""
            import pycountry

            country = pycountry.countries.get(alpha_2=submission.country)
            first, _, last = submission.legal_name.partition(" ")
            body = {"externalUserId": external_user_id(case_id), "email": case.email,
                    "fixedInfo": {"firstName": first, "lastName": last or first,
                                  "dob": submission.date_of_birth.isoformat(),
                                  "country": country.alpha_3 if country else submission.country}}
        raw = json.dumps(body, separators=(",", ":")).encode()
        path = f"/resources/applicants?levelName={self.level_name}"
        try:
            response = self._client.post(self.base_url + path, content=raw,
                                         headers=self._signed_headers("POST", path, raw))
        except httpx.HTTPError as exc:
            raise ProviderError(f"Sumsub is unreachable ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise ProviderError(f"Sumsub answered {response.status_code}")
        applicant_id = str(response.json().get("id", ""))[:80]
        with session_scope() as session:
            case = session.get(KycCase, case_id)
            if case is not None and not case.provider_applicant_id:
                case.provider_applicant_id = applicant_id
                case.provider = SUMSUB
                session.add(case)
                audit(session, case_id, ACTOR, "provider_registered", f"Sumsub applicant {applicant_id}")
        return applicant_id


def get_provider() -> KycProvider:
    settings = get_settings()
    if settings.kyc_provider == SUMSUB:
        return SumsubProvider(settings.sumsub_base_url, settings.require_secret("sumsub_app_token"),
                              settings.require_secret("sumsub_secret_key"), settings.sumsub_level_name,
                              timeout_s=settings.sumsub_timeout_s)
    return ManualProvider()


# -- webhooks -----------------------------------------------------------------------------------------------------

def verify_digest(raw: bytes, digest: str | None, algorithm: str | None, secret: str) -> None:
    """Sumsub's webhook signature: the hex HMAC of the raw body. Raises BadSignature."""
    make = _DIGESTS.get((algorithm or "HMAC_SHA256_HEX").strip().upper())
    if make is None:
        raise BadSignature("Unsupported X-Payload-Digest-Alg.")
    expected = hmac.new(secret.encode(), raw, make).hexdigest()
    if not digest or not hmac.compare_digest(expected, digest.strip().lower()):
        raise BadSignature("The webhook signature does not match.")


def created_at_ms(payload: dict[str, Any]) -> int:
    """Sumsub's `createdAtMs` ("2026-12-05 10:15:30.123", UTC) or a number of ms, else its `createdAt`
    ("2021-02-21 13:23:19+0000"); 0 when absent or unreadable."""
    value = payload.get("createdAtMs") or payload.get("createdAt")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z",
                    "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
            try:
                parsed = datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return int(parsed.timestamp() * 1000)
    return 0


@dataclass(frozen=True)
class WebhookResult:
    status: str  # "applied", "duplicate", "stale", "ignored", "unknown_applicant"
    detail: str = ""


def receive_sumsub_webhook(raw: bytes, digest: str | None, algorithm: str | None) -> WebhookResult:
    """Check the signature on the raw body, store the delivery once, apply it in the same transaction."""
    secret = get_settings().require_secret("sumsub_webhook_secret")
    verify_digest(raw, digest, algorithm, secret)
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadSignature("The webhook body is not JSON.") from None
    if not isinstance(payload, dict):
        raise BadSignature("The webhook body is not a JSON object.")
    event_type = str(payload.get("type", ""))[:60]
    applicant_id = str(payload.get("applicantId", ""))[:80]
    ms = created_at_ms(payload)
    with session_scope() as session:
        inserted = insert_ignore(session, KycProviderEvent.__table__, {
            "provider": SUMSUB, "body_sha256": hashlib.sha256(raw).hexdigest(), "event_type": event_type,
            "applicant_id": applicant_id, "created_at_ms": ms, "payload": payload, "outcome": "",
            "received_at": utcnow()}, ["body_sha256"])
        if not inserted:
            return WebhookResult("duplicate")
        result = _apply(session, payload, event_type, applicant_id, ms)
        event = session.execute(select(KycProviderEvent).where(
            KycProviderEvent.body_sha256 == hashlib.sha256(raw).hexdigest())).scalars().one()
        event.outcome = f"{result.status}: {result.detail}"[:200]
        session.add(event)
        return result


def _apply(session: Session, payload: dict[str, Any], event_type: str, applicant_id: str, ms: int) -> WebhookResult:
    if event_type != "applicantReviewed":
        return WebhookResult("ignored", f"event type {event_type or '(none)'}")
    case_id = case_id_from_external(str(payload.get("externalUserId", "")))
    query = select(KycCase).where(KycCase.id == case_id) if case_id is not None else \
        select(KycCase).where(KycCase.provider_applicant_id == applicant_id, KycCase.provider_applicant_id != "")
    case = session.execute(query.with_for_update() if session.get_bind().dialect.name == "postgresql" else query) \
        .scalars().first()
    if case is None or (applicant_id and case.provider_applicant_id and case.provider_applicant_id != applicant_id):
        return WebhookResult("unknown_applicant", applicant_id)
    if ms and ms <= case.provider_reviewed_ms:
        return WebhookResult("stale", f"older than the review applied at {case.provider_reviewed_ms}")
    if not ms and case.provider_reviewed_ms:  # it may be an old answer redelivered: the timed one stands
        return WebhookResult("stale", f"no readable time, and the review applied at {case.provider_reviewed_ms} "
                                      "may be newer")
    review = payload.get("reviewResult") if isinstance(payload.get("reviewResult"), dict) else {}
    answer = str(review.get("reviewAnswer", "")).upper()  # type: ignore[union-attr]
    reject_type = str(review.get("reviewRejectType", "")).upper()  # type: ignore[union-attr]
    labels = [str(x) for x in review.get("rejectLabels", []) or [] if isinstance(x, str)][:20]  # type: ignore[union-attr]
    user_comment = str(review.get("moderationComment", "") or "")[:1000]  # type: ignore[union-attr]
    internal = str(review.get("clientComment", "") or "")[:500]  # type: ignore[union-attr]
    now = utcnow()
    base = {"provider_reviewed_ms": ms or case.provider_reviewed_ms, "provider": SUMSUB,
            "provider_applicant_id": case.provider_applicant_id or applicant_id,
            "claimed_by": None, "claimed_by_email": "", "claim_expires_at": None}
    why = f"Sumsub {answer}{'/' + reject_type if reject_type else ''}" + (f" ({', '.join(labels)})" if labels else "")
    state = case.state
    if internal:
        audit(session, case.id, ACTOR, "provider_comment", internal)  # type: ignore[arg-type]
    if answer == "GREEN":
        if state is KycState.APPROVED:
            return _keep(session, case, ms, "already approved")
        if not _allowed(case, "provider_approve"):
            return _keep(session, case, ms, f"GREEN not applied to a {state.value} case")
        until = now + timedelta(days=get_settings().kyc_validity_days)
        transition(session, case, "provider_approve", actor=ACTOR, reason=why,
                   also={**base, "valid_until": until, "decided_at": now, "decided_by": ACTOR})
    elif answer == "RED" and reject_type == "RETRY":
        if not _allowed(case, "provider_request_changes"):
            return _keep(session, case, ms, f"RETRY not applied to a {state.value} case")
        transition(session, case, "provider_request_changes", actor=ACTOR, reason=why,
                   also={**base, "changes_requested": user_comment or "Please submit clearer photos of your "
                         "document and selfie."})
    elif answer == "RED":
        reason = next((_LABELS[label] for label in labels if label in _LABELS), "other")
        fields = {**base, "reject_reason": reason, "reject_note": why[:1000],
                  "flags": ",".join(sorted({*case.flag_list, "provider_red"}))}
        if state is KycState.APPROVED:
            transition(session, case, "revoke", actor=ACTOR, reason=why,
                       also={**fields, "decided_at": now, "decided_by": ACTOR})
        elif get_settings().kyc_four_eyes and _allowed(case, "propose_rejection"):
            transition(session, case, "propose_rejection", actor=ACTOR, reason=why,
                       also={**fields, "rejection_proposed_by": None, "rejection_proposed_by_email": "Sumsub",
                             "queued_at": now})
            return WebhookResult("applied", "rejection proposed: waits for a reviewer")
        elif _allowed(case, "reject"):
            transition(session, case, "reject", actor=ACTOR, reason=why,
                       also={**fields, "decided_at": now, "decided_by": ACTOR})
        else:
            return _keep(session, case, ms, f"RED not applied to a {state.value} case")
    else:
        return WebhookResult("ignored", f"review answer {answer or '(none)'}")
    queue_decision_email(session, case)
    emit(session, "kyc.decided", {"case_id": case.id, "state": case.state.value}, entity=("kyc_case", case.id))
    return WebhookResult("applied", case.state.value)


def _allowed(case: KycCase, trigger: str) -> bool:
    from backend.workflow.machines import KYC

    return KYC.allowed(case.state, trigger)


def _keep(session: Session, case: KycCase, ms: int, why: str) -> WebhookResult:
    """Remember how far the provider's answers go, without changing the case."""
    if ms > case.provider_reviewed_ms:
        case.provider_reviewed_ms = ms
        session.add(case)
    return WebhookResult("ignored", why)
