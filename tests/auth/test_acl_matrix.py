"""The full access-control matrix: every role against every protected brand, member (invitations included) and
campaign action, plus cross-brand isolation. The expectation table is written out by hand, not derived from the policy code."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import select

from backend.auth.acl import Actor, Role
from backend.auth.models import Membership, User
from backend.auth.service import load_actor
from backend.brands import service as brands
from backend.brands.models import Brand
from backend.campaigns import service as campaigns
from backend.campaigns.models import CampaignStatus
from backend.db import session_scope
from backend.errors import Forbidden, NotAuthenticated, NotFound
from backend.notifications.service import mailbox
from tests.factories import campaign_fields, make_brand, make_campaign

_emails = itertools.count(1)


def make_user(role: Role = Role.CONSUMER, brand: Brand | None = None) -> Actor:
    """Like the factory's, but passwordless: the matrix never signs in, and skipping ~170 argon2 hashes
    keeps it fast. Permissions come from the same User and Membership rows."""
    with session_scope() as session:
        user = User(email=f"acl{next(_emails)}@example.com")
        session.add(user)
        session.flush()
        if role is not Role.CONSUMER:
            session.add(Membership(user_id=user.id, brand_id=brand.id if brand else None, role=role))  # type: ignore[arg-type]
            session.flush()
        return load_actor(session, user)

OK, FORBIDDEN, NOT_FOUND, ANON, HIDDEN = "ok", "forbidden", "not_found", "not_authenticated", "hidden"
RAISES = {FORBIDDEN: Forbidden, NOT_FOUND: NotFound, ANON: NotAuthenticated}

ACTIONS = (
    "list_brands", "get_brand", "create_brand", "update_brand",
    "list_members", "invite_member", "change_member_role", "remove_member", "resend_invitation",
    "list_campaigns", "get_campaign", "create_campaign", "update_campaign", "change_campaign_status",
    "delete_campaign",
)

# Who may do what to brand A (the brand the brand-scoped roles belong to). HIDDEN: the list does not show A.
EXPECTED: dict[str, tuple[str, ...]] = {
    #                 list_b  get_b      create_b   update_b   list_m     invite     chg_role   remove     resend     list_c     get_c      create_c   update_c   status     delete
    "platform_admin": (OK,    OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK),
    "brand_admin":    (OK,    OK,        FORBIDDEN, OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK,        OK),
    "brand_staff":    (OK,    OK,        FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK,        OK,        FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "kyc_brand":      (OK,    OK,        FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "kyc_platform":   (OK,    OK,        FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "consumer":       (HIDDEN, NOT_FOUND, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    "anonymous":      (ANON,  ANON,      ANON,      ANON,      ANON,      ANON,      ANON,      ANON,      ANON,      ANON,      ANON,      ANON,      ANON,      ANON,      ANON),
}


@dataclass
class World:
    brand: Brand
    owner: Actor  # brand A's own admin (so "last admin" rules never interfere)
    staff: Actor  # the member that change-role and remove act on
    campaign_id: int  # a draft, so that update, publish and delete are all possible
    invitee_id: int  # a pending invitation (resend acts on it)
    invitee_email: str


def _make_actor(kind: str, brand: Brand) -> Actor | None:
    return {
        "platform_admin": lambda: make_user(Role.PLATFORM_ADMIN),
        "brand_admin": lambda: make_user(Role.BRAND_ADMIN, brand),
        "brand_staff": lambda: make_user(Role.BRAND_STAFF, brand),
        "kyc_brand": lambda: make_user(Role.KYC_REVIEWER, brand),
        "kyc_platform": lambda: make_user(Role.KYC_REVIEWER),
        "consumer": lambda: make_user(Role.CONSUMER),
        "anonymous": lambda: None,
    }[kind]()


def _world(brand: Brand | None = None) -> World:
    brand = brand or make_brand()
    owner = make_user(Role.BRAND_ADMIN, brand)
    invitee_email = f"invitee{next(_emails)}@example.com"
    brands.invite_member(owner, brand.id, invitee_email, Role.BRAND_STAFF)  # type: ignore[arg-type]
    with session_scope() as session:
        invitee_id = session.exec(select(User.id).where(User.email == invitee_email)).one()
    return World(
        brand=brand,
        owner=owner,
        staff=make_user(Role.BRAND_STAFF, brand),
        campaign_id=make_campaign(brand, status=CampaignStatus.DRAFT).id,  # type: ignore[arg-type]
        invitee_id=invitee_id,  # type: ignore[arg-type]
        invitee_email=invitee_email,
    )


def _owner_view(world: World) -> dict[str, Any]:
    """Brand A as its own admin sees it: what any refused action must have left unchanged."""
    brand = brands.get_brand(world.owner, world.brand.id)  # type: ignore[arg-type]
    members = {m.email: m.role for m in brands.list_members(world.owner, world.brand.id)}  # type: ignore[arg-type]
    page = campaigns.list_campaigns(world.owner, world.brand.id)  # type: ignore[arg-type]
    return {
        "brand": (brand.name, brand.primary_color),
        "members": members,
        "campaigns": sorted((c.id, c.name, c.status.value) for c in page.items),
        "invitations_mailed": len(mailbox(to=world.invitee_email)),
    }


@pytest.fixture(autouse=True)
def _resend_at_once(configure: Callable[..., None]) -> None:
    """The world mails one invitation just before the action: a resend must not wait for the minute to pass."""
    configure(INVITATION_RESEND_AFTER_S=0)


# Each action: (call it, then check from the owner's side that it really happened).
def _run(action: str, actor: Actor | None, w: World) -> Callable[[], None]:
    bid, cid = w.brand.id, w.campaign_id
    assert bid is not None

    def check(condition: bool) -> None:
        assert condition, f"{action} returned but did not take effect"

    if action == "list_brands":
        listed = [b.id for b in brands.list_brands(actor)]  # type: ignore[arg-type]

        def visible() -> None:
            if bid not in listed:
                raise LookupError("brand A is not in the list")

        return visible
    if action == "get_brand":
        got = brands.get_brand(actor, bid)  # type: ignore[arg-type]
        return lambda: check(got.id == bid)
    if action == "create_brand":
        created = brands.create_brand(actor, {"slug": "new-brand", "name": "New Brand"})  # type: ignore[arg-type]
        platform = make_user(Role.PLATFORM_ADMIN)
        return lambda: check(brands.get_brand(platform, created.id).slug == "new-brand")  # type: ignore[arg-type]
    if action == "update_brand":
        brands.update_brand(actor, bid, {"name": "Renamed", "primary_color": "#000000"})  # type: ignore[arg-type]
        return lambda: check(_owner_view(w)["brand"] == ("Renamed", "#000000"))
    if action == "list_members":
        members = brands.list_members(actor, bid)  # type: ignore[arg-type]
        return lambda: check({m.email for m in members} >= {w.owner.email, w.staff.email})
    if action == "invite_member":
        brands.invite_member(actor, bid, "newcomer@example.com", Role.BRAND_STAFF)  # type: ignore[arg-type]
        return lambda: check(_owner_view(w)["members"].get("newcomer@example.com") is Role.BRAND_STAFF)
    if action == "change_member_role":
        brands.change_member_role(actor, bid, w.staff.user_id, Role.BRAND_ADMIN)  # type: ignore[arg-type]
        return lambda: check(_owner_view(w)["members"][w.staff.email] is Role.BRAND_ADMIN)
    if action == "remove_member":
        brands.remove_member(actor, bid, w.staff.user_id)  # type: ignore[arg-type]
        return lambda: check(w.staff.email not in _owner_view(w)["members"])
    if action == "resend_invitation":
        brands.resend_invitation(actor, bid, w.invitee_id)  # type: ignore[arg-type]
        return lambda: check(_owner_view(w)["invitations_mailed"] == 2)
    if action == "list_campaigns":
        page = campaigns.list_campaigns(actor, bid)  # type: ignore[arg-type]
        return lambda: check([c.id for c in page.items] == [cid])
    if action == "get_campaign":
        got_campaign = campaigns.get_campaign(actor, cid)  # type: ignore[arg-type]
        return lambda: check(got_campaign.id == cid)
    if action == "create_campaign":
        created_campaign = campaigns.create_campaign(actor, bid, campaign_fields(slug="made-here"))  # type: ignore[arg-type]
        return lambda: check(any(c[0] == created_campaign.id for c in _owner_view(w)["campaigns"]))
    if action == "update_campaign":
        campaigns.update_campaign(actor, cid, {"name": "Changed"})  # type: ignore[arg-type]
        return lambda: check(campaigns.get_campaign(w.owner, cid).name == "Changed")
    if action == "change_campaign_status":
        campaigns.change_campaign_status(actor, cid, CampaignStatus.PUBLISHED)  # type: ignore[arg-type]
        return lambda: check(campaigns.get_campaign(w.owner, cid).status is CampaignStatus.PUBLISHED)
    if action == "delete_campaign":
        campaigns.delete_campaign(actor, cid)  # type: ignore[arg-type]
        return lambda: check(_owner_view(w)["campaigns"] == [])
    raise AssertionError(f"no such action {action}")


MATRIX = [
    pytest.param(role, action, EXPECTED[role][i], id=f"{role}-{action}")
    for role in EXPECTED
    for i, action in enumerate(ACTIONS)
]


def test_expectation_table_covers_every_role_and_action():
    assert {r for r in EXPECTED if r not in ("kyc_brand", "kyc_platform", "anonymous")} | {"kyc_reviewer"} == (
        {r.value for r in Role})
    assert all(len(row) == len(ACTIONS) for row in EXPECTED.values())


@pytest.mark.parametrize(("role", "action", "expected"), MATRIX)
def test_acl_matrix(role: str, action: str, expected: str):
    world = _world()
    actor = _make_actor(role, world.brand)
    before = _owner_view(world)
    if expected == OK:
        _run(action, actor, world)()
    elif expected == HIDDEN:
        with pytest.raises(LookupError):
            _run(action, actor, world)()
        assert _owner_view(world) == before
    else:
        with pytest.raises(RAISES[expected]):
            _run(action, actor, world)
        assert _owner_view(world) == before
        if action == "create_brand":
            assert [b.slug for b in brands.list_brands(make_user(Role.PLATFORM_ADMIN))] == [world.brand.slug]


# What a brand admin of brand A meets when aiming at brand B: nothing of B is readable or changeable.
CROSS_BRAND: dict[str, type[Exception]] = {
    "get_brand": NotFound,
    "update_brand": NotFound,
    "list_members": NotFound,
    "invite_member": NotFound,
    "change_member_role": NotFound,
    "remove_member": NotFound,
    "resend_invitation": NotFound,
    "list_campaigns": NotFound,
    "get_campaign": NotFound,
    "create_campaign": NotFound,
    "update_campaign": NotFound,
    "change_campaign_status": NotFound,
    "delete_campaign": NotFound,
}


@pytest.mark.parametrize("role", [Role.BRAND_ADMIN, Role.BRAND_STAFF, Role.KYC_REVIEWER])
@pytest.mark.parametrize("action", sorted(CROSS_BRAND))
def test_brand_member_of_a_can_neither_read_nor_change_brand_b(role: Role, action: str):
    brand_a, world_b = make_brand(), _world()
    intruder = make_user(role, brand_a)
    make_campaign(brand_a)  # A has data of its own, so "allowed in A" is real
    before = _owner_view(world_b)
    with pytest.raises(CROSS_BRAND[action]):
        _run(action, intruder, world_b)
    assert _owner_view(world_b) == before


def test_brand_admin_of_a_does_not_see_brand_b_in_lists():
    brand_a, world_b = make_brand(), _world()
    intruder = make_user(Role.BRAND_ADMIN, brand_a)
    make_campaign(brand_a)
    assert [b.id for b in brands.list_brands(intruder)] == [brand_a.id]
    assert world_b.brand.id not in [b.id for b in brands.list_brands(intruder)]


def _order_of(campaign_id: int, brand_id: int) -> int:
    """A paid order row of brand B (no payment provider needed: only who may load it is under test)."""
    from datetime import timedelta

    from backend.db import utcnow
    from backend.orders.models import Order
    from backend.workflow.machines import OrderState

    with session_scope() as session:
        order = Order(public_id=f"acl{next(_emails)}", brand_id=brand_id, campaign_id=campaign_id,
                      email="buyer@example.com", wallet_address="0x" + "1" * 40, quantity=1, unit_price_minor=1000,
                      amount_minor=1000, currency="USD", state=OrderState.PAID, paid_amount_minor=1000,
                      paid_currency="USD", paid_at=utcnow(), expires_at=utcnow() + timedelta(hours=1))
        session.add(order)
        session.flush()
        return order.id  # type: ignore[return-value]


# Every service that loads one of brand B's rows by id, as a brand admin of A asks for it: each answers NotFound (404),
# the same answer as for an id that does not exist (backend.auth.acl.load_in_brand is the one loader).
def _brand_row_loaders() -> dict[str, Callable[[Actor, int, int], Any]]:
    from backend.chain import deployments
    from backend.orders import admin, refunds
    from backend.rewards import service as rewards
    from backend.sales import service as sales

    return {
        "order_detail": lambda actor, campaign_id, order_id: admin.order_detail(actor, order_id),
        "refund_order": lambda actor, campaign_id, order_id: refunds.refund_order(actor, order_id, "not mine"),
        "retry_refund": lambda actor, campaign_id, order_id: refunds.retry_refund(actor, order_id),
        "campaign_dashboard": lambda actor, campaign_id, order_id: admin.campaign_dashboard(actor, campaign_id),
        "get_campaign": lambda actor, campaign_id, order_id: campaigns.get_campaign(actor, campaign_id),
        "deployment_status": lambda actor, campaign_id, order_id: deployments.deployment_status(actor, campaign_id),
        "list_sales": lambda actor, campaign_id, order_id: sales.list_sales(actor, campaign_id),
        "royalties": lambda actor, campaign_id, order_id: sales.royalties(actor, campaign_id),
        "list_rewards": lambda actor, campaign_id, order_id: rewards.list_rewards(actor, campaign_id),
    }


@pytest.mark.parametrize("loader", sorted(_brand_row_loaders()))
def test_another_brands_rows_answer_not_found_like_missing_ones(loader: str):
    brand_b = make_brand()
    campaign_b = make_campaign(brand_b).id
    order_b = _order_of(campaign_b, brand_b.id)  # type: ignore[arg-type]
    intruder = make_user(Role.BRAND_ADMIN, make_brand())
    call = _brand_row_loaders()[loader]
    with pytest.raises(NotFound) as foreign:
        call(intruder, campaign_b, order_b)  # type: ignore[arg-type]
    with pytest.raises(NotFound) as missing:
        call(intruder, 10**9, 10**9)
    assert foreign.value.message == missing.value.message  # nothing tells the two apart
    owner = make_user(Role.BRAND_ADMIN, brand_b)
    if loader not in ("refund_order", "retry_refund"):
        call(owner, campaign_b, order_b)  # type: ignore[arg-type]  # the loader really loads it for its own brand
