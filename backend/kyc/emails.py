"""What the consumer receives by email about their identity check: one message per decision (approved, changes
requested, rejected), queued in the decision's transaction and delivered by the email_sender daemon. Internal
notes never go out; the rejection says its reason in plain words."""

from __future__ import annotations

from sqlmodel import Session

from backend.kyc.models import KycCase
from backend.notifications.service import queue_email
from backend.urls import KYC_VERIFY, absolute
from backend.workflow.machines import KycState

REJECT_REASONS: dict[str, str] = {
    "document_unreadable": "The document could not be read.",
    "document_expired": "The document has expired.",
    "document_not_accepted": "This kind of document is not accepted.",
    "suspected_forgery": "The document appears to be altered or not genuine.",
    "selfie_mismatch": "The selfie does not match the document.",
    "data_mismatch": "The details you gave do not match the document.",
    "underage": "You must be of legal age to be verified.",
    "sanctioned_jurisdiction": "We cannot serve residents of your country or region.",
    "duplicate_identity": "This identity is already used by another account.",
    "other": "Your identity could not be verified.",
}

# Rejections about the document sent, not the person: a renewal refused for one of these leaves the approval before it.
DOCUMENT_ONLY_REASONS = frozenset({"document_unreadable", "document_expired", "document_not_accepted"})


def reason_text(code: str) -> str:
    return REJECT_REASONS.get(code, REJECT_REASONS["other"])


def _verify_url() -> str:
    return absolute(KYC_VERIFY)


def queue_decision_email(session: Session, case: KycCase) -> bool:
    """The email for the case's current decision (once per case version: a redelivery queues nothing more)."""
    if case.state is KycState.APPROVED:
        until = case.valid_until.strftime("%d %B %Y") if case.valid_until else ""
        subject = "Your identity is verified"
        body = (f"Hello,\n\nYour identity check is approved, valid until {until}. You can now buy, redeem and "
                "withdraw where verification is asked for.\n\nPrimsell")
    elif case.state is KycState.NEEDS_MORE_INFO:
        subject = "Your identity check needs a change"
        body = (f"Hello,\n\nWe need a change before we can verify your identity:\n\n{case.changes_requested}\n\n"
                f"Please update your submission here:\n{_verify_url()}\n\nPrimsell")
    elif case.state is KycState.REJECTED:
        subject = "Your identity check was not approved"
        body = (f"Hello,\n\nWe could not approve your identity check. Reason: {reason_text(case.reject_reason)}\n\n"
                f"You can see its status here:\n{_verify_url()}\n\nPrimsell")
    else:
        return False
    return queue_email(session, key=f"kyc:{case.id}:{case.version}:{case.state.value}", kind="kyc_decision",
                       to=case.email, subject=subject, body=body, user_id=case.user_id)
