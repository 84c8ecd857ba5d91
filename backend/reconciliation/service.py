"""The reconciliation run: ties the payment provider's charges and refunds, our orders, and the chain (mint logs,
receipts, totalSupply, ownerOf) together. Each paid order since the window's start is exactly one of minted (its
tokens on chain, to its address), refunded (the provider's refunds equal what was paid) or in flight (with its age);
anything else, and any money or token no order accounts for, is an exception with a reason. Runs, their totals and
exceptions are stored; exceptions raise a Sentry alert and an error-log entry.

`run_reconciliation` is what the reconciler daemon and `python -m backend reconcile` call; `reconcile_now` and
`latest_report` serve the admin Reconciliation page (platform admins: everything; brand admins: their brand)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlmodel import Session

from backend.auth.acl import Actor, Permission
from backend.campaigns.models import Campaign
from backend.chain.models import ChainTransaction, ContractDeployment, MintRequest
from backend.db import session_scope, utcnow
from backend.errors import Forbidden, NotAuthenticated, NotFound, ValidationFailed
from backend.money import money_text
from backend.monitoring.errors import record_error
from backend.monitoring.scrub import scrub_text
from backend.orders.minting import mint_key
from backend.orders.models import Order
from backend.payments.factory import get_provider
from backend.payments.models import PaymentRefund, RefundStatus
from backend.payments.provider import ChargeRecord, PaymentProvider
from backend.reconciliation.models import (
    ExceptionKind,
    ReconciliationException,
    ReconciliationRun,
    ReconciliationTotal,
    RunStatus,
    RunTrigger,
)
from backend.settings import get_settings
from backend.workflow.machines import ContractState, OrderState

log = logging.getLogger(__name__)

ALERT_SOURCE = "reconciliation"
# Charges are read from a little before the window's start: a charge is created just before its order is paid.
CHARGE_MARGIN = timedelta(days=1)
REFUNDS_IN_FLIGHT = (RefundStatus.PENDING, RefundStatus.SUBMITTING, RefundStatus.SUBMITTED)


class ReconciliationAlert(Exception):
    """What Sentry and the error log receive when a run finds exceptions (one per brand and kind)."""


# -- the facts of one paid order -----------------------------------------------------------------------------------

@dataclass
class OrderFacts:
    id: int
    public_id: str
    brand_id: int
    campaign_id: int
    state: OrderState
    wallet: str  # lower case
    quantity: int
    currency: str
    amount_minor: int
    paid_minor: int
    refunded_minor: int  # what our order says
    paid_at: datetime
    payment_intent: str | None
    claimed: set[int] = field(default_factory=set)  # token ids our rows say were minted for it
    tx_hashes: list[str] = field(default_factory=list)  # its mint transaction (every signed attempt)
    refund_in_flight: bool = False
    charged: int = 0  # the provider's charges for its payment intent
    charge_currencies: set[str] = field(default_factory=set)
    refunded: int = 0  # the provider's succeeded refunds
    provider_refund_pending: bool = False
    on_chain: set[int] = field(default_factory=set)  # claimed tokens the chain shows minted to its wallet
    elsewhere: set[int] = field(default_factory=set)  # claimed tokens the chain shows minted to another address
    extra: set[int] = field(default_factory=set)  # tokens minted to its wallet that nothing else accounts for
    receipt_problem: str = ""


@dataclass(frozen=True)
class Finding:
    kind: ExceptionKind
    reason: str
    brand_id: int | None
    campaign_id: int | None = None
    order_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Totals:
    money_in_minor: int = 0
    refunded_minor: int = 0
    orders_paid_minor: int = 0
    orders_refunded_minor: int = 0
    orders_paid: int = 0
    orders_minted: int = 0
    orders_refunded: int = 0
    orders_in_flight: int = 0
    oldest_in_flight_s: int | None = None
    tokens_sold: int = 0
    tokens_minted: int = 0
    tokens_on_chain: int = 0
    collections_supply: int = 0

    @property
    def net_minor(self) -> int:
        return self.money_in_minor - self.refunded_minor

    def add(self, other: Totals) -> None:
        for name in ("money_in_minor", "refunded_minor", "orders_paid_minor", "orders_refunded_minor", "orders_paid",
                     "orders_minted", "orders_refunded", "orders_in_flight", "tokens_sold", "tokens_minted",
                     "tokens_on_chain", "collections_supply"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.oldest_in_flight_s is not None:
            self.oldest_in_flight_s = max(self.oldest_in_flight_s or 0, other.oldest_in_flight_s)


@dataclass(frozen=True)
class InFlight:
    order_id: int
    brand_id: int
    age_s: int
    why: str


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    status: RunStatus
    since: datetime
    brand_id: int | None
    provider: str
    orders_checked: int
    minted: int
    refunded: int
    in_flight: list[InFlight]
    findings: list[Finding]
    totals: dict[tuple[int | None, str], Totals]
    error: str = ""

    def by_currency(self) -> dict[str, Totals]:
        out: dict[str, Totals] = {}
        for (_brand, currency), totals in sorted(self.totals.items(), key=lambda kv: (kv[0][1], kv[0][0] or 0)):
            out.setdefault(currency, Totals()).add(totals)
        return out


# -- the run -------------------------------------------------------------------------------------------------------

def default_since(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=get_settings().reconcile_lookback_days)


def start_run(*, trigger: RunTrigger, since: datetime | None = None, brand_id: int | None = None,
              requested_by: int | None = None, provider_name: str = "") -> int:
    """Record a new run (status running) and return its id; `run_reconciliation(run_id=...)` then does the work."""
    since = since or default_since()
    if since > utcnow():
        raise ValidationFailed("The start of the window is in the future.")
    with session_scope() as session:
        run = ReconciliationRun(trigger=trigger, brand_id=brand_id, requested_by=requested_by, since=since,
                                provider=provider_name, stage="starting")
        session.add(run)
        session.flush()
        return int(run.id)  # type: ignore[arg-type]


def run_reconciliation(*, trigger: RunTrigger = RunTrigger.CLI, since: datetime | None = None,
                       brand_id: int | None = None, requested_by: int | None = None,
                       provider: PaymentProvider | None = None, run_id: int | None = None) -> RunSummary:
    """Reconcile paid orders since `since` (default: RECONCILE_LOOKBACK_DAYS ago), for one brand or all. The run is
    stored whatever happens; a failure (provider or chain unreachable) marks it failed, is logged, and is raised."""
    provider = provider or get_provider()
    if run_id is None:
        run_id = start_run(trigger=trigger, since=since, brand_id=brand_id, requested_by=requested_by,
                           provider_name=provider.name)
    with session_scope() as session:
        run = session.get(ReconciliationRun, run_id)
        if run is None:
            raise NotFound(f"No reconciliation run {run_id}.")
        since, brand_id = run.since, run.brand_id
        run.provider = provider.name
    try:
        summary = _reconcile(run_id, since, brand_id, provider)
    except Exception as exc:
        message = scrub_text(f"{type(exc).__name__}: {exc}")[:1000]
        with session_scope() as session:
            session.execute(update(ReconciliationRun).where(ReconciliationRun.id == run_id).values(  # type: ignore[arg-type]
                status=RunStatus.FAILED, error=message, stage="", finished_at=utcnow()))
        record_error(ALERT_SOURCE, exc, {"run_id": run_id, **({"brand_id": brand_id} if brand_id else {})})
        raise
    _alert(summary)
    return summary


def _stage(run_id: int, stage: str) -> None:
    with session_scope() as session:
        session.execute(update(ReconciliationRun).where(ReconciliationRun.id == run_id)  # type: ignore[arg-type]
                        .values(stage=stage[:80]))


def _reconcile(run_id: int, since: datetime, brand_id: int | None, provider: PaymentProvider) -> RunSummary:
    now = utcnow()
    grace = timedelta(hours=get_settings().reconcile_mint_grace_h)

    _stage(run_id, "reading the payment provider")
    charges = [c for c in provider.list_charges(since - CHARGE_MARGIN)]
    refunds = [r for r in provider.list_refunds(since - CHARGE_MARGIN)]

    _stage(run_id, "reading orders")
    with session_scope() as session:
        orders = _paid_orders(session, since, brand_id)
        owner_of_intent = _orders_by_intent(session, {c.payment_intent for c in charges if c.payment_intent})
        campaigns = _campaigns(session, brand_id)
        accounted = _accounted_tokens(session, [c["id"] for c in campaigns.values()])
        wallets = _paid_wallets(session, list(campaigns))
        metadata_orders = _orders_by_id(session, {_int(c.metadata.get("order_id")) for c in charges} - {None})

    by_intent: dict[str, list[OrderFacts]] = defaultdict(list)
    for order in orders.values():
        if order.payment_intent:
            by_intent[order.payment_intent].append(order)
    for charge in charges:
        for order in by_intent.get(charge.payment_intent or "", []):
            order.charged += charge.amount
            order.charge_currencies.add(charge.currency)
    for refund in refunds:
        for order in by_intent.get(refund.payment_intent or "", []):
            if refund.status == "succeeded":
                order.refunded += refund.amount
            elif refund.status in ("pending", "requires_action"):
                order.provider_refund_pending = True

    findings: list[Finding] = []
    totals: dict[tuple[int | None, str], Totals] = defaultdict(Totals)
    findings += _orphan_charges(charges, owner_of_intent, metadata_orders, since, brand_id, totals)
    findings += _read_chain(run_id, orders, campaigns, accounted, wallets, since, totals)

    _stage(run_id, "classifying orders")
    in_flight: list[InFlight] = []
    minted = refunded = 0
    for order in sorted(orders.values(), key=lambda o: o.id):
        t = totals[(order.brand_id, order.currency)]
        t.money_in_minor += order.charged
        t.refunded_minor += order.refunded
        t.orders_paid_minor += order.paid_minor
        t.orders_refunded_minor += order.refunded_minor
        t.orders_paid += 1
        t.tokens_minted += len(order.claimed)
        t.tokens_on_chain += len(order.on_chain | order.elsewhere | order.extra)
        outcome = _classify(order, now, grace)
        if isinstance(outcome, Finding):
            findings.append(outcome)
            t.tokens_sold += order.quantity
        elif outcome == "minted":
            minted += 1
            t.orders_minted += 1
            t.tokens_sold += order.quantity
        elif outcome == "refunded":
            refunded += 1
            t.orders_refunded += 1
        else:
            age = int((now - order.paid_at).total_seconds())
            in_flight.append(InFlight(order.id, order.brand_id, age, outcome))
            t.orders_in_flight += 1
            t.tokens_sold += order.quantity
            t.oldest_in_flight_s = max(t.oldest_in_flight_s or 0, age)

    _stage(run_id, "saving the report")
    status = RunStatus.EXCEPTIONS if findings else RunStatus.CLEAN
    with session_scope() as session:
        for (brand, currency), t in totals.items():
            session.add(ReconciliationTotal(
                run_id=run_id, brand_id=brand, currency=currency, money_in_minor=t.money_in_minor,
                refunded_minor=t.refunded_minor, net_minor=t.net_minor, orders_paid_minor=t.orders_paid_minor,
                orders_refunded_minor=t.orders_refunded_minor, orders_paid=t.orders_paid,
                orders_minted=t.orders_minted, orders_refunded=t.orders_refunded, orders_in_flight=t.orders_in_flight,
                oldest_in_flight_s=t.oldest_in_flight_s, tokens_sold=t.tokens_sold, tokens_minted=t.tokens_minted,
                tokens_on_chain=t.tokens_on_chain, collections_supply=t.collections_supply))
        for f in findings:
            session.add(ReconciliationException(
                run_id=run_id, brand_id=f.brand_id, campaign_id=f.campaign_id, order_id=f.order_id, kind=f.kind,
                reason=f.reason[:500], details=f.details))
        session.execute(update(ReconciliationRun).where(ReconciliationRun.id == run_id).values(  # type: ignore[arg-type]
            status=status, stage="", orders_checked=len(orders), exception_count=len(findings),
            finished_at=utcnow()))
    return RunSummary(run_id, status, since, brand_id, provider.name, len(orders), minted, refunded, in_flight,
                      findings, dict(totals))


def _int(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None


# -- reading our rows ----------------------------------------------------------------------------------------------

def _paid_orders(session: Session, since: datetime, brand_id: int | None) -> dict[int, OrderFacts]:
    where = [Order.paid_at.is_not(None), Order.paid_at >= since]  # type: ignore[union-attr, operator]
    if brand_id is not None:
        where.append(Order.brand_id == brand_id)
    orders: dict[int, OrderFacts] = {}
    for o in session.execute(select(Order).where(*where).order_by(Order.id)).scalars():  # type: ignore[arg-type]
        orders[o.id] = OrderFacts(  # type: ignore[index]
            id=o.id, public_id=o.public_id, brand_id=o.brand_id, campaign_id=o.campaign_id,  # type: ignore[arg-type]
            state=o.state, wallet=o.wallet_address.lower(), quantity=o.quantity, currency=o.currency,
            amount_minor=o.amount_minor,
            paid_minor=o.paid_amount_minor if o.paid_amount_minor is not None else o.amount_minor,
            refunded_minor=o.refunded_minor, paid_at=o.paid_at, payment_intent=o.payment_intent_id,  # type: ignore[arg-type]
            claimed={int(t) for t in o.token_ids or []})
    if not orders:
        return orders
    ids = list(orders)
    for chunk in _chunks(ids):
        keys = {mint_key(i): i for i in chunk}
        rows = session.execute(
            select(MintRequest.key, MintRequest.token_ids, ChainTransaction.tx_hash, ChainTransaction.mined_hash)
            .join(ChainTransaction, ChainTransaction.id == MintRequest.tx_id, isouter=True)
            .where(MintRequest.key.in_(list(keys)))).all()  # type: ignore[attr-defined]
        for key, token_ids, tx_hash, mined_hash in rows:
            order = orders[keys[key]]
            order.claimed |= {int(t) for t in token_ids or []}
            order.tx_hashes = [h.lower() for h in dict.fromkeys([mined_hash, tx_hash]) if h]
        pending = session.execute(select(PaymentRefund.order_id).where(
            PaymentRefund.order_id.in_(chunk), PaymentRefund.status.in_(REFUNDS_IN_FLIGHT))).scalars()  # type: ignore[union-attr, attr-defined]
        for order_id in pending:
            orders[order_id].refund_in_flight = True  # type: ignore[index]
    return orders


def _chunks(items: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _orders_by_intent(session: Session, intents: set[str]) -> dict[str, tuple[int, int]]:
    """{payment intent: (order id, brand id)} of every order (of any age) paid by one of `intents`."""
    out: dict[str, tuple[int, int]] = {}
    for chunk in _chunks(sorted(intents)):
        for intent, order_id, brand_id in session.execute(
                select(Order.payment_intent_id, Order.id, Order.brand_id)
                .where(Order.payment_intent_id.in_(chunk))):  # type: ignore[union-attr]
            out[intent] = (order_id, brand_id)
    return out


def _orders_by_id(session: Session, ids: set[int | None]) -> dict[int, tuple[int, str]]:
    """{order id: (brand id, public id)} of the orders named by charges' metadata."""
    wanted = sorted(i for i in ids if i is not None)
    out: dict[int, tuple[int, str]] = {}
    for chunk in _chunks(wanted):
        for order_id, brand_id, public_id in session.execute(
                select(Order.id, Order.brand_id, Order.public_id).where(Order.id.in_(chunk))):  # type: ignore[union-attr]
            out[order_id] = (brand_id, public_id)
    return out


def _campaigns(session: Session, brand_id: int | None) -> dict[int, dict[str, Any]]:
    """The deployed collections in scope: {campaign id: {id, brand_id, currency, chain, address, deploy_block}}."""
    stmt = (select(Campaign.id, Campaign.brand_id, Campaign.currency, ContractDeployment.chain,
                   ContractDeployment.contract_address.label("address"),  # type: ignore[union-attr]
                   ContractDeployment.deploy_block)
            .join(ContractDeployment, ContractDeployment.campaign_id == Campaign.id)
            .where(ContractDeployment.state == ContractState.DEPLOYED,
                   ContractDeployment.contract_address.is_not(None)))  # type: ignore[union-attr]
    if brand_id is not None:
        stmt = stmt.where(Campaign.brand_id == brand_id)
    return {row.id: dict(row._mapping) for row in session.execute(stmt)}


def _accounted_tokens(session: Session, campaign_ids: list[int]) -> dict[int, dict[int, str]]:
    """{campaign: {token id: recipient}} of every token a mint request of ours says it minted (orders, rewards)."""
    out: dict[int, dict[int, str]] = defaultdict(dict)
    for chunk in _chunks(campaign_ids):
        for campaign_id, to, token_ids in session.execute(
                select(MintRequest.campaign_id, MintRequest.to_address, MintRequest.token_ids)
                .where(MintRequest.campaign_id.in_(chunk))):  # type: ignore[attr-defined]
            for token_id in token_ids or []:
                out[campaign_id][int(token_id)] = to.lower()
        for campaign_id, wallet, token_ids in session.execute(
                select(Order.campaign_id, Order.wallet_address, Order.token_ids)
                .where(Order.campaign_id.in_(chunk), Order.paid_at.is_not(None))):  # type: ignore[attr-defined, union-attr]
            for token_id in token_ids or []:
                out[campaign_id].setdefault(int(token_id), wallet.lower())
    return out


def _paid_wallets(session: Session, campaign_ids: list[int]) -> dict[tuple[int, str], list[int]]:
    """{(campaign, wallet): the paid orders of that wallet in that campaign, oldest first}."""
    out: dict[tuple[int, str], list[int]] = defaultdict(list)
    for chunk in _chunks(campaign_ids):
        for order_id, campaign_id, wallet in session.execute(
                select(Order.id, Order.campaign_id, Order.wallet_address)
                .where(Order.campaign_id.in_(chunk), Order.paid_at.is_not(None)).order_by(Order.id)):  # type: ignore[attr-defined, union-attr, arg-type]
            out[(campaign_id, wallet.lower())].append(order_id)
    return out


# -- money no order accounts for -----------------------------------------------------------------------------------

def _orphan_charges(charges: list[ChargeRecord], owner_of_intent: dict[str, tuple[int, int]],
                    metadata_orders: dict[int, tuple[int, str]], since: datetime, brand_id: int | None,
                    totals: dict[tuple[int | None, str], Totals]) -> list[Finding]:
    findings = []
    for charge in charges:
        if charge.created < since or (charge.payment_intent and charge.payment_intent in owner_of_intent):
            continue
        # A charge is the named order's brand's only if it also carries that order's public id: any integration on
        # the account (or another Primsell environment) may put an `order_id` in its metadata.
        named = _int(charge.metadata.get("order_id"))
        brand, public_id = metadata_orders.get(named, (None, None)) if named is not None else (None, None)
        if public_id is None or charge.metadata.get("order_public_id") != public_id:
            brand = None
        if brand_id is not None and brand != brand_id:
            continue  # not this brand's to see: it shows in the platform's runs
        if brand is not None:
            reason = (f"Charge {charge.id} ({_money(charge.amount, charge.currency)}) names order {named}, "
                      "which is not recorded as paid by it.")
        else:
            reason = f"Charge {charge.id} ({_money(charge.amount, charge.currency)}) has no order."
        totals[(brand, charge.currency)].money_in_minor += charge.amount
        findings.append(Finding(ExceptionKind.ORPHAN_CHARGE, reason, brand, order_id=named if brand else None,
                                details={"charge_id": charge.id, "payment_intent": charge.payment_intent,
                                         "amount_minor": charge.amount, "currency": charge.currency}))
    return findings


def _money(amount: int, currency: str) -> str:
    return money_text(amount, currency.upper())


# -- the chain -----------------------------------------------------------------------------------------------------

def _read_chain(run_id: int, orders: dict[int, OrderFacts], campaigns: dict[int, dict[str, Any]],
                accounted: dict[int, dict[int, str]], wallets: dict[tuple[int, str], list[int]], since: datetime,
                totals: dict[tuple[int | None, str], Totals]) -> list[Finding]:
    """Read every collection in scope from its deploy block; attribute each mint to an order (its token ids, checked
    against its transaction's receipt and ownerOf), to a wallet that paid, or to nobody (an orphan transfer)."""
    from backend.chain.client import get_web3
    from backend.chain.reader import ChainReader
    from backend.reconciliation.chain import block_times, existing_tokens, read_collection, receipt_mints

    findings: list[Finding] = []
    by_campaign: dict[int, list[OrderFacts]] = defaultdict(list)
    for order in orders.values():
        by_campaign[order.campaign_id].append(order)
    block_range = get_settings().indexer_block_range
    readers: dict[str, tuple[ChainReader, int]] = {}
    for campaign_id, c in sorted(campaigns.items()):
        _stage(run_id, f"reading the chain: campaign {campaign_id}")
        if c["chain"] not in readers:
            reader = ChainReader(get_web3(c["chain"]))
            readers[c["chain"]] = (reader, reader.block_number())
        reader, head = readers[c["chain"]]
        collection = read_collection(reader, c["address"], c["deploy_block"] or 0, head, block_range)
        totals[(c["brand_id"], c["currency"])].collections_supply += collection.total_supply or 0
        expected_supply = len(collection.mints) - collection.burns
        if collection.total_supply != expected_supply:
            findings.append(Finding(
                ExceptionKind.SUPPLY_MISMATCH,
                f"totalSupply is {collection.total_supply} but the Transfer logs show {len(collection.mints)} mints "
                f"and {collection.burns} burns.", c["brand_id"], campaign_id,
                details={"collection": c["address"], "total_supply": collection.total_supply,
                         "mints": len(collection.mints), "burns": collection.burns}))
        mine = by_campaign.get(campaign_id, [])
        exists = existing_tokens(reader, c["address"], [t for o in mine for t in o.claimed], head)
        receipts: dict[str, Any] = {}
        for order in mine:
            verified = set(order.claimed)
            if order.claimed and order.tx_hashes:
                found = [receipts.setdefault(h, receipt_mints(reader, h, c["address"])) for h in order.tx_hashes]
                good = [r for r in found if r.status == 1]
                if not good:
                    states = ", ".join("not found" if r.status is None else "reverted" for r in found)
                    order.receipt_problem = f"its mint transaction's receipt is {states}"
                verified = {t for t in verified if any(t in r.mints for r in good)}
            for token_id in verified & exists:
                mint = collection.mints.get(token_id)
                if mint is None:
                    continue
                (order.on_chain if mint.to == order.wallet else order.elsewhere).add(token_id)
        known = accounted.get(campaign_id, {})
        unexplained = [m for t, m in sorted(collection.mints.items()) if t not in known]
        paying = [m for m in unexplained if any(i in orders for i in wallets.get((campaign_id, m.to), []))]
        times = block_times(reader, [m.block for m in paying]) if paying else {}
        skew = get_settings().reconcile_clock_skew_s
        orphans: list[Any] = []
        for mint in unexplained:
            # A mint to a wallet that paid, made after the payment: that wallet's order still short of tokens (a mint
            # not recorded yet), else its first order (minted twice). Never an order being or been refunded (it is
            # owed no token), never an order paid after the mint (the token was not its). Else an orphan.
            at = times.get(mint.block)
            candidates = [o for i in wallets.get((campaign_id, mint.to), []) if (o := orders.get(i)) is not None
                          and at is not None and at >= int(o.paid_at.timestamp()) - skew
                          and not _refunding(o)]
            if candidates:
                short = [o for o in candidates if len(o.on_chain | o.extra) < o.quantity]
                (short or candidates)[0].extra.add(mint.token_id)
            else:
                orphans.append(mint)
        missing = [m.block for m in orphans if m.block not in times]
        times |= block_times(reader, missing) if missing else {}
        for mint in orphans:
            at = times.get(mint.block)
            if at is not None and at < since.timestamp():
                continue  # before the window: an earlier run reported it
            findings.append(Finding(
                ExceptionKind.ORPHAN_TRANSFER,
                f"Token {mint.token_id} was minted to {mint.to} in {mint.tx_hash} and no order accounts for it.",
                c["brand_id"], campaign_id,
                details={"collection": c["address"], "token_id": mint.token_id, "to": mint.to,
                         "tx_hash": mint.tx_hash, "block": mint.block}))
    return findings


def _refunding(o: OrderFacts) -> bool:
    """Refunded, or being refunded, by our rows or by the provider."""
    return (o.refunded > 0 or o.refunded_minor > 0 or o.refund_in_flight or o.provider_refund_pending
            or o.state in (OrderState.REFUND_PENDING, OrderState.REFUNDED))


# -- one order, one outcome ----------------------------------------------------------------------------------------

def _classify(o: OrderFacts, now: datetime, grace: timedelta) -> Finding | str:
    """"minted", "refunded", an in-flight reason, or the Finding that says what is wrong."""
    tokens = len(o.on_chain | o.extra)
    details: dict[str, Any] = {
        "public_id": o.public_id, "quantity": o.quantity, "paid_minor": o.paid_minor, "charged_minor": o.charged,
        "refunded_minor": o.refunded, "currency": o.currency, "tokens_on_chain": sorted(o.on_chain | o.extra),
        "tokens_claimed": sorted(o.claimed), "wallet": o.wallet}

    def finding(kind: ExceptionKind, reason: str) -> Finding:
        return Finding(kind, reason, o.brand_id, o.campaign_id, o.id, details)

    if o.refunded > 0 and tokens > 0:
        return finding(ExceptionKind.REFUNDED_AND_MINTED,
                       f"Refunded {_money(o.refunded, o.currency)} and {tokens} token(s) minted on chain.")
    if tokens > o.quantity:
        extra = f" (token(s) {', '.join(map(str, sorted(o.extra)))} minted outside its mint)" if o.extra else ""
        return finding(ExceptionKind.MINTED_TWICE,
                       f"{tokens} tokens on chain for an order of {o.quantity}{extra}.")
    if o.charged != o.paid_minor or (o.charge_currencies and o.charge_currencies != {o.currency.upper()}):
        said = (f"{_money(o.charged, next(iter(o.charge_currencies)))}" if len(o.charge_currencies) == 1
                else "nothing" if not o.charge_currencies else f"{o.charged} in {sorted(o.charge_currencies)}")
        return finding(ExceptionKind.AMOUNT_MISMATCH,
                       f"The provider charged {said}; the order says {_money(o.paid_minor, o.currency)} was paid.")
    if o.elsewhere:
        return finding(ExceptionKind.WRONG_RECIPIENT,
                       f"Token(s) {', '.join(map(str, sorted(o.elsewhere)))} were minted to another address than "
                       f"{o.wallet}.")
    if tokens == o.quantity and o.refunded == 0:
        return "minted"
    if tokens == 0 and o.charged > 0 and o.refunded == o.charged:
        return "refunded"
    age = now - o.paid_at
    if o.refund_in_flight or o.provider_refund_pending:
        return "refund in flight"
    if o.state is OrderState.DISPUTED:
        return "disputed"
    if age < grace:
        return "mint in flight"
    hours = age.total_seconds() / 3600
    what = f"{tokens} of {o.quantity} token(s) on chain" if tokens else "no token on chain"
    refunded = f", {_money(o.refunded, o.currency)} refunded" if o.refunded else ""
    receipt = f"; {o.receipt_problem}" if o.receipt_problem else ""
    return finding(ExceptionKind.PAID_NOT_MINTED,
                   f"Paid {hours:.1f} h ago, {what}{refunded} (order {o.state.value}){receipt}.")


# -- alerts --------------------------------------------------------------------------------------------------------

def _alert(summary: RunSummary) -> None:
    """One Sentry event and error-log entry per brand and kind (the error log counts repeats across runs)."""
    groups: dict[tuple[int | None, ExceptionKind], int] = defaultdict(int)
    for f in summary.findings:
        groups[(f.brand_id, f.kind)] += 1
    for (brand, kind), count in sorted(groups.items(), key=lambda kv: (kv[0][0] or 0, kv[0][1].value)):
        alert = ReconciliationAlert(f"Reconciliation run {summary.run_id} found {count} {kind.value} exception(s).")
        context: dict[str, Any] = {"run_id": summary.run_id, "kind": kind.value}
        if brand is not None:
            context["brand_id"] = brand
        record_error(ALERT_SOURCE, alert, context)
        log.warning("%s", alert)


# -- the admin page ------------------------------------------------------------------------------------------------

def _scope(actor: Actor | None, brand_id: int | None) -> int | None:
    """None: everything (a platform-wide grant); else the one brand `actor` may reconcile. Another brand is "not
    found"; a person with no such right anywhere is refused."""
    if actor is None:
        raise NotAuthenticated("Sign in to continue.")
    if actor.can(Permission.OPERATIONS_READ):
        return None
    if brand_id is not None and brand_id in actor.brand_ids and actor.can(Permission.OPERATIONS_READ, brand_id):
        return brand_id
    if any(actor.can(Permission.OPERATIONS_READ, b) for b in actor.brand_ids):
        raise NotFound("This brand does not exist.")
    raise Forbidden("You do not have permission to do that.")


def can_reconcile(actor: Actor) -> bool:
    return actor.can(Permission.OPERATIONS_READ) or any(
        actor.can(Permission.OPERATIONS_READ, b) for b in actor.brand_ids)


# A run still "running" after this long was abandoned (its process died): it no longer blocks a new one.
RUN_STALE_AFTER = timedelta(hours=1)


def reconcile_now(actor: Actor | None, brand_id: int | None = None) -> tuple[int, bool]:
    """"Run now": records a run (platform-wide for a platform admin, else the actor's brand) and returns (its id,
    True); the caller then runs `run_reconciliation(run_id=...)` outside its request. When a run of the same scope is
    going on already, returns (that run's id, False): follow it rather than start a second one."""
    scope = _scope(actor, brand_id)
    with session_scope() as session:
        running = session.execute(select(ReconciliationRun.id).where(
            ReconciliationRun.status == RunStatus.RUNNING, ReconciliationRun.started_at >= utcnow() - RUN_STALE_AFTER,
            ReconciliationRun.brand_id.is_(None) if scope is None  # type: ignore[union-attr]
            else ReconciliationRun.brand_id == scope)).scalars().first()
    if running is not None:
        return int(running), False
    return start_run(trigger=RunTrigger.MANUAL, brand_id=scope, requested_by=actor.user_id,  # type: ignore[union-attr]
                     provider_name=get_provider().name), True


@dataclass(frozen=True)
class RunView:
    id: int
    status: str
    stage: str
    trigger: str
    scope: str  # "all brands" or the brand's name
    since: datetime
    started_at: datetime
    finished_at: datetime | None
    provider: str
    orders_checked: int
    error: str


@dataclass(frozen=True)
class ExceptionView:
    id: int
    kind: str
    reason: str
    order_id: int | None
    campaign_id: int | None
    brand_id: int | None


@dataclass(frozen=True)
class Report:
    run: RunView | None  # the last finished run (None: never reconciled)
    running: RunView | None  # a run going on now
    totals: dict[str, Totals]  # by currency
    exceptions: list[ExceptionView]
    exceptions_total: int


PLATFORM_RUN_FAILED = "The platform-wide run failed; a platform admin can see why."


def _run_view(session: Session, run: ReconciliationRun, viewer: int | None) -> RunView:
    """The run as `viewer` (a brand, or None for the platform) may see it. A brand looking at a platform-wide run sees
    its own orders checked, the stage without the campaign it names, and that the run failed but not the error: the
    platform-wide figures, other brands' campaign ids and the failure's details are not theirs."""
    from backend.brands.models import Brand

    scope = "all brands"
    if run.brand_id is not None:
        brand = session.get(Brand, run.brand_id)
        scope = brand.name if brand else f"brand {run.brand_id}"
    stage, orders_checked, error = run.stage, run.orders_checked, run.error
    if viewer is not None and run.brand_id is None:
        stage = stage.partition(":")[0]
        orders_checked = int(session.execute(select(func.coalesce(func.sum(ReconciliationTotal.orders_paid), 0)).where(
            ReconciliationTotal.run_id == run.id, ReconciliationTotal.brand_id == viewer)).scalar_one())
        error = PLATFORM_RUN_FAILED if error else ""
    return RunView(run.id or 0, run.status.value, stage, run.trigger.value, scope, run.since, run.started_at,
                   run.finished_at, run.provider, orders_checked, error)


def run_view(actor: Actor | None, run_id: int, brand_id: int | None = None) -> RunView:
    scope = _scope(actor, brand_id)
    with session_scope() as session:
        run = session.get(ReconciliationRun, run_id)
        if run is None or (scope is not None and run.brand_id not in (None, scope)):
            raise NotFound("This reconciliation run does not exist.")
        return _run_view(session, run, scope)


def latest_report(actor: Actor | None, brand_id: int | None = None, *, limit: int = 50,
                  offset: int = 0) -> Report:
    """The last finished run that covered the actor's scope, its totals and exceptions (only the brand's own for a
    brand admin, and of a platform-wide run only the brand's part: see `_run_view`), and any run going on now."""
    scope = _scope(actor, brand_id)
    covers = [] if scope is None else [or_(ReconciliationRun.brand_id.is_(None),  # type: ignore[union-attr]
                                           ReconciliationRun.brand_id == scope)]
    mine = [] if scope is None else [ReconciliationException.brand_id == scope]
    with session_scope() as session:
        last = session.execute(select(ReconciliationRun).where(
            ReconciliationRun.status != RunStatus.RUNNING, *covers)
            .order_by(ReconciliationRun.started_at.desc(), ReconciliationRun.id.desc())).scalars().first()  # type: ignore[union-attr, attr-defined]
        running = session.execute(select(ReconciliationRun).where(
            ReconciliationRun.status == RunStatus.RUNNING,
            ReconciliationRun.started_at >= utcnow() - RUN_STALE_AFTER, *covers)
            .order_by(ReconciliationRun.id.desc())).scalars().first()  # type: ignore[union-attr]
        totals: dict[str, Totals] = {}
        exceptions: list[ExceptionView] = []
        count = 0
        if last is not None:
            rows = session.execute(select(ReconciliationTotal).where(
                ReconciliationTotal.run_id == last.id,
                *([] if scope is None else [ReconciliationTotal.brand_id == scope]))).scalars()
            for row in rows:
                t = totals.setdefault(row.currency, Totals())
                t.add(Totals(row.money_in_minor, row.refunded_minor, row.orders_paid_minor, row.orders_refunded_minor,
                             row.orders_paid, row.orders_minted, row.orders_refunded, row.orders_in_flight,
                             row.oldest_in_flight_s, row.tokens_sold, row.tokens_minted, row.tokens_on_chain,
                             row.collections_supply))
            where = [ReconciliationException.run_id == last.id, *mine]
            exceptions = [ExceptionView(e.id or 0, e.kind.value, e.reason, e.order_id, e.campaign_id, e.brand_id)
                          for e in session.execute(select(ReconciliationException).where(*where)
                                                   .order_by(ReconciliationException.id)
                                                   .limit(max(1, min(limit, 200))).offset(max(0, offset))).scalars()]
            count = int(session.execute(select(func.count()).select_from(ReconciliationException)
                                        .where(*where)).scalar_one())
        return Report(_run_view(session, last, scope) if last else None,
                      _run_view(session, running, scope) if running else None,
                      dict(sorted(totals.items())), exceptions, count)

