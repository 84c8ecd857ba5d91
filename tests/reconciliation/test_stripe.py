"""Reconciliation against Stripe's real client and a fake Stripe on 127.0.0.1 (tests/payments/stripe_api): charges
are read from the balance transactions with each charge expanded, in the charge's own currency."""

from __future__ import annotations

from backend.payments.stripe_provider import StripeProvider
from backend.reconciliation.models import ExceptionKind, RunStatus, RunTrigger
from backend.reconciliation.service import run_reconciliation
from tests.payments.stripe_api import StripeLedger, serve


def test_stripe_charges_without_an_order_are_orphans_in_their_own_currency() -> None:
    ledger = StripeLedger()
    ledger.charge(4200, "usd", "pi_test_nobody")
    ledger.charge(1000, "eur", None)  # the balance transaction says 900 in USD; the charge is EUR 10.00
    with serve(default=ledger.answer) as api:
        provider = StripeProvider.from_settings(api_key="sk_test_reconcile", api_base=api.url, timeout_s=5.0)
        summary = run_reconciliation(trigger=RunTrigger.CLI, provider=provider)
    assert summary.status is RunStatus.EXCEPTIONS and summary.provider == "stripe"
    assert sorted((f.kind, f.details["amount_minor"], f.details["currency"]) for f in summary.findings) == [
        (ExceptionKind.ORPHAN_CHARGE, 1000, "EUR"), (ExceptionKind.ORPHAN_CHARGE, 4200, "USD")]
    totals = summary.by_currency()
    assert (totals["USD"].money_in_minor, totals["EUR"].money_in_minor) == (4200, 1000)
    assert totals["USD"].orders_paid_minor == 0  # nothing of ours: the totals do not tie, as they should not
    listed = [s for s in api.seen if s.path == "/v1/balance_transactions"]
    assert listed and listed[0].form.get("expand[0]") == "data.source"
