"""Campaign commands and queries: validation per field, slugs, partial updates, status changes, deletion, listing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from sqlmodel import select

from backend.auth.acl import Role
from backend.campaigns.models import Campaign, CampaignStatus
from backend.campaigns.service import (
    change_campaign_status,
    create_campaign,
    delete_campaign,
    get_campaign,
    list_campaigns,
    update_campaign,
)
from backend.chain.models import ContractDeployment
from backend.db import is_postgresql, session_scope, utcnow
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.workflow.machines import ContractState
from tests.factories import campaign_fields, make_brand, make_campaign, make_user

ADDRESS = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


@pytest.fixture
def brand():
    return make_brand()


@pytest.fixture
def admin(brand):
    return make_user(Role.BRAND_ADMIN, brand)


def _set_sold(campaign_id: int, sold: int) -> None:
    with session_scope() as session:
        session.exec(update(Campaign).where(Campaign.id == campaign_id).values(sold_count=sold))


def test_create_stores_the_normalised_campaign_as_a_draft(brand, admin):
    created = create_campaign(admin, brand.id, campaign_fields(
        slug=" Summer-Drop ", currency="eur", royalty_receiver=ADDRESS.lower(), primary_color="#abcdef"))
    stored = get_campaign(admin, created.id)
    assert stored.slug == "summer-drop"
    assert stored.currency == "EUR"
    assert stored.royalty_receiver == ADDRESS
    assert stored.primary_color == "#ABCDEF"
    assert stored.status is CampaignStatus.DRAFT
    assert stored.brand_id == brand.id
    assert stored.created_by == admin.user_id
    assert stored.sold_count == 0


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"slug": "Not a slug!"}, "slug", "lowercase letters"),
        ({"price_minor": -1}, "price_minor", "greater than or equal to 0"),
        ({"currency": "XYZ"}, "currency", "must be one of USD, EUR"),
        ({"supply_cap": 0}, "supply_cap", "greater than or equal to 1"),
        ({"supply_cap": 10, "per_wallet_cap": 11}, "per_wallet_cap", "cannot exceed supply_cap"),
        ({"royalty_bps": 10_001}, "royalty_bps", "less than or equal to 10000"),
        ({"royalty_bps": 500, "royalty_receiver": ""}, "royalty_receiver", "required when royalty_bps"),
        ({"royalty_receiver": ADDRESS.replace("bD4", "Bd4")}, "royalty_receiver", "wrong checksum"),
        ({"royalty_receiver": "0x1234"}, "royalty_receiver", "not a valid address"),
        ({"sale_starts_at": utcnow(), "sale_ends_at": utcnow() - timedelta(days=1)}, "sale_ends_at",
         "must be after sale_starts_at"),
        ({"sale_starts_at": datetime(2026, 12, 1, 10, 0)}, "sale_starts_at", "must include a timezone"),
        ({"name": ""}, "name", "at least 1 character"),
        ({"image_url": "javascript:alert(1)"}, "image_url", "http(s) URL"),
        ({"accent_color": "orange"}, "accent_color", "colour"),
        ({"surprise": 1}, "surprise", "unknown field"),
    ],
    ids=["slug", "negative-price", "currency", "zero-supply", "wallet-cap-over-supply", "royalty-over-100pct",
         "royalty-receiver-required", "bad-checksum", "short-address", "end-before-start", "naive-datetime",
         "empty-name", "bad-url", "bad-colour", "unknown-field"],
)
def test_create_reports_each_problem_under_its_field(brand, admin, overrides, field, message):
    with pytest.raises(ValidationFailed) as caught:
        create_campaign(admin, brand.id, campaign_fields(**overrides))
    assert caught.value.status == 422
    assert field in caught.value.fields, caught.value.fields
    assert message in caught.value.fields[field]
    assert list_campaigns(admin, brand.id).total == 0  # nothing stored


def test_zero_royalty_needs_no_receiver_and_zero_price_is_free(brand, admin):
    created = create_campaign(admin, brand.id, campaign_fields(royalty_bps=0, royalty_receiver="", price_minor=0))
    assert created.royalty_receiver == "" and created.price_minor == 0


def test_slug_must_be_unique_across_brands(brand, admin):
    create_campaign(admin, brand.id, campaign_fields(slug="launch"))
    other_brand = make_brand()
    other_admin = make_user(Role.BRAND_ADMIN, other_brand)
    with pytest.raises(Conflict) as caught:
        create_campaign(other_admin, other_brand.id, campaign_fields(slug="LAUNCH"))
    assert "slug" in caught.value.fields


def test_create_for_a_missing_brand_is_not_found():
    platform = make_user(Role.PLATFORM_ADMIN)
    with pytest.raises(NotFound):
        create_campaign(platform, 999_999, campaign_fields())


def test_update_changes_only_the_fields_sent(brand, admin):
    campaign = make_campaign(brand, status=CampaignStatus.DRAFT, name="Before", price_minor=1000)
    updated = update_campaign(admin, campaign.id, {"name": "After"})
    stored = get_campaign(admin, campaign.id)
    assert updated.name == stored.name == "After"
    assert stored.price_minor == 1000
    assert stored.slug == campaign.slug
    assert stored.updated_at >= campaign.updated_at


def test_update_rechecks_the_whole_campaign(brand, admin):
    campaign = make_campaign(brand, status=CampaignStatus.DRAFT, supply_cap=100, per_wallet_cap=5)
    with pytest.raises(ValidationFailed) as caught:
        update_campaign(admin, campaign.id, {"supply_cap": 3})  # now below the per-wallet cap of 5
    assert "per_wallet_cap" in caught.value.fields
    starts = campaign.sale_starts_at
    assert starts is not None
    with pytest.raises(ValidationFailed) as caught:
        update_campaign(admin, campaign.id, {"sale_ends_at": starts - timedelta(hours=1)})
    assert "sale_ends_at" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        update_campaign(admin, campaign.id, {"royalty_receiver": ""})  # royalty is 500 bps
    assert "royalty_receiver" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        update_campaign(admin, campaign.id, {"name": None})
    assert "name" in caught.value.fields
    stored = get_campaign(admin, campaign.id)
    assert (stored.supply_cap, stored.sale_ends_at, stored.royalty_receiver, stored.name) == (
        campaign.supply_cap, campaign.sale_ends_at, campaign.royalty_receiver, campaign.name)


def test_update_to_a_taken_slug_is_refused_but_keeping_its_own_is_fine(brand, admin):
    first = make_campaign(brand, slug="first")
    second = make_campaign(brand, slug="second")
    with pytest.raises(Conflict):
        update_campaign(admin, second.id, {"slug": "first"})
    assert update_campaign(admin, first.id, {"slug": "first", "name": "Same slug"}).name == "Same slug"


def test_supply_cannot_drop_below_what_is_sold(brand, admin):
    campaign = make_campaign(brand, supply_cap=100, per_wallet_cap=1)
    _set_sold(campaign.id, 40)
    with pytest.raises(ValidationFailed) as caught:
        update_campaign(admin, campaign.id, {"supply_cap": 39})
    assert "at least 40" in caught.value.fields["supply_cap"]
    assert update_campaign(admin, campaign.id, {"supply_cap": 40}).supply_cap == 40


def _deployment(campaign: Campaign, state: ContractState) -> None:
    with session_scope() as session:
        session.add(ContractDeployment(campaign_id=campaign.id, chain=campaign.chain, state=state,
                                       contract_address=ADDRESS if state is ContractState.DEPLOYED else None))


@pytest.mark.parametrize("state", [ContractState.DEPLOYING, ContractState.DEPLOYED])
def test_what_the_contract_was_deployed_with_cannot_change(brand, admin, state):
    campaign = make_campaign(brand, supply_cap=100, royalty_bps=500, royalty_receiver=ADDRESS, deployed=False)
    _deployment(campaign, state)
    with pytest.raises(ValidationFailed) as caught:
        update_campaign(admin, campaign.id, {"supply_cap": 101, "slug": "renamed", "royalty_bps": 250})
    assert set(caught.value.fields) == {"supply_cap", "slug", "royalty_bps"}
    assert "caps supply at 100" in caught.value.fields["supply_cap"]
    # Lowering the supply, resending the same values, and off-chain fields are fine.
    changed = update_campaign(admin, campaign.id, {"supply_cap": 90, "slug": campaign.slug, "royalty_bps": 500,
                                                   "description": "Now with more coffee."})
    assert (changed.supply_cap, changed.description) == (90, "Now with more coffee.")


def test_before_deployment_the_contract_fields_are_free_to_change(brand, admin):
    campaign = make_campaign(brand, supply_cap=100, deployed=False)
    _deployment(campaign, ContractState.DEPLOY_REQUESTED)  # the deployer reads the campaign when it sends
    assert update_campaign(admin, campaign.id, {"supply_cap": 200}).supply_cap == 200


def test_archived_campaign_cannot_be_changed(brand, admin):
    campaign = make_campaign(brand, status=CampaignStatus.ARCHIVED)
    with pytest.raises(Conflict):
        update_campaign(admin, campaign.id, {"name": "Revived"})


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (CampaignStatus.DRAFT, CampaignStatus.PUBLISHED),
        (CampaignStatus.DRAFT, CampaignStatus.ARCHIVED),
        (CampaignStatus.PUBLISHED, CampaignStatus.PAUSED),
        (CampaignStatus.PUBLISHED, CampaignStatus.ARCHIVED),
        (CampaignStatus.PAUSED, CampaignStatus.PUBLISHED),
        (CampaignStatus.PAUSED, CampaignStatus.ARCHIVED),
    ],
)
def test_allowed_status_changes(brand, admin, start, target):
    campaign = make_campaign(brand, status=start)
    assert change_campaign_status(admin, campaign.id, target).status is target
    assert get_campaign(admin, campaign.id).status is target


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (CampaignStatus.DRAFT, CampaignStatus.PAUSED),
        (CampaignStatus.DRAFT, CampaignStatus.DRAFT),
        (CampaignStatus.PUBLISHED, CampaignStatus.DRAFT),
        (CampaignStatus.PUBLISHED, CampaignStatus.PUBLISHED),
        (CampaignStatus.PAUSED, CampaignStatus.DRAFT),
        (CampaignStatus.ARCHIVED, CampaignStatus.PUBLISHED),
        (CampaignStatus.ARCHIVED, CampaignStatus.DRAFT),
    ],
)
def test_refused_status_changes_name_both_states(brand, admin, start, target):
    campaign = make_campaign(brand, status=start)
    with pytest.raises(Conflict) as caught:
        change_campaign_status(admin, campaign.id, target)
    assert start.value in caught.value.message and target.value in caught.value.message
    assert get_campaign(admin, campaign.id).status is start


def test_status_given_as_text_works_and_unknown_status_is_a_validation_error(brand, admin):
    campaign = make_campaign(brand, status=CampaignStatus.DRAFT)
    assert change_campaign_status(admin, campaign.id, "published").status is CampaignStatus.PUBLISHED  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as caught:
        change_campaign_status(admin, campaign.id, "launched")  # type: ignore[arg-type]
    assert "status" in caught.value.fields


def test_only_a_draft_with_nothing_sold_can_be_deleted(brand, admin):
    draft = make_campaign(brand, status=CampaignStatus.DRAFT)
    delete_campaign(admin, draft.id)
    with pytest.raises(NotFound):
        get_campaign(admin, draft.id)
    for status in (CampaignStatus.PUBLISHED, CampaignStatus.PAUSED, CampaignStatus.ARCHIVED):
        campaign = make_campaign(brand, status=status)
        with pytest.raises(Conflict):
            delete_campaign(admin, campaign.id)
        assert get_campaign(admin, campaign.id).status is status
    sold_draft = make_campaign(brand, status=CampaignStatus.DRAFT)
    _set_sold(sold_draft.id, 1)
    with pytest.raises(Conflict):
        delete_campaign(admin, sold_draft.id)


@pytest.mark.parametrize("state", [ContractState.DEPLOY_REQUESTED, ContractState.DEPLOYING, ContractState.DEPLOYED])
def test_a_draft_whose_contract_is_deployed_or_being_deployed_cannot_be_deleted_only_archived(brand, admin, state):
    draft = make_campaign(brand, status=CampaignStatus.DRAFT, deployed=False)
    _deployment(draft, state)
    with pytest.raises(Conflict) as caught:
        delete_campaign(admin, draft.id)
    assert "archive it instead" in caught.value.message
    with session_scope() as session:  # the platform's contract is still on record
        assert session.exec(select(ContractDeployment).where(ContractDeployment.campaign_id == draft.id)).one()
    assert change_campaign_status(admin, draft.id, CampaignStatus.ARCHIVED).status is CampaignStatus.ARCHIVED


def test_a_draft_whose_deploy_failed_can_still_be_deleted(brand, admin):
    draft = make_campaign(brand, status=CampaignStatus.DRAFT, deployed=False)
    _deployment(draft, ContractState.FAILED)
    delete_campaign(admin, draft.id)
    with pytest.raises(NotFound):
        get_campaign(admin, draft.id)


def test_an_update_waits_for_the_deployer_holding_the_deployment_and_then_sees_it_deploying(brand, admin):
    """The deployer claims the deployment row and builds the constructor from the campaign's slug and royalty; an
    update racing it must wait for that claim, then be refused the on-chain fields, not slip a new slug in."""
    if not is_postgresql():
        pytest.skip("row locks: SQLite's writers queue at BEGIN")
    campaign = make_campaign(brand, deployed=False)
    _deployment(campaign, ContractState.DEPLOY_REQUESTED)
    outcome: list[object] = []
    with session_scope() as deployer:
        claimed = deployer.exec(select(ContractDeployment).where(ContractDeployment.campaign_id == campaign.id)
                                .with_for_update()).one()
        updating = threading.Thread(target=lambda: outcome.append(
            _outcome_of(lambda: update_campaign(admin, campaign.id, {"slug": "renamed-while-deploying"}))))
        updating.start()
        updating.join(timeout=1)
        assert not outcome, "the update did not wait for the deployer's claim"
        claimed.state = ContractState.DEPLOYING
        deployer.add(claimed)
    updating.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], ValidationFailed), outcome
    assert get_campaign(admin, campaign.id).slug == campaign.slug


def _outcome_of(call):  # type: ignore[no-untyped-def]
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc


def test_list_filters_searches_sorts_and_pages(brand, admin):
    make_campaign(brand, name="Alpha Pass", slug="alpha", price_minor=300, status=CampaignStatus.DRAFT)
    make_campaign(brand, name="Beta Pass", slug="beta", price_minor=100)
    make_campaign(brand, name="Gamma Coin", slug="gamma", price_minor=200)
    make_campaign(make_brand(), name="Other brand pass", slug="other")

    everything = list_campaigns(admin, brand.id)
    assert everything.total == 3
    assert {c.slug for c in everything.items} == {"alpha", "beta", "gamma"}

    published = list_campaigns(admin, brand.id, status=CampaignStatus.PUBLISHED)
    assert {c.slug for c in published.items} == {"beta", "gamma"}

    assert [c.slug for c in list_campaigns(admin, brand.id, search="PASS", sort="name", descending=False).items] == [
        "alpha", "beta"]
    by_price = list_campaigns(admin, brand.id, sort="price_minor", descending=False, limit=2)
    assert [c.slug for c in by_price.items] == ["beta", "gamma"]
    assert by_price.total == 3 and by_price.has_next
    last = list_campaigns(admin, brand.id, sort="price_minor", descending=False, limit=2, offset=2)
    assert [c.slug for c in last.items] == ["alpha"] and not last.has_next


def test_list_search_takes_percent_and_underscore_literally(brand, admin):
    make_campaign(brand, name="100% Arabica", slug="arabica")
    make_campaign(brand, name="1000 Beans", slug="beans")
    make_campaign(brand, name="Cold_Brew", slug="cold-brew-a")
    make_campaign(brand, name="ColdSBrew", slug="cold-brew-b")
    assert [c.slug for c in list_campaigns(admin, brand.id, search="100%").items] == ["arabica"]
    assert [c.slug for c in list_campaigns(admin, brand.id, search="d_b").items] == ["cold-brew-a"]


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"sort": "password"}, "sort"), ({"limit": 0}, "limit"), ({"limit": 101}, "limit"),
                          ({"offset": -1}, "offset")],
)
def test_list_refuses_bad_sort_and_paging(brand, admin, kwargs, field):
    with pytest.raises(ValidationFailed) as caught:
        list_campaigns(admin, brand.id, **kwargs)
    assert field in caught.value.fields


def test_sale_window_in_another_timezone_is_stored_as_the_same_instant(brand, admin):
    tokyo = timezone(timedelta(hours=9))
    starts = datetime(2030, 1, 1, 9, 0, tzinfo=tokyo)
    created = create_campaign(admin, brand.id,
                              campaign_fields(sale_starts_at=starts, sale_ends_at=starts + timedelta(days=1)))
    stored = get_campaign(admin, created.id)
    assert stored.sale_starts_at == datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    assert stored.sale_starts_at.utcoffset() == timedelta(0)
