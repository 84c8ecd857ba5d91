"""Identity documents after upload: short-lived links bound to one reviewer's session, opening a document (every
view written to the case's audit log), and deleting files (withdrawal at once, retention after the decision).

Retention (KYC_DOCUMENT_RETENTION_DAYS, run by the retention cleaner): the raw files of a case go that long after its
decision (approved, rejected, withdrawn), or, for a case left waiting for the person's changes (changes requested,
by a reviewer or the provider's RETRY), that long after it last changed (its updated_at: every transition sets it).
The person may still resubmit such a case with new files. Cases waiting for a reviewer keep theirs. The case, its
data, decisions and audit log stay.

A link is `/api/v1/kyc/documents/{id}?exp=<unix>&sig=<hex>`, where sig is an HMAC (a key derived from
PRIMSELL_SECRET_KEY) of the document id, the reviewer's user id, their sign-in session id and the expiry. The route
serves the file only when the signature matches, it has not expired, and the request is signed in (cookie or
bearer token) as that same session, which must still hold the review permission.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import insert, select, update
from sqlmodel import Session

from backend.auth.acl import Actor, Permission, require
from backend.db import session_scope, utcnow
from backend.errors import NotFound
from backend.kyc.errors import BadSignature
from backend.kyc.models import KycAuditEntry, KycCase, KycDocument, KycSubmission
from backend.kyc.storage import StorageError, get_storage
from backend.settings import get_settings
from backend.workflow.machines import KycState

DOCUMENT_PATH = "/api/v1/kyc/documents"
FINAL_FOR_RETENTION = (KycState.APPROVED, KycState.REJECTED, KycState.WITHDRAWN)
WAITING_FOR_THE_PERSON = KycState.NEEDS_MORE_INFO


def _url_key() -> bytes:
    secret = get_settings().require_secret("secret_key").encode()
    return hmac.new(secret, b"primsell/kyc-document-url/v1", hashlib.sha256).digest()


def _signature(document_id: int, user_id: int, session_id: str, expires: int) -> str:
    message = f"{document_id}.{user_id}.{session_id}.{expires}".encode()
    return hmac.new(_url_key(), message, hashlib.sha256).hexdigest()


def signed_url(actor: Actor, document_id: int, *, now: float | None = None) -> str:
    """A link to one document for this reviewer's session, valid KYC_DOCUMENT_URL_TTL_SECONDS."""
    expires = int((now or time.time()) + get_settings().kyc_document_url_ttl_s)
    sig = _signature(document_id, actor.user_id, actor.session_id or "", expires)
    return f"{DOCUMENT_PATH}/{document_id}?{urlencode({'exp': expires, 'sig': sig})}"


@dataclass(frozen=True)
class OpenedDocument:
    data: bytes
    content_type: str
    filename: str


def audit(session: Session, case_id: int, actor: str, action: str, detail: str = "") -> None:
    session.execute(insert(KycAuditEntry), {"case_id": case_id, "actor": actor[:80], "action": action[:40],
                                            "detail": detail[:500], "created_at": utcnow()})


def renew_claim(session: Session, case_id: int, user_id: int, now: datetime | None = None) -> None:
    """The holder's activity keeps their claim: it lapses KYC_CLAIM_TIMEOUT_SECONDS after the last one."""
    now = now or utcnow()
    session.execute(update(KycCase).where(KycCase.id == case_id, KycCase.claimed_by == user_id)
                    .values(claim_expires_at=now + timedelta(seconds=get_settings().kyc_claim_timeout_s)))


def open_document(actor: Actor | None, document_id: int, expires: int, sig: str) -> OpenedDocument:
    """The decrypted file behind a signed link, for the session it was made for; the view is audited."""
    actor = require(actor, Permission.KYC_REVIEW)
    expected = _signature(document_id, actor.user_id, actor.session_id or "", expires)
    if not hmac.compare_digest(expected, (sig or "").lower()):
        raise BadSignature("This document link is not valid for your session. Reload the case page.")
    if expires < time.time():
        raise BadSignature("This document link has expired. Reload the case page.")
    with session_scope() as session:
        row = session.execute(select(KycDocument, KycSubmission).join(
            KycSubmission, KycSubmission.id == KycDocument.submission_id).where(KycDocument.id == document_id)).first()
        if row is None:
            raise NotFound("Document not found.")
        document, submission = row
        if document.deleted_at is not None:
            raise NotFound("This document was deleted (retention or withdrawal).")
        audit(session, submission.case_id, f"user:{actor.user_id}", "document_viewed",
              f"{actor.email} viewed the {document.kind.value} of submission {submission.number}")
        renew_claim(session, submission.case_id, actor.user_id)
        key, content_type, kind = document.storage_key, document.content_type, document.kind.value
    try:
        data = get_storage().get(key)
    except StorageError as exc:
        raise NotFound(f"This document cannot be opened: {exc}.") from None
    extension = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}.get(content_type, "bin")
    return OpenedDocument(data, content_type, f"{kind}-{document_id}.{extension}")


# -- deleting files -----------------------------------------------------------------------------------------------

def delete_files(session: Session, documents: list[KycDocument], now: datetime) -> int:
    """Delete the files (for real) and mark their rows, in the caller's transaction, after its checks passed.

    Files go first: if the commit then failed, the rows would still say "stored" for files that are gone (a
    reviewer sees "cannot be opened"), never the reverse (a row saying "deleted" while its file remains)."""
    storage = get_storage()
    for document in documents:
        storage.delete(document.storage_key)
    ids = [d.id for d in documents]
    if ids:
        session.execute(update(KycDocument).where(KycDocument.id.in_(ids)).values(deleted_at=now))  # type: ignore[union-attr]
    return len(ids)


def case_documents(session: Session, case_id: int) -> list[KycDocument]:
    return list(session.execute(select(KycDocument).join(KycSubmission, KycSubmission.id == KycDocument.submission_id)
                                .where(KycSubmission.case_id == case_id, KycDocument.deleted_at.is_(None)))  # type: ignore[union-attr]
                .scalars())


def delete_case_documents(session: Session, case: KycCase, actor: str, why: str, now: datetime | None = None) -> int:
    now = now or utcnow()
    deleted = delete_files(session, case_documents(session, case.id), now)  # type: ignore[arg-type]
    session.execute(update(KycCase).where(KycCase.id == case.id).values(documents_deleted_at=now))
    case.documents_deleted_at = now
    audit(session, case.id, actor, "documents_deleted", f"{deleted} file(s) deleted: {why}")  # type: ignore[arg-type]
    return deleted


def purge_decided_documents(session: Session, older_than: timedelta, limit: int, now: datetime | None = None) -> int:
    """Retention (the retention_cleaner): delete the files of cases decided longer ago than `older_than`
    (KYC_DOCUMENT_RETENTION_DAYS). The cases, their data, decisions and audit log stay. Returns cases handled."""
    now = now or utcnow()
    cutoff = now - older_than
    cases = list(session.execute(select(KycCase).where(
        KycCase.documents_deleted_at.is_(None), KycCase.decided_at < cutoff,  # type: ignore[union-attr,operator]
        KycCase.state.in_(FINAL_FOR_RETENTION))  # type: ignore[attr-defined]
        .order_by(KycCase.decided_at).limit(limit)).scalars())
    for case in cases:
        delete_case_documents(session, case, "daemon:retention_cleaner",
                              f"retention: {get_settings().kyc_document_retention_days:g} days after the decision", now)
    return len(cases)


def purge_idle_documents(session: Session, older_than: timedelta, limit: int, now: datetime | None = None) -> int:
    """Retention for cases left in "changes requested": delete their files once nothing has happened to the case for
    `older_than` (KYC_DOCUMENT_RETENTION_DAYS). Returns cases handled."""
    now = now or utcnow()
    cases = list(session.execute(select(KycCase).where(
        KycCase.documents_deleted_at.is_(None), KycCase.state == WAITING_FOR_THE_PERSON,  # type: ignore[union-attr]
        KycCase.updated_at < now - older_than)
        .order_by(KycCase.updated_at).limit(limit)).scalars())
    for case in cases:
        delete_case_documents(session, case, "daemon:retention_cleaner",
                              f"retention: changes requested and nothing sent for "
                              f"{get_settings().kyc_document_retention_days:g} days", now)
    return len(cases)


def purge_staged_uploads(session: Session, older_than: timedelta, limit: int, now: datetime | None = None) -> int:
    """Uploads the web form staged but never submitted: deleted KYC_STAGED_UPLOAD_TTL_SECONDS after upload."""
    cutoff = (now or utcnow()) - older_than
    staged = list(session.execute(select(KycDocument).where(
        KycDocument.submission_id.is_(None), KycDocument.deleted_at.is_(None),  # type: ignore[union-attr]
        KycDocument.created_at < cutoff).order_by(KycDocument.id).limit(limit)).scalars())
    return delete_files(session, staged, now or utcnow())
