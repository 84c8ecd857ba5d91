"""Reconciliation against Stripe's real client and a fake Stripe on 127.0.0.1 (tests/payments/stripe_api): charges
are read from the balance transactions with each charge expanded, in the charge's own currency."""

from __future__ import annotations

from sqlalchemy import delete

from backend.chain.models import ContractDeployment
from backend.db import session_scope
from backend.orders import service
from backend.payments.stripe_provider import StripeProvider
from backend.reconciliation.models import ExceptionKind, RunStatus, RunTrigger
from backend.reconciliation.service import run_reconciliation
from tests.factories import make_brand, make_campaign
from tests.payments.stripe_api import StripeLedger, serve
from tests.payments.support import order_by_public

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


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


def test_a_charge_naming_our_order_id_is_the_brands_only_with_the_orders_public_id() -> None:
    brand = make_brand()
    campaign = make_campaign(brand, supply_cap=10, price_minor=2500)
    started = service.start_checkout(campaign.slug, 1, "buyer@example.com", WALLET, "127.0.0.1")
    order = order_by_public(started.public_id)
    with session_scope() as session:  # its made-up collection (tests.factories) has no chain to read: charges only
        session.execute(delete(ContractDeployment).where(ContractDeployment.campaign_id == campaign.id))
    ledger = StripeLedger()
    # Another integration on the account (or another Primsell environment) numbers its orders too.
    ledger.charge(4200, "usd", "pi_test_someone_else")["metadata"] = {"order_id": str(order.id)}
    with serve(default=ledger.answer) as api:
        provider = StripeProvider.from_settings(api_key="sk_test_reconcile", api_base=api.url, timeout_s=5.0)
        brand_run = run_reconciliation(trigger=RunTrigger.MANUAL, brand_id=brand.id, provider=provider)
        platform_run = run_reconciliation(trigger=RunTrigger.MANUAL, provider=provider)
        assert brand_run.status is RunStatus.CLEAN  # not the brand's money
        [foreign] = platform_run.findings
        assert (foreign.brand_id, foreign.order_id) == (None, None) and "has no order" in foreign.reason
        # Our own charge that no completion recorded carries the order's public id too: it is the brand's.
        ledger.charge(2500, "usd", "pi_test_ours")["metadata"] = {"order_id": str(order.id),
                                                                  "order_public_id": order.public_id}
        brand_run = run_reconciliation(trigger=RunTrigger.MANUAL, brand_id=brand.id, provider=provider)
    [ours] = brand_run.findings
    assert (ours.kind, ours.brand_id, ours.order_id) == (ExceptionKind.ORPHAN_CHARGE, brand.id, order.id)
