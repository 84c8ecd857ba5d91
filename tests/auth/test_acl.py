"""The Actor's permission checks: brand-scoped roles, platform-wide roles, and `require`."""

from __future__ import annotations

import pytest

from backend.auth.acl import Actor, Permission, Role, require
from backend.errors import Forbidden, NotAuthenticated


def _actor(roles: dict[int | None, Role]) -> Actor:
    return Actor(user_id=1, email="a@example.com", roles=roles)


def test_brand_role_holds_only_in_its_brand():
    admin = _actor({1: Role.BRAND_ADMIN})
    assert admin.can(Permission.CAMPAIGN_WRITE, 1)
    assert not admin.can(Permission.CAMPAIGN_WRITE, 2)
    assert not admin.can(Permission.BRAND_READ, 2)
    assert not admin.can(Permission.BRAND_CREATE)


def test_platform_admin_holds_everything_everywhere():
    admin = _actor({None: Role.PLATFORM_ADMIN})
    assert all(admin.can(p, b) for p in Permission for b in (None, 1, 99))
    assert admin.can_use_admin() and admin.can_use_kyc()


def test_platform_wide_reviewer_reviews_kyc_in_every_brand_and_nothing_else():
    reviewer = _actor({None: Role.KYC_REVIEWER})
    assert reviewer.can(Permission.KYC_REVIEW, 1) and reviewer.can(Permission.KYC_REVIEW, 2)
    assert not reviewer.can(Permission.CAMPAIGN_READ, 1)
    assert reviewer.can_use_kyc() and not reviewer.can_use_admin()


def test_platform_reviewer_who_is_also_brand_staff_keeps_kyc_rights_in_that_brand():
    both = _actor({None: Role.KYC_REVIEWER, 1: Role.BRAND_STAFF})
    assert both.can(Permission.CAMPAIGN_READ, 1)  # from the brand role
    assert both.can(Permission.KYC_REVIEW, 1)  # from the platform-wide role
    assert both.can(Permission.KYC_REVIEW, 2)
    assert not both.can(Permission.CAMPAIGN_READ, 2)


def test_consumer_holds_nothing():
    consumer = _actor({})
    assert not any(consumer.can(p, b) for p in Permission for b in (None, 1))
    assert consumer.all_roles() == {Role.CONSUMER}
    assert not consumer.can_use_admin() and not consumer.can_use_kyc()


def test_require_refuses_anonymous_then_unauthorised():
    with pytest.raises(NotAuthenticated):
        require(None, Permission.BRAND_READ, 1)
    with pytest.raises(Forbidden):
        require(_actor({1: Role.BRAND_STAFF}), Permission.CAMPAIGN_WRITE, 1)
    staff = _actor({1: Role.BRAND_STAFF})
    assert require(staff, Permission.CAMPAIGN_READ, 1) is staff


def test_load_in_brand_refuses_another_brands_row_as_a_missing_one_and_checks_the_permission_after():
    from backend.auth.acl import load_in_brand
    from backend.errors import NotFound

    class Row:
        def __init__(self, brand_id: int) -> None:
            self.brand_id = brand_id

    rows = {1: Row(1), 2: Row(2)}

    class FakeSession:  # session.get is all the loader uses
        def get(self, model: type, row_id: int) -> Row | None:
            return rows.get(row_id)

    def load(actor: Actor | None, row_id: int, permission: Permission = Permission.CAMPAIGN_WRITE) -> Row:
        return load_in_brand(FakeSession(), actor, Row, row_id, permission,  # type: ignore[arg-type]
                             visible=Permission.CAMPAIGN_READ, not_found="Nothing here.")

    staff, admin = _actor({1: Role.BRAND_STAFF}), _actor({1: Role.BRAND_ADMIN})
    assert load(admin, 1) is rows[1]
    assert load(staff, 1, Permission.CAMPAIGN_READ) is rows[1]
    with pytest.raises(Forbidden):
        load(staff, 1)  # sees it, may not change it
    for row_id in (2, 3):  # another brand's row, a missing one: the same answer
        with pytest.raises(NotFound, match="Nothing here"):
            load(admin, row_id)
    with pytest.raises(NotAuthenticated):
        load(None, 1)
