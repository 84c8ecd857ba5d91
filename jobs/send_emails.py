"""email_sender: deliver queued email (receipts, account links) to the SMTP server, or keep it in the local
mailbox when none is configured."""

from __future__ import annotations

from backend.notifications.service import send_due
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    return send_due()
