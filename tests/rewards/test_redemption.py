"""Perks by QR code: holders list their perks and draw codes; staff check and redeem them; refusals say why in plain
words; every attempt is recorded; replayed, expired, altered and foreign codes redeem nothing."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update

from backend.auth.acl import Role
from backend.auth.models import User
from backend.chain.keys import custodial_address
from backend.db import session_scope
from backend.errors import Conflict, NotFound
from backend.orders import service as checkout
from backend.rewards import codes, gates, redemption
from backend.rewards.gates import KycRequired
from backend.rewards.holdings import Holder, account_holder
from backend.rewards.models import RewardAttempt, RewardRedemption
from backend.workflow.models import OutboxEvent
from tests.factories import make_brand, make_campaign, make_user
from tests.kyc.support import approved_consumer
from tests.rewards.helpers import hold, perk

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
OTHER_WALLET = "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    brand = make_brand(name="Aurora")
    campaign = make_campaign(brand, name="Founders")
    admin = make_user(Role.BRAND_ADMIN, brand)
    staff = make_user(Role.BRAND_STAFF, brand, email="sam@aurora.example.com")
    with session_scope() as session:
        session.execute(update(User).where(User.id == staff.user_id).values(display_name="Sam"))
    return brand, campaign, admin, staff


def _count(model) -> int:  # type: ignore[no-untyped-def]
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _attempts() -> list[tuple[str, str]]:
    with session_scope() as session:
        rows = session.execute(select(RewardAttempt).order_by(RewardAttempt.id)).scalars().all()
        return [(r.outcome.value, r.reason) for r in rows]


@pytest.mark.parametrize("subscribed", [False, True], ids=["no-subscriber", "subscribed"])
def test_account_holder_sees_perk_staff_check_then_redeem_and_scanning_again_is_refused(shop, subscribed,
                                                                                       monkeypatch):
    _, campaign, admin, staff = shop
    if subscribed:  # an event with deliveries to write is emit_many's, also on PostgreSQL
        monkeypatch.setattr(redemption, "has_subscribers", lambda topic: True)
    reward = perk(admin, campaign, token_ranges=[[1, 10]])
    consumer = make_user()
    custodial = custodial_address(consumer.user_id)
    hold(campaign, 7, custodial)
    hold(campaign, 11, custodial)  # outside the perk's token range
    hold(campaign, 8, WALLET)  # someone else's
    holder = account_holder(consumer.user_id)
    perks = redemption.my_perks(holder)
    assert [(p.reward_id, p.token_id, p.uses_left, p.campaign_name) for p in perks] == [(reward.id, 7, 1, "Founders")]

    issued = redemption.issue_code(holder, reward.id, 7)
    assert issued.holder == custodial and len(issued.code) < 120
    checked = redemption.scan_code(staff, issued.code, location="Main St.", confirm=False)
    assert (checked.status, checked.reward_title, checked.token_id) == ("valid", "A free drink", 7)
    assert checked.uses_left == 1
    assert _count(RewardRedemption) == 0

    done = redemption.scan_code(staff, issued.code, location="Main St.")
    assert (done.status, done.uses_left) == ("redeemed", 0), done.message
    again = redemption.scan_code(staff, issued.code, location="Main St.")
    assert (again.status, again.reason) == ("refused", "already_redeemed")
    assert again.message.startswith("This code was already used at ") and again.message.endswith(
        " UTC by Sam at Main St.")
    # the holder cannot even draw a new code today:
    with pytest.raises(Conflict, match="used up today"):
        redemption.issue_code(holder, reward.id, 7)
    # ... and a code drawn before the use is refused with when, who and where.
    early = codes.encode(reward.id, 7, custodial, int(time.time()) + 60)
    refused = redemption.scan_code(staff, early, location="Harbour")
    assert refused.reason == "already_redeemed"
    assert refused.message.startswith("Already used today at ") and refused.message.endswith(" by Sam at Main St.")
    assert _count(RewardRedemption) == 1
    assert _attempts() == [("accepted", ""), ("refused", "already_redeemed"), ("refused", "already_redeemed")]
    assert redemption.my_perks(holder)[0].uses_left == 0
    with session_scope() as session:
        topics = session.execute(select(OutboxEvent.topic)).scalars().all()
        event = session.execute(select(OutboxEvent).where(OutboxEvent.topic == "reward.redeemed")).scalars().one()
        accepted = session.execute(select(RewardAttempt).where(RewardAttempt.redemption_id.is_not(None))  # type: ignore[union-attr]
                                   ).scalars().one()
    assert topics.count("reward.redeemed") == 1
    # One statement writes these on PostgreSQL (no subscriber) and three otherwise: the same rows either way.
    assert (event.entity_type, event.entity_id) == ("reward", str(reward.id))
    assert event.payload == {"reward_id": reward.id, "brand_id": campaign.brand_id, "campaign_id": campaign.id,
                             "token_id": 7, "redemption_id": done.redemption_id, "channel": "qr",
                             "redemption_code": None}
    assert (accepted.redemption_id, accepted.staff_user_id, accepted.location, accepted.message, accepted.brand_id,
            accepted.scanner_brand_id, accepted.token_id, accepted.channel.value) == (
        done.redemption_id, staff.user_id, "Main St.", "Redeemed.", campaign.brand_id, campaign.brand_id, 7, "qr")


def test_n_uses_per_week(shop):
    _, campaign, admin, staff = shop
    reward = perk(admin, campaign, use_period="week", uses_per_period=2, locations=[])
    hold(campaign, 3, WALLET)
    holder = Holder((WALLET,))
    results = [redemption.scan_code(staff, redemption.issue_code(holder, reward.id, 3).code).status
               for _ in range(2)]
    assert results == ["redeemed", "redeemed"]
    with pytest.raises(Conflict, match="used up this week"):
        redemption.issue_code(holder, reward.id, 3)
    third = redemption.scan_code(staff, codes.encode(reward.id, 3, WALLET, int(time.time()) + 60))
    assert third.reason == "already_redeemed" and third.message.startswith("All 2 uses per week are taken; the last")


@pytest.mark.parametrize("case", ["expired", "changed_token", "changed_reward", "changed_holder", "garbage",
                                  "other_key", "foreign_brand", "transferred", "not_held"])
def test_replayed_altered_and_foreign_codes_redeem_nothing(shop, case, configure):
    _, campaign, admin, staff = shop
    reward = perk(admin, campaign, locations=[])
    hold(campaign, 5, WALLET)
    hold(campaign, 6, OTHER_WALLET)
    good = codes.encode(reward.id, 5, WALLET, int(time.time()) + 60)
    expected_reason = "invalid"
    who = staff
    if case == "expired":
        code, expected_reason = codes.encode(reward.id, 5, WALLET, int(time.time()) - 31), "expired"
    elif case == "changed_token":
        parts = good.split(".")
        code = ".".join([*parts[:2], "6", *parts[3:]])
    elif case == "changed_reward":
        other = perk(admin, campaign, title="Another", locations=[])
        parts = good.split(".")
        code = ".".join([parts[0], str(other.id), *parts[2:]])
    elif case == "changed_holder":
        parts = good.split(".")
        code = ".".join([*parts[:3], OTHER_WALLET[2:].lower(), *parts[4:]])
    elif case == "garbage":
        code = "R1.not.a.code"
    elif case == "other_key":
        configure(PRIMSELL_SECRET_KEY="another-secret-key-for-primsell-tests-0123456789")
        code = codes.encode(reward.id, 5, WALLET, int(time.time()) + 60)
        configure(PRIMSELL_SECRET_KEY="test-secret-key-for-primsell-tests-only-0123456789")
    elif case == "foreign_brand":
        code, expected_reason = good, "foreign_brand"
        who = make_user(Role.BRAND_STAFF, make_brand())
    elif case == "transferred":
        hold(campaign, 5, OTHER_WALLET)  # sold after the code was drawn
        code, expected_reason = good, "not_holder"
    else:
        code, expected_reason = codes.encode(reward.id, 9, WALLET, int(time.time()) + 60), "not_holder"
    result = redemption.scan_code(who, code)
    assert (result.status, result.reason) == ("refused", expected_reason), result.message
    assert _count(RewardRedemption) == 0
    assert _attempts() == [("refused", expected_reason)]
    if case == "foreign_brand":  # the other brand's statistics do not see the stranger's attempt
        assert result.reward_title == ""
        with session_scope() as session:
            attempt = session.execute(select(RewardAttempt)).scalars().one()
        assert attempt.reward_id is None and attempt.brand_id is None


def test_a_code_confirmed_within_the_grace_after_expiry_still_redeems(shop):
    _, campaign, admin, staff = shop
    reward = perk(admin, campaign, locations=[])
    hold(campaign, 5, WALLET)
    result = redemption.scan_code(staff, codes.encode(reward.id, 5, WALLET, int(time.time()) - 5))
    assert result.status == "redeemed"


def test_a_confirm_sent_again_after_its_period_and_its_code_ran_out_gets_its_use_back(shop, configure):
    _, campaign, admin, staff = shop
    reward = perk(admin, campaign, locations=[])
    hold(campaign, 5, WALLET)
    text = codes.encode(reward.id, 5, WALLET, int(time.time()) - 5)  # expired, within the grace
    first = redemption.scan_code(staff, text, request_id="counter-1-confirm-42")
    assert first.status == "redeemed"
    with session_scope() as session:  # midnight passed: the use is in yesterday's period
        session.execute(update(RewardRedemption).values(period_key="2000-01-01"))
    configure(REWARD_QR_GRACE_S=0)  # and the code is past its grace now
    again = redemption.scan_code(staff, text, request_id="counter-1-confirm-42")
    assert (again.status, again.redemption_id) == ("redeemed", first.redemption_id)
    other = redemption.scan_code(staff, text, request_id="counter-1-confirm-43")
    assert other.reason == "already_redeemed"  # another confirm of a used code


def test_locations_are_checked(shop):
    _, campaign, admin, staff = shop
    reward = perk(admin, campaign)
    hold(campaign, 5, WALLET)
    code = codes.encode(reward.id, 5, WALLET, int(time.time()) + 60)
    assert redemption.scan_code(staff, code).message == "Choose the location you are redeeming at."
    wrong = redemption.scan_code(staff, code, location="Airport")
    assert wrong.message == "This perk is not redeemable at Airport (only at Main St., Harbour)."
    assert redemption.scan_code(staff, code, location="harbour").status == "redeemed"


def test_ended_and_out_of_window_perks_are_refused(shop):
    from backend.rewards import service

    _, campaign, admin, staff = shop
    reward = perk(admin, campaign, locations=[])
    hold(campaign, 5, WALLET)
    code = codes.encode(reward.id, 5, WALLET, int(time.time()) + 60)
    service.end_reward(admin, reward.id)
    assert redemption.scan_code(staff, code).reason == "ended"
    assert redemption.my_perks(Holder((WALLET,))) == []
    with pytest.raises(NotFound):
        redemption.issue_code(Holder((WALLET,)), reward.id, 5)


def test_kyc_gate_is_consulted_on_listing_issuing_and_redeeming(shop, monkeypatch):
    _, campaign, admin, staff = shop
    reward = perk(admin, campaign, locations=[], requires_kyc=True)
    hold(campaign, 5, WALLET)
    holder = Holder((WALLET,))
    # The code is issued while the gate allows it, then redeemed after the gate refuses.
    monkeypatch.setattr(gates, "check_reward_kyc", lambda subject, reward_, session=None: None)
    code = redemption.issue_code(holder, reward.id, 5).code
    asked: list[object] = []

    def refuse(subject, reward_, session=None):  # type: ignore[no-untyped-def]
        asked.append(subject)
        if reward_.requires_kyc:
            raise KycRequired("Identity check needed before this perk can be used.", purpose="reward",
                              status_now="none", verify_path="/kyc/verify")

    monkeypatch.setattr(gates, "check_reward_kyc", refuse)
    assert redemption.my_perks(holder)[0].blocked == "Identity check needed before this perk can be used."
    with pytest.raises(Conflict, match="Identity check"):
        redemption.issue_code(holder, reward.id, 5)
    result = redemption.scan_code(staff, code)
    assert (result.status, result.reason) == ("refused", "kyc_required")
    assert asked and set(asked) == {WALLET}
    assert _count(RewardRedemption) == 0


def test_a_perk_that_requires_kyc_is_for_verified_accounts_only(shop):
    """The real gate (backend.kyc.gates): a wallet-only holder and an unverified account are refused; an account
    with an approved identity check lists, draws and redeems the perk."""
    _, campaign, admin, staff = shop
    reward = perk(admin, campaign, locations=[], requires_kyc=True)
    hold(campaign, 5, WALLET)
    wallet_holder = Holder((WALLET,))
    assert redemption.my_perks(wallet_holder)[0].blocked.startswith("This reward can only be redeemed after")
    with pytest.raises(Conflict):
        redemption.issue_code(wallet_holder, reward.id, 5)

    unverified = make_user()
    hold(campaign, 6, custodial_address(unverified.user_id))
    assert redemption.my_perks(account_holder(unverified.user_id))[0].blocked != ""

    verified = approved_consumer()
    # Bought with "keep it for me": the order says whose custodial wallet holds token 7 (the code names only it).
    checkout.start_checkout(campaign.slug, 1, verified.email, None, "10.0.0.7")
    hold(campaign, 7, custodial_address(verified.user_id))
    holder = account_holder(verified.user_id)
    assert redemption.my_perks(holder)[0].blocked == ""
    done = redemption.scan_code(staff, redemption.issue_code(holder, reward.id, 7).code)
    assert done.status == "redeemed", done.message
    assert _count(RewardRedemption) == 1

    # The same verified account with a wallet it proved (SIWE): that wallet's token is refused on the holder's page,
    # as the counter would refuse its code (the approval belongs to the account and its custodial wallet only).
    hold(campaign, 8, OTHER_WALLET)
    with_wallet = Holder((custodial_address(verified.user_id), OTHER_WALLET), user_id=verified.user_id)
    blocked = {p.token_id: p.blocked for p in redemption.my_perks(with_wallet)}
    assert blocked[7] == "" and blocked[8].startswith("This reward can only be redeemed after")
    with pytest.raises(Conflict):
        redemption.issue_code(with_wallet, reward.id, 8)
    assert redemption.scan_code(staff, codes.encode(reward.id, 8, OTHER_WALLET, int(time.time()) + 60)).reason == (
        "kyc_required")


def test_online_perk_gives_a_redemption_code_once(shop):
    _, campaign, admin, _ = shop
    reward = perk(admin, campaign, channel="online", locations=[], use_period="ever")
    hold(campaign, 5, WALLET)
    holder = Holder((WALLET,))
    with pytest.raises(Conflict, match="online"):
        redemption.issue_code(holder, reward.id, 5)
    done = redemption.redeem_online(holder, reward.id, 5)
    assert done.redemption_code.startswith("RW-") and done.uses_left == 0
    with pytest.raises(Conflict):
        redemption.redeem_online(holder, reward.id, 5)
    with pytest.raises(NotFound):
        redemption.redeem_online(Holder((OTHER_WALLET,)), reward.id, 5)
    assert _count(RewardRedemption) == 1


def test_admin_statistics_count_redemptions_by_day_location_and_staff_and_refusals_by_reason(shop):
    from backend.rewards import service

    _, campaign, admin, staff = shop
    reward = perk(admin, campaign, use_period="ever")
    for token in (1, 2, 3):
        hold(campaign, token, WALLET)
    for token, place in ((1, "Main St."), (2, "Main St."), (3, "Harbour")):
        assert redemption.scan_code(staff, codes.encode(reward.id, token, WALLET, int(time.time()) + 60),
                                    location=place).status == "redeemed"
    redemption.scan_code(staff, codes.encode(reward.id, 1, WALLET, int(time.time()) + 60), location="Harbour")
    redemption.scan_code(staff, codes.encode(reward.id, 2, WALLET, int(time.time()) - 100), location="Harbour")
    stats = service.reward_stats(admin, reward.id, days=7)
    assert (stats.redeemed, stats.refused) == (3, 2)
    assert len(stats.by_day) == 7 and stats.by_day[-1][1] == 3 and sum(n for _, n in stats.by_day) == 3
    assert stats.by_location == [("Main St.", 2), ("Harbour", 1)]
    assert stats.by_staff == [("Sam", 3)]
    assert sorted(stats.refusals) == [("already_redeemed", 1), ("expired", 1)]
    assert stats.recent_refusals[0][1:3] == ("Sam", "Harbour")
    with pytest.raises(NotFound):
        service.reward_stats(make_user(Role.BRAND_ADMIN, make_brand()), reward.id)
