"""The errors of the KYC domain; each is a DomainError with a stable code (the API maps them to one body shape)."""

from __future__ import annotations

from backend.errors import Conflict, DomainError, ValidationFailed


class BadDocument(ValidationFailed):
    """An uploaded file is refused (type by content, size, pixels, damage); nothing was stored."""

    code = "bad_document"


class CaseHeld(Conflict):
    """Another reviewer holds the case."""

    code = "kyc_case_held"


class FourEyes(Conflict):
    """Another reviewer must act: a rejection is confirmed by someone other than its proposer, and nobody claims or
    decides their own identity check."""

    code = "kyc_four_eyes"


class KycRequired(DomainError):
    """A gated action (purchase, reward, withdrawal) needs an approved identity check first."""

    code = "kyc_required"
    status = 403

    def __init__(self, message: str, *, purpose: str, status_now: str, verify_path: str) -> None:
        super().__init__(message, fields={"kyc": status_now})
        self.purpose = purpose
        self.status_now = status_now
        self.verify_path = verify_path


class BadSignature(DomainError):
    """A provider webhook or a document link whose signature does not match."""

    code = "bad_signature"
    status = 400
