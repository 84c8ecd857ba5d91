"""The ACL matrix of the web app's state handlers: any handler can be called over the websocket, whatever the page
shows, so each one that changes stored data is called here by every role, from a tab signed in as that role whose
brand choice was forged to brand A (what a client can send), and must refuse and change nothing unless the table
says the role may.

HANDLERS lists every event handler of every state in primsell.state, found by introspection: a new handler without
an entry fails `test_every_handler_has_an_entry`. The service-level matrix is tests/auth/test_acl_matrix.py;
the API routes have their own in tests/api."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, update
from sqlmodel import select

from backend.auth.acl import Actor, Role
from backend.auth.models import Membership, User
from backend.auth.service import load_actor
from backend.brands.models import Brand
from backend.campaigns.models import Campaign, CampaignStatus
from backend.chain.models import ChainTransaction, ContractDeployment
from backend.db import session_scope
from backend.notifications.service import mailbox
from backend.orders import refunds, service
from backend.orders.models import Order
from backend.payments import sandbox
from backend.payments.models import PaymentRefund, RefundStatus
from backend.rewards.models import RewardRedemption
from backend.workflow.kick import wait_for_kick
from backend.workflow.machines import ContractState
from backend.workflow.models import DeliveryStatus, OutboxDelivery, OutboxEvent
from primsell.state.admin.brand import AdminBrandState
from primsell.state.admin.campaign_chain import AdminCampaignChainState
from primsell.state.admin.campaign_form import AdminCampaignFormState, campaign_values
from primsell.state.admin.campaign_rewards import AdminCampaignRewardsState
from primsell.state.admin.members import AdminMembersState
from primsell.state.admin.operations import AdminOperationsState
from primsell.state.admin.order_detail import AdminOrderDetailState
from primsell.state.admin.reconciliation import AdminReconciliationState
from primsell.state.checkout.account import CheckoutAccountState
from primsell.state.kyc.case import KycCaseState
from primsell.state.redeem.scan import RedeemScanState
from primsell.state.session import SessionState
from primsell.state.table import PagedTableMixin
from tests.factories import PASSWORD, make_brand, make_campaign
from tests.payments.support import emit_mint_event, order_by_public, settle
from tests.state.harness import Tab, all_states, redirects_to_sign_in, web_cookie

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
_seq = itertools.count(1)

ROLES = ("anonymous", "consumer", "brand_staff", "other_brand_admin", "kyc_reviewer", "platform_admin", "brand_admin")
ADMINS = frozenset({"brand_admin", "platform_admin"})  # brand A's own admin, and platform admins
NOBODY: frozenset[str] = frozenset()

# What each handler that changes no stored data does instead (so that it needs no row in the matrix):
READ = "read"  # reads as the current actor (primsell.state.session.current_actor) and shows it
UI = "ui"  # changes only this tab's page state
OWN = "own session"  # signs the caller's own session out
PUBLIC = "public"  # anyone may: sign-in, checkout, emailed links (proved by their token), not role-gated
SELF = "self"  # the signed-in person's own records only (their identity check): nobody else's to reach
KYC = frozenset({"kyc_reviewer", "platform_admin"})


@dataclass(frozen=True)
class Rule:
    """A handler that changes stored data: who may, and (per role) known gaps owned by another part of issue 10."""

    allowed: frozenset[str]
    path: str = "/admin"
    surface: str = "admin"
    known_gaps: dict[str, str] = field(default_factory=dict)


# The one table: every handler of every state.
HANDLERS: dict[str, str | Rule] = {
    "SessionState.to_sign_in": UI, "SessionState.load_session": READ, "SessionState.switch_brand": UI,
    "SessionState.sign_out": OWN,
    "AuthSignInState.reset_form": UI, "AuthSignInState.submit_sign_in": PUBLIC, "AuthSignInState.finish_sign_in": UI,
    "AdminAcceptInviteState.check_token": READ, "AdminAcceptInviteState.accept": PUBLIC,
    "AdminAcceptInviteState.finish_sign_in": UI,
    "AdminBrandState.set_name": UI, "AdminBrandState.set_logo_url": UI, "AdminBrandState.set_primary_color": UI,
    "AdminBrandState.set_accent_color": UI, "AdminBrandState.load_brand": READ,
    "AdminBrandState.save_brand": Rule(ADMINS, "/admin/brand"),
    "AdminMembersState.load_members": READ, "AdminMembersState.load_kyc_team": READ,
    "AdminMembersState.dismiss_sent": UI,
    "AdminMembersState.invite": Rule(ADMINS, "/admin/members"),
    "AdminMembersState.resend": Rule(ADMINS, "/admin/members"),
    "AdminMembersState.change_role": Rule(ADMINS, "/admin/members"),
    "AdminMembersState.remove": Rule(ADMINS, "/admin/members"),
    "AdminDashboardState.load_campaigns": READ, "AdminDashboardState.set_status_filter": READ,
    "AdminCampaignFormState.start_new_campaign": UI, "AdminCampaignFormState.load_campaign": READ,
    "AdminCampaignFormState.submit_campaign": Rule(ADMINS, "/admin/campaigns/1"),
    "AdminCampaignFormState.change_status": Rule(ADMINS, "/admin/campaigns/1"),
    "AdminCampaignFormState.delete_draft": Rule(ADMINS, "/admin/campaigns/1"),
    "AdminCampaignOrdersState.load_dashboard": READ,
    "AdminCampaignChainState.load_contract": READ, "AdminCampaignChainState.stop_polling": UI,
    "AdminCampaignChainState.auto_refresh": READ,
    "AdminCampaignChainState.deploy_contract": Rule(ADMINS, "/admin/campaigns/1"),
    "AdminCampaignChainState.retry_deployment": Rule(ADMINS, "/admin/campaigns/1"),
    "AdminChainState.load_chain": READ, "AdminChainState.load_balances": READ, "AdminChainState.refresh": READ,
    "AdminChainState.set_status_filter": READ, "AdminChainState.set_purpose_filter": READ,
    "AdminOperationsState.load_operations": READ, "AdminOperationsState.refresh": READ,
    "AdminOperationsState.stop_polling": UI, "AdminOperationsState.auto_refresh": READ,
    "AdminOperationsState.retry": Rule(ADMINS, "/admin/operations"),
    "AdminOperationsHistoryState.set_entity_type": UI, "AdminOperationsHistoryState.set_entity_id": UI,
    "AdminOperationsHistoryState.look_up": READ,
    "AdminReconciliationState.load_reconciliation": READ,
    "AdminReconciliationState.run_now": Rule(ADMINS, "/admin/reconciliation"),
    # Executes only the run this tab's run_now recorded (a server-side var a client cannot set), else does nothing.
    "AdminReconciliationState.follow_run": READ,
    "AdminOrdersState.load_orders": READ, "AdminOrdersState.load_campaign_options": READ,
    "AdminOrdersState.search_campaign_options": READ, "AdminOrdersState.set_status_filter": READ,
    "AdminOrdersState.set_campaign_filter": READ, "AdminOrdersState.set_date_from": READ,
    "AdminOrdersState.set_date_to": READ, "AdminOrdersState.clear_filters": READ,
    "AdminOrderDetailState.load_order": READ, "AdminOrderDetailState.set_refund_open": UI,
    "AdminOrderDetailState.set_refund_text": UI,
    "AdminOrderDetailState.refund": Rule(ADMINS, "/admin/orders/1"),
    "AdminOrderDetailState.retry_refund": Rule(ADMINS, "/admin/orders/1"),
    "KycQueueState.load_queue": READ, "KycQueueState.set_status_filter": READ,
    "KycQueueState.set_country_filter": READ, "KycQueueState.set_flag_filter": READ,
    "KycCaseState.load_case": READ, "KycCaseState.open_decision": UI, "KycCaseState.rotate": UI,
    "KycCaseState.zoom_in": UI, "KycCaseState.zoom_out": UI,
    "KycCaseState.claim": Rule(KYC, "/kyc/cases/1", surface="kyc"),
    # Deciding needs the claim: each role first tries to claim through the service, then calls the handler.
    "KycCaseState.release": Rule(KYC, "/kyc/cases/1", surface="kyc"),
    "KycCaseState.approve": Rule(KYC, "/kyc/cases/1", surface="kyc"),
    "KycCaseState.request_changes": Rule(KYC, "/kyc/cases/1", surface="kyc"),
    "KycCaseState.reject": Rule(KYC, "/kyc/cases/1", surface="kyc"),
    "KycCaseState.confirm_rejection": Rule(KYC, "/kyc/cases/1", surface="kyc"),
    "KycCaseState.dismiss_rejection": Rule(KYC, "/kyc/cases/1", surface="kyc"),
    "CheckoutVerifyState.load_verification": READ, "CheckoutVerifyState.choose_country": UI,
    "CheckoutVerifyState.choose_document_type": UI, "CheckoutVerifyState.upload_refused": UI,
    "CheckoutVerifyState.stage_upload": SELF, "CheckoutVerifyState.submit_verification": SELF,
    "CheckoutVerifyState.withdraw_check": SELF,
    "AdminCampaignSalesState.load_sales": READ, "AdminCampaignSalesState.clear_filters": READ,
    "AdminCampaignSalesState.set_date_from": READ, "AdminCampaignSalesState.set_date_to": READ,
    "AdminCampaignSalesState.set_marketplace_filter": READ, "AdminCampaignSalesState.set_status_filter": READ,
    "AdminCampaignRoyaltiesState.load_royalties": READ, "AdminDashboardRoyaltiesState.load_summary": READ,
    "AdminCampaignRewardsState.load_rewards": READ, "AdminCampaignRewardsState.open_new": UI,
    "AdminCampaignRewardsState.open_edit": UI, "AdminCampaignRewardsState.set_form_open": UI,
    "AdminCampaignRewardsState.show_stats": READ,
    "AdminCampaignRewardsState.submit_reward": Rule(ADMINS, "/admin/campaigns/1/rewards"),
    "AdminCampaignRewardsState.end_reward": Rule(ADMINS, "/admin/campaigns/1/rewards"),
    "AdminCampaignRewardsState.refresh_payouts": READ, "AdminCampaignRewardsState.set_fund_amount": UI,
    "AdminCampaignRewardsState.show_allocations": READ, "AdminCampaignRewardsState.page_allocations": READ,
    # Funding spends the platform signer's own balance: platform admins only.
    "AdminCampaignRewardsState.submit_fund": Rule(frozenset({"platform_admin"}), "/admin/campaigns/1/rewards"),
    # Funding from the admin's own wallet stores nothing; what a role must not get is the wallet prompt for brand A's
    # vault (each step prepares it again as the actor is now). The scenarios observe whether the tab got it.
    "AdminCampaignRewardsState.set_wallet_fund_amount": UI,
    "AdminCampaignRewardsState.submit_wallet_fund": Rule(ADMINS, "/admin/campaigns/1/rewards"),
    "AdminCampaignRewardsState.wallet_fund_connected": Rule(ADMINS, "/admin/campaigns/1/rewards"),
    "AdminCampaignRewardsState.wallet_fund_approved": Rule(ADMINS, "/admin/campaigns/1/rewards"),
    # Shows the wallet's answer and reloads the panel as the current actor.
    "AdminCampaignRewardsState.wallet_fund_sent": READ,
    "AdminCampaignRewardsState.push_to_holder": Rule(ADMINS, "/admin/campaigns/1/rewards"),
    "AdminCampaignRewardsState.retry_failed_period": Rule(ADMINS, "/admin/campaigns/1/rewards"),
    "AdminCampaignRewardsState.push_all_payouts": Rule(ADMINS, "/admin/campaigns/1/rewards"),
    "AdminCampaignRewardsState.set_push_all_open": UI,
    "AdminCampaignRewardsState.retry_vault": Rule(ADMINS, "/admin/campaigns/1/rewards"),
    "RedeemScanState.load_scanner": READ, "RedeemScanState.set_location": UI, "RedeemScanState.set_manual_code": UI,
    "RedeemScanState.camera_failed": UI, "RedeemScanState.scan_next": UI,
    # Checking a code redeems nothing (a refused look is recorded as an attempt, as every attempt is).
    "RedeemScanState.scanned": READ, "RedeemScanState.check_manual_code": READ,
    "RedeemScanState.confirm_redeem": Rule(frozenset({"brand_staff", "brand_admin", "platform_admin"}),
                                           "/redeem/scan"),
    # A holder's own perks (account and/or SIWE-proved wallet); online redemption is the holder's own act.
    "RedeemRewardsState.load_perks": READ, "RedeemRewardsState.connect_wallet": UI,
    "RedeemRewardsState.wallet_connected": PUBLIC, "RedeemRewardsState.wallet_signed": PUBLIC,
    "RedeemRewardsState.disconnect_wallet": UI, "RedeemRewardsState.show_qr": READ,
    "RedeemRewardsState.keep_qr_fresh": READ, "RedeemRewardsState.set_qr_open": UI,
    "RedeemRewardsState.redeem_online": PUBLIC,
    # Claim asks the connected wallet to send the transaction itself: nothing stored changes here.
    "RedeemRewardsState.claim_payout": UI, "RedeemRewardsState.claim_sent": UI,
    "CheckoutCampaignState.load_campaign": READ, "CheckoutThemeState.load_theme": READ,
    "CheckoutBuyState.load_quote": READ, "CheckoutBuyState.change_quantity": READ,
    "CheckoutBuyState.set_wallet_mode": UI, "CheckoutBuyState.connect_wallet": UI,
    "CheckoutBuyState.use_connected_wallet": UI, "CheckoutBuyState.check_wallet_address": UI,
    "CheckoutBuyState.clear_field_error": UI, "CheckoutBuyState.submit_checkout": PUBLIC,
    "CheckoutOrderState.load_order": READ, "CheckoutOrderState.stop_polling": UI,
    "CheckoutOrderState.watch_order": READ, "CheckoutOrderState.retry_payment": UI,
    "CheckoutOrderState.check_claim": READ, "CheckoutOrderState.send_account_link": PUBLIC,
    "CheckoutPasswordLinkState.load_link": READ, "CheckoutPasswordLinkState.submit_password": PUBLIC,
    "CheckoutPasswordLinkState.finish_sign_in": UI, "CheckoutPasswordLinkState.request_link": PUBLIC,
    "CheckoutAccountState.load_account": READ, "CheckoutAccountOrdersState.load_orders": READ,
    "CheckoutAccountState.load_tokens": READ, "CheckoutAccountState.open_withdrawal": UI,
    "CheckoutAccountState.set_dialog_open": UI, "CheckoutAccountState.set_withdraw_address": UI,
    "CheckoutAccountState.check_withdraw_address": UI, "CheckoutAccountState.continue_withdrawal": UI,
    "CheckoutAccountState.back_to_address": UI, "CheckoutAccountState.stop_polling": UI,
    "CheckoutAccountState.watch_withdrawals": READ, "CheckoutAccountState.sign_out": OWN,
    # Only the token's owner may withdraw it, and the owner is none of the matrix's roles (their own withdrawal is
    # tests/orders/test_accounts.py): everyone here is refused.
    "CheckoutAccountState.confirm_withdrawal": Rule(NOBODY, "/account", surface="account"),
}
# The paged-table mixin's handlers re-read the current page (as the current actor) in every table state.
MIXIN_HANDLERS = {name: value.__code__ for name, value in vars(PagedTableMixin).items()
                  if callable(value) and not name.startswith("_") and hasattr(value, "__code__")}


def discovered_handlers() -> set[str]:
    """Every event handler of the app's states, but Reflex's own `setvar` (it sets a public var of the state it is
    called on and reaches no service; the matrix forges such vars itself) and the table mixin's."""
    found = set()
    for cls in all_states():
        if not cls.__module__.startswith("primsell.state."):
            continue
        for name, handler in cls.event_handlers.items():
            if name == "setvar":
                continue
            if getattr(handler.fn, "__code__", None) is MIXIN_HANDLERS.get(name):
                continue
            found.add(f"{cls.__name__}.{name}")
    return found


def test_every_handler_has_an_entry():
    assert discovered_handlers() == set(HANDLERS), (
        f"new handlers: {sorted(discovered_handlers() - set(HANDLERS))}; "
        f"gone: {sorted(set(HANDLERS) - discovered_handlers())}")


# --- the world: brand A with its people and rows; each scenario adds what its handler acts on --------------------


@dataclass
class World:
    brand: Brand
    owner: Actor
    people: dict[str, str | None]  # role -> email (None: anonymous)
    rows: dict[str, Any] = field(default_factory=dict)


def _person(email: str, role: Role = Role.CONSUMER, brand: Brand | None = None) -> Actor:
    """Like the factory's, but without a password: the matrix signs in through sign-in codes (see web_cookie), and
    skipping a hundred argon2 hashes keeps it fast. Permissions come from the same User and Membership rows."""
    with session_scope() as session:
        user = User(email=email)
        session.add(user)
        session.flush()
        if role is not Role.CONSUMER:
            session.add(Membership(user_id=user.id, brand_id=brand.id if brand else None, role=role))  # type: ignore[arg-type]
            session.flush()
        return load_actor(session, user)


def make_world() -> World:
    brand = make_brand(name="Aurora")
    other = make_brand(name="Borealis")
    n = next(_seq)
    owner = _person(f"owner{n}@aurora.example", Role.BRAND_ADMIN, brand)
    people = {
        "anonymous": None,
        "consumer": _person(f"consumer{n}@example.com").email,
        "brand_staff": _person(f"staff{n}@aurora.example", Role.BRAND_STAFF, brand).email,
        "other_brand_admin": _person(f"rival{n}@borealis.example", Role.BRAND_ADMIN, other).email,
        "kyc_reviewer": _person(f"kyc{n}@primsell.example", Role.KYC_REVIEWER).email,
        "platform_admin": _person(f"pat{n}@primsell.example", Role.PLATFORM_ADMIN).email,
        "brand_admin": owner.email,
    }
    return World(brand=brand, owner=owner, people=people)


def _count(model: Any, *where: Any) -> int:
    with session_scope() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def _paid_order(world: World, *, wallet: str | None = WALLET) -> Order:
    campaign = make_campaign(world.brand, price_minor=1250)
    started = service.start_checkout(campaign.slug, 1, f"buyer{next(_seq)}@example.com", wallet, "198.51.100.1")
    order = order_by_public(started.public_id)
    sandbox.pay(order.payment_session_id)
    settle()
    emit_mint_event("mint.completed", {"key": f"order-{order.id}", "token_ids": [order.id],
                                       "tx_hash": "0x" + f"{order.id:064x}"})
    settle()
    return order_by_public(started.public_id)


@dataclass(frozen=True)
class Scenario:
    """How to call one handler on brand A's rows, and how to see from the database whether it changed them."""

    setup: Callable[[World, pytest.FixtureRequest], None]
    call: Callable[[Tab, World], list[Any]]
    observe: Callable[[World], Any]
    needs_sandbox: bool = False
    # What the role does first, if it can, before the data is observed (a reviewer claims the case to decide it)
    prepare: Callable[[Tab, World], None] | None = None


def _membership_role(w: World) -> Any:
    with session_scope() as session:
        return session.exec(select(Membership.role).where(
            Membership.brand_id == w.brand.id, Membership.user_id == w.rows["member_id"])).first()


def _setup_member(w: World, _request: pytest.FixtureRequest) -> None:
    w.rows["member_id"] = _person(f"member{next(_seq)}@aurora.example", Role.BRAND_STAFF, w.brand).user_id


def _setup_invitee(w: World, request: pytest.FixtureRequest) -> None:
    from backend.brands.service import invite_member

    request.getfixturevalue("configure")(INVITATION_RESEND_AFTER_S=0)
    w.rows["invitee"] = email = f"invitee{next(_seq)}@example.com"
    invite_member(w.owner, w.brand.id, email, Role.BRAND_STAFF)  # type: ignore[arg-type]
    with session_scope() as session:
        w.rows["invitee_id"] = session.exec(select(Membership.user_id).where(
            Membership.brand_id == w.brand.id, Membership.accepted_at.is_(None))).one()  # type: ignore[union-attr]


def _setup_draft(w: World, _request: pytest.FixtureRequest) -> None:
    w.rows["campaign"] = make_campaign(w.brand, status=CampaignStatus.DRAFT, name="Draft")


def _setup_undeployed(w: World, _request: pytest.FixtureRequest) -> None:
    w.rows["campaign"] = make_campaign(w.brand, status=CampaignStatus.DRAFT, deployed=False)


def _setup_failed_deployment(w: World, _request: pytest.FixtureRequest) -> None:
    campaign = make_campaign(w.brand, status=CampaignStatus.DRAFT, deployed=False)
    with session_scope() as session:
        session.add(ContractDeployment(campaign_id=campaign.id, chain=campaign.chain,  # type: ignore[arg-type]
                                       state=ContractState.FAILED, error="out of gas"))
    w.rows["campaign"] = campaign


def _deployment_state(w: World) -> Any:
    with session_scope() as session:
        return session.exec(select(ContractDeployment.state).where(
            ContractDeployment.campaign_id == w.rows["campaign"].id)).first()


def _setup_dead_letter(w: World, _request: pytest.FixtureRequest) -> None:
    campaign = make_campaign(w.brand)  # the dead event is about brand A's campaign: brand A's to retry
    with session_scope() as session:
        event = OutboxEvent(topic="campaign.test", payload={"brand_id": w.brand.id},
                            entity_type="campaign", entity_id=str(campaign.id))
        session.add(event)
        session.flush()
        session.add(OutboxDelivery(event_id=event.id, subscriber="tests.state.nowhere",  # type: ignore[arg-type]
                                   status=DeliveryStatus.DEAD, attempts=8, last_error="boom"))
        w.rows["event_id"] = event.id


def _setup_paid_order(w: World, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("client")
    w.rows["order"] = _paid_order(w)


def _setup_failed_refund(w: World, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("client")
    order = _paid_order(w)
    refunds.refund_order(w.owner, order.id, "Customer asked")  # type: ignore[arg-type]
    settle()
    with session_scope() as session:
        session.exec(update(PaymentRefund).values(status=RefundStatus.FAILED))
        session.exec(update(Order).where(Order.id == order.id).values(state="refund_pending"))
    w.rows["order"] = order


def _setup_custodial_token(w: World, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("client")
    w.rows["order"] = _paid_order(w, wallet=None)


def _runs_covering(w: World) -> Any:
    """Reconciliation runs that cover brand A (platform-wide ones, and brand A's own)."""
    from backend.reconciliation.models import ReconciliationRun

    return _count(ReconciliationRun, (ReconciliationRun.brand_id.is_(None))  # type: ignore[union-attr]
                  | (ReconciliationRun.brand_id == w.brand.id))


def _order_state(w: World) -> Any:
    return (order_by_public(w.rows["order"].public_id).state, _count(PaymentRefund))


def _brand_form(tab: Tab, w: World) -> list[Any]:
    state = tab.state(AdminBrandState)
    state.name, state.primary_color, state.accent_color, state.logo_url = "Renamed", "#000000", "#FFFFFF", ""
    return tab.run(AdminBrandState.save_brand, {})


def _campaign_form(tab: Tab, w: World) -> list[Any]:
    tab.state(AdminCampaignFormState).editing_id = w.rows["campaign"].id
    return tab.run(AdminCampaignFormState.submit_campaign, campaign_values(w.rows["campaign"]) | {"name": "Changed"})


def _on_campaign(handler: Any) -> Callable[[Tab, World], list[Any]]:
    def call(tab: Tab, w: World) -> list[Any]:
        tab.state(AdminCampaignFormState).editing_id = w.rows["campaign"].id
        tab.state(AdminCampaignChainState).campaign_id = w.rows["campaign"].id
        args = ("publish",) if handler is AdminCampaignFormState.change_status else ()
        return tab.run(handler, *args)

    return call


def _on_order(handler: Any) -> Callable[[Tab, World], list[Any]]:
    def call(tab: Tab, w: World) -> list[Any]:
        state = tab.state(AdminOrderDetailState)
        state.order_id, state.refund_text = w.rows["order"].id, "Customer asked"
        return tab.run(handler)

    return call


def _withdraw(tab: Tab, w: World) -> list[Any]:
    order = w.rows["order"]
    state = tab.state(CheckoutAccountState)
    state.withdraw_key, state.withdraw_address = f"{order.campaign_id}:{order.token_ids[0]}", WALLET
    # Each role's own (right) password: what refuses them is that the token is not theirs.
    return tab.run(CheckoutAccountState.confirm_withdrawal, {"password": PASSWORD})


def _campaign_row(w: World) -> Any:
    with session_scope() as session:
        campaign = session.get(Campaign, w.rows["campaign"].id)
        return None if campaign is None else (campaign.name, campaign.status)


def _brand_row(w: World) -> Any:
    with session_scope() as session:
        brand = session.get(Brand, w.brand.id)
        return (brand.name, brand.primary_color)  # type: ignore[union-attr]


def _nothing(_w: World, _request: pytest.FixtureRequest) -> None:
    pass


def _setup_reward(w: World, _request: pytest.FixtureRequest) -> None:
    from tests.rewards.helpers import perk

    w.rows["campaign"] = campaign = make_campaign(w.brand)
    w.rows["reward"] = perk(w.owner, campaign, locations=[])


def _setup_code(w: World, request: pytest.FixtureRequest) -> None:
    import time

    from backend.rewards import codes
    from tests.rewards.helpers import hold

    _setup_reward(w, request)
    hold(w.rows["campaign"], 1, WALLET)
    w.rows["code"] = codes.encode(w.rows["reward"].id, 1, WALLET, int(time.time()) + 60)


def _rewards(w: World) -> Any:
    from backend.rewards.models import Reward

    with session_scope() as session:
        return sorted((r.title, r.state.value) for r in session.exec(select(Reward)).all())


def _define_reward(tab: Tab, w: World) -> list[Any]:
    state = tab.state(AdminCampaignRewardsState)
    state.campaign_id, state.kind, state.editing_id = w.rows["campaign"].id, "perk", 0
    return tab.run(AdminCampaignRewardsState.submit_reward, {"title": "Free cake", "use_period": "day",
                                                              "uses_per_period": "1", "channel": "in_store"})


def _setup_payout(w: World, _request: pytest.FixtureRequest) -> None:
    """A payout of brand A with its vault deployed (at a made-up address: these handlers only queue transactions) and
    one period whose allocation batch reverted; its holder's allocation is confirmed from an earlier batch."""
    from datetime import timedelta

    from backend.chain.models import TxPurpose, TxState
    from backend.db import utcnow
    from backend.rewards import service as rewards
    from backend.rewards.models import RewardAllocation, RewardPeriod, RewardVaultRow
    from backend.workflow.machines import PeriodState, VaultState

    w.rows["campaign"] = campaign = make_campaign(w.brand)
    w.rows["reward"] = reward = rewards.define_reward(w.owner, campaign.id, {
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token", "amount_per_token": "1000",
        "currency_address": "", "payout_period": "week"})
    now = utcnow()
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow)).one()
        vault.state, vault.address = VaultState.DEPLOYED, "0x" + "5a" * 20
        period = RewardPeriod(reward_id=reward.id, brand_id=w.brand.id, vault_id=vault.id, period_index=0,
                              starts_at=now - timedelta(days=8), ends_at=now - timedelta(days=1),
                              state=PeriodState.FAILED, amount=1000, holders=1, tokens=1, batches=1)
        tx = ChainTransaction(purpose=TxPurpose.REWARD_PAYOUT, idempotency_key=f"matrix-{next(_seq)}", chain="local",
                              signer="platform", from_address=WALLET, to_address=vault.address, state=TxState.REVERTED,
                              meta={"action": "allocate"})
        session.add_all([period, tx])
        session.flush()
        session.add(RewardAllocation(reward_id=reward.id, period_id=period.id, vault_id=vault.id, holder=WALLET,
                                     tokens=1, amount=1000, batch=0, tx_id=tx.id, allocated_block=5,
                                     allocated_log_index=0))
        w.rows["period_id"] = period.id


def _on_payout(handler: Any, *args: Any) -> Callable[[Tab, World], list[Any]]:
    def call(tab: Tab, w: World) -> list[Any]:
        tab.state(AdminCampaignRewardsState).selected_id = w.rows["reward"].id
        values = [w.rows["period_id"] if a == "period" else a for a in args]
        return tab.run(handler, *[str(v) if isinstance(v, int) else v for v in values])

    return call


def _setup_wallet_payout(w: World, request: pytest.FixtureRequest) -> None:
    """The payout of _setup_payout, its chain id configured (no node to ask)."""
    _setup_payout(w, request)
    request.getfixturevalue("configure")(CHAIN_ID=31337)


def _setup_token_payout(w: World, request: pytest.FixtureRequest) -> None:
    """The payout of _setup_wallet_payout, paid in an ERC-20 token (funded from a wallet in two steps)."""
    from backend.rewards.models import Reward

    _setup_wallet_payout(w, request)
    with session_scope() as session:
        reward = session.get(Reward, w.rows["reward"].id)
        reward.currency_address, reward.currency_decimals, reward.currency_symbol = "0x" + "7c" * 20, 6, "USDC"  # type: ignore[union-attr]


def _wallet_prompt(handler: Any, *args: Any, steps: int = 0) -> Callable[[Tab, World], list[Any]]:
    """Call a "Fund from my wallet" handler on brand A's payout (with `steps`: as if the funding's first step had
    been reached, e.g. by a role taken away since) and note whether the tab was sent a wallet prompt."""
    def call(tab: Tab, w: World) -> list[Any]:
        state = tab.state(AdminCampaignRewardsState)
        state.selected_id = w.rows["reward"].id
        if steps:
            state._wallet_amount, state._wallet_reward, state._wallet_from = 1000, w.rows["reward"].id, WALLET
            state._wallet_step, state._wallet_steps = 0, steps
        outputs = tab.run(handler, *args)
        w.rows["prompted"] = any(m in repr(outputs) for m in ("eth_requestAccounts", "eth_sendTransaction"))
        return outputs

    return call


def _prompted(w: World) -> bool:
    return w.rows.get("prompted", False)


def _setup_failed_vault(w: World, request: pytest.FixtureRequest) -> None:
    from backend.rewards.models import RewardVaultRow
    from backend.workflow.machines import VaultState

    _setup_payout(w, request)
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow)).one()
        vault.state, vault.address, vault.error = VaultState.FAILED, None, "reverted"


def _vault_state(w: World) -> Any:
    from backend.rewards.models import RewardVaultRow

    with session_scope() as session:
        return session.exec(select(RewardVaultRow.state)).one()


def _period_state(w: World) -> Any:
    from backend.rewards.models import RewardPeriod

    with session_scope() as session:
        return session.get(RewardPeriod, w.rows["period_id"]).state.value  # type: ignore[union-attr]


def _confirm_redeem(tab: Tab, w: World) -> list[Any]:
    tab.state(RedeemScanState)._code = w.rows["code"]
    return tab.run(RedeemScanState.confirm_redeem)


def _setup_kyc_case(w: World, request: pytest.FixtureRequest) -> None:
    import shutil

    from backend.settings import get_settings
    from tests.factories import make_user
    from tests.kyc.support import case_of, submit

    request.addfinalizer(lambda: shutil.rmtree(get_settings().kyc_documents_dir, ignore_errors=True))
    consumer = make_user()
    submit(consumer)
    w.rows["case_id"] = case_of(consumer).id


def _setup_proposed_rejection(w: World, request: pytest.FixtureRequest) -> None:
    """Another reviewer proposed a rejection (four eyes): a second reviewer confirms or dismisses it."""
    from backend.kyc import review
    from tests.kyc.support import reviewer

    _setup_kyc_case(w, request)
    proposer = reviewer()
    review.claim(proposer, w.rows["case_id"])
    review.reject(proposer, w.rows["case_id"], "document_unreadable", "blurred photo")


def _kyc_case(w: World) -> Any:
    from backend.kyc.models import KycCase

    with session_scope() as session:
        case = session.get(KycCase, w.rows["case_id"])
        return case.state.value, case.claimed_by  # type: ignore[union-attr]


def _claim_as_role(tab: Tab, w: World) -> None:
    """The tab's person claims the case through the service if they may (others are left to be refused)."""
    from backend.errors import DomainError
    from backend.kyc import review

    email = w.people[tab.role]  # type: ignore[attr-defined]
    if email is None:
        return
    with session_scope() as session:
        actor = load_actor(session, session.exec(select(User).where(User.email == email)).one())
    try:
        review.claim(actor, w.rows["case_id"])
    except DomainError:
        pass


def _on_case(handler: Any, *args: Any) -> Callable[[Tab, World], list[Any]]:
    def call(tab: Tab, w: World) -> list[Any]:
        tab.state(KycCaseState).case_id = w.rows["case_id"]
        return tab.run(handler, *args)

    return call


def _held_case(setup: Callable[[World, pytest.FixtureRequest], None], handler: Any, *args: Any) -> Scenario:
    return Scenario(setup, _on_case(handler, *args), _kyc_case, prepare=_claim_as_role)


SCENARIOS: dict[str, Scenario] = {
    "AdminBrandState.save_brand": Scenario(_nothing, _brand_form, _brand_row),
    "AdminMembersState.invite": Scenario(
        _nothing,
        lambda tab, w: tab.run(AdminMembersState.invite, {"email": "newcomer@example.com", "role": "brand_admin"}),
        lambda w: _count(Membership, Membership.brand_id == w.brand.id)),
    "AdminMembersState.resend": Scenario(
        _setup_invitee, lambda tab, w: tab.run(AdminMembersState.resend, str(w.rows["invitee_id"])),
        lambda w: len(mailbox(to=w.rows["invitee"]))),
    "AdminMembersState.change_role": Scenario(
        _setup_member, lambda tab, w: tab.run(AdminMembersState.change_role, str(w.rows["member_id"]), "brand_admin"),
        _membership_role),
    "AdminMembersState.remove": Scenario(
        _setup_member, lambda tab, w: tab.run(AdminMembersState.remove, str(w.rows["member_id"])), _membership_role),
    "AdminCampaignFormState.submit_campaign": Scenario(_setup_draft, _campaign_form, _campaign_row),
    "AdminCampaignFormState.change_status": Scenario(
        _setup_draft, _on_campaign(AdminCampaignFormState.change_status), _campaign_row),
    "AdminCampaignFormState.delete_draft": Scenario(
        _setup_draft, _on_campaign(AdminCampaignFormState.delete_draft), _campaign_row),
    "AdminCampaignChainState.deploy_contract": Scenario(
        _setup_undeployed, _on_campaign(AdminCampaignChainState.deploy_contract), _deployment_state),
    "AdminCampaignChainState.retry_deployment": Scenario(
        _setup_failed_deployment, _on_campaign(AdminCampaignChainState.retry_deployment), _deployment_state),
    "AdminOperationsState.retry": Scenario(
        _setup_dead_letter, lambda tab, w: tab.run(AdminOperationsState.retry, str(w.rows["event_id"])),
        lambda w: _count(OutboxDelivery, OutboxDelivery.status == DeliveryStatus.DEAD)),
    "AdminReconciliationState.run_now": Scenario(
        _nothing, lambda tab, w: tab.run(AdminReconciliationState.run_now), _runs_covering),
    "AdminOrderDetailState.refund": Scenario(
        _setup_paid_order, _on_order(AdminOrderDetailState.refund), _order_state, needs_sandbox=True),
    "AdminOrderDetailState.retry_refund": Scenario(
        _setup_failed_refund, _on_order(AdminOrderDetailState.retry_refund), _order_state, needs_sandbox=True),
    "CheckoutAccountState.confirm_withdrawal": Scenario(
        _setup_custodial_token, _withdraw, lambda w: _count(ChainTransaction), needs_sandbox=True),
    "AdminCampaignRewardsState.submit_reward": Scenario(_setup_reward, _define_reward, _rewards),
    "AdminCampaignRewardsState.end_reward": Scenario(
        _setup_reward, lambda tab, w: tab.run(AdminCampaignRewardsState.end_reward, str(w.rows["reward"].id)),
        _rewards),
    "AdminCampaignRewardsState.submit_fund": Scenario(
        _setup_payout, _on_payout(AdminCampaignRewardsState.submit_fund, {"amount": "0.5"}),
        lambda w: _count(ChainTransaction)),
    "AdminCampaignRewardsState.submit_wallet_fund": Scenario(
        _setup_wallet_payout, _wallet_prompt(AdminCampaignRewardsState.submit_wallet_fund, {"amount": "0.5"}),
        _prompted),
    "AdminCampaignRewardsState.wallet_fund_connected": Scenario(
        _setup_wallet_payout,
        _wallet_prompt(AdminCampaignRewardsState.wallet_fund_connected, {"address": WALLET}, steps=1),
        _prompted),
    "AdminCampaignRewardsState.wallet_fund_approved": Scenario(
        _setup_token_payout, _wallet_prompt(AdminCampaignRewardsState.wallet_fund_approved, {"status": 1}, steps=2),
        _prompted),
    "AdminCampaignRewardsState.push_to_holder": Scenario(
        _setup_payout, _on_payout(AdminCampaignRewardsState.push_to_holder, WALLET),
        lambda w: _count(ChainTransaction)),
    "AdminCampaignRewardsState.push_all_payouts": Scenario(
        _setup_payout, _on_payout(AdminCampaignRewardsState.push_all_payouts), lambda w: _count(ChainTransaction)),
    "AdminCampaignRewardsState.retry_failed_period": Scenario(
        _setup_payout, _on_payout(AdminCampaignRewardsState.retry_failed_period, "period"), _period_state),
    "AdminCampaignRewardsState.retry_vault": Scenario(
        _setup_failed_vault, _on_payout(AdminCampaignRewardsState.retry_vault), _vault_state),
    "KycCaseState.claim": Scenario(_setup_kyc_case, _on_case(KycCaseState.claim), _kyc_case),
    "KycCaseState.release": _held_case(_setup_kyc_case, KycCaseState.release),
    "KycCaseState.approve": _held_case(_setup_kyc_case, KycCaseState.approve),
    "KycCaseState.request_changes": _held_case(
        _setup_kyc_case, KycCaseState.request_changes, {"message": "The photo is blurred."}),
    "KycCaseState.reject": _held_case(
        _setup_kyc_case, KycCaseState.reject, {"reason": "document_unreadable", "note": "blurred photo"}),
    "KycCaseState.confirm_rejection": _held_case(_setup_proposed_rejection, KycCaseState.confirm_rejection),
    "KycCaseState.dismiss_rejection": _held_case(
        _setup_proposed_rejection, KycCaseState.dismiss_rejection, {"note": "the photo is fine"}),
    "RedeemScanState.confirm_redeem": Scenario(_setup_code, _confirm_redeem,
                                               lambda w: _count(RewardRedemption)),
}


def test_every_data_changing_handler_has_a_scenario():
    assert set(SCENARIOS) == {name for name, rule in HANDLERS.items() if isinstance(rule, Rule)}


def _tab(world: World, role: str, rule: Rule) -> Tab:
    """A tab of `role` on the handler's page, its brand choice forged to brand A (what a client can send)."""
    email = world.people[role]
    tab = Tab(web_cookie(email, password=None) if email else None, rule.path)
    tab.role = role  # type: ignore[attr-defined]
    if rule.surface in ("admin", "kyc"):  # signed-in surfaces resolve the session on load (the account page does not)
        tab.navigate(rule.path)
        tab.run(SessionState.load_session, rule.surface)
    tab.session.brands = [{"id": str(world.brand.id), "name": world.brand.name}]
    tab.session.brand_id = world.brand.id  # type: ignore[assignment]
    return tab


ERROR_VARS = ("form_error", "field_errors", "refund_error", "section_error", "load_error", "not_found", "forbidden")


def _refusal_shown(tab: Tab, outputs: list[Any]) -> bool:
    """The tab was sent to sign in, shown an error toast, or its state holds an error."""
    if redirects_to_sign_in(outputs) or '["error"]' in repr(outputs):
        return True
    return any(bool(getattr(state, name, None)) for state in tab.root.substates.values() for name in ERROR_VARS)


MATRIX = [
    pytest.param(name, role, id=f"{name}-{role}",
                 marks=[pytest.mark.xfail(strict=True, reason=rule.known_gaps[role])] if role in rule.known_gaps
                 else [])
    for name, rule in HANDLERS.items() if isinstance(rule, Rule)
    for role in ROLES
]


@pytest.fixture(autouse=True)
def _relay_quiet():
    """Retrying a dead letter kicks the relay in the background: let it finish before the tables are emptied."""
    yield
    wait_for_kick()


@pytest.mark.parametrize(("handler_name", "role"), MATRIX)
def test_state_handler_acl_matrix(handler_name: str, role: str, request: pytest.FixtureRequest):
    rule, scenario = HANDLERS[handler_name], SCENARIOS[handler_name]
    assert isinstance(rule, Rule)
    world = make_world()
    scenario.setup(world, request)
    tab = _tab(world, role, rule)
    if scenario.prepare:
        scenario.prepare(tab, world)
    before = scenario.observe(world)

    outputs = scenario.call(tab, world)

    after = scenario.observe(world)
    if role in rule.allowed:
        assert after != before, f"{role} was allowed {handler_name} but nothing changed: {outputs}"
    else:
        assert after == before, f"{role} changed brand A's data through {handler_name}"
        # Refused: sent to sign in, told why, or the forged brand choice was undone (it acted on nothing of A's).
        undone = tab.session.brand_id != world.brand.id
        assert _refusal_shown(tab, outputs) or undone, f"{role} got no refusal from {handler_name}: {outputs}"
