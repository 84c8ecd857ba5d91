"""Brands and their members: create/update validation, invitations, direct membership, the last-admin rule."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import update

from backend.auth.acl import Role
from backend.auth.models import Invitation
from backend.auth.service import authenticate_access_token, login
from backend.brands import service as brands_service
from backend.brands.service import (
    accept_invitation,
    change_member_role,
    create_brand,
    get_brand,
    invite_member,
    list_brands,
    list_members,
    remove_member,
    update_brand,
)
from backend.db import session_scope, utcnow
from backend.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from tests.brands.support import latest_token
from tests.factories import PASSWORD, make_brand, make_user

NEW_PASSWORD = "Fresh-meadow-2031!"


@pytest.fixture
def brand():
    return make_brand(name="Aurora")


@pytest.fixture
def admin(brand):
    return make_user(Role.BRAND_ADMIN, brand, email="owner@example.com")


def _members(admin, brand) -> dict[str, tuple[Role, bool]]:
    return {m.email: (m.role, m.pending) for m in list_members(admin, brand.id)}


def test_platform_admin_creates_a_brand_with_normalised_fields():
    platform = make_user(Role.PLATFORM_ADMIN)
    brand = create_brand(platform, {"slug": "Nova-Tea", "name": " Nova Tea ", "primary_color": "#00ff00"})
    stored = get_brand(platform, brand.id)
    assert (stored.slug, stored.name, stored.primary_color, stored.accent_color) == (
        "nova-tea", "Nova Tea", "#00FF00", "#F59E0B")
    assert [b.slug for b in list_brands(platform)] == ["nova-tea"]


def test_brand_slug_is_unique_and_fields_are_validated():
    platform = make_user(Role.PLATFORM_ADMIN)
    create_brand(platform, {"slug": "nova", "name": "Nova"})
    with pytest.raises(Conflict) as caught:
        create_brand(platform, {"slug": "nova", "name": "Nova again"})
    assert "slug" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        create_brand(platform, {"slug": "-bad-", "name": "", "logo_url": "ftp://x", "accent_color": "blue"})
    assert set(caught.value.fields) == {"slug", "name", "logo_url", "accent_color"}


def test_update_brand_changes_only_what_is_sent(brand, admin):
    update_brand(admin, brand.id, {"accent_color": "#123abc"})
    stored = get_brand(admin, brand.id)
    assert (stored.name, stored.accent_color) == ("Aurora", "#123ABC")
    with pytest.raises(ValidationFailed) as caught:
        update_brand(admin, brand.id, {"slug": "renamed"})  # slugs are permanent: unknown field here
    assert caught.value.fields == {"slug": "unknown field"}


def test_inviting_a_new_email_creates_a_pending_member_who_accepts_and_can_log_in(brand, admin):
    result = invite_member(admin, brand.id, " New.Person@Example.COM ", "brand_staff")
    assert (result.email, result.role, result.sent) == ("new.person@example.com", Role.BRAND_STAFF, True)
    assert _members(admin, brand)["new.person@example.com"] == (Role.BRAND_STAFF, True)
    with pytest.raises(NotAuthenticated):  # no password yet: cannot sign in
        login("new.person@example.com", NEW_PASSWORD, ip="10.0.0.1")

    accepted = accept_invitation(latest_token("new.person@example.com"), NEW_PASSWORD, display_name="New Person",
                                 ip="10.0.0.1")
    assert accepted.email == "new.person@example.com"

    assert _members(admin, brand)["new.person@example.com"] == (Role.BRAND_STAFF, False)
    actor = authenticate_access_token(login("new.person@example.com", NEW_PASSWORD, ip="10.0.0.1").access_token)
    assert actor.roles == {brand.id: Role.BRAND_STAFF}
    assert [m.display_name for m in list_members(admin, brand.id) if m.email == "new.person@example.com"] == [
        "New Person"]


def test_an_invitation_is_single_use(brand, admin):
    invite_member(admin, brand.id, "once@example.com", Role.BRAND_STAFF)
    token = latest_token("once@example.com")
    accept_invitation(token, NEW_PASSWORD, ip="10.0.0.1")
    with pytest.raises(NotFound):
        accept_invitation(token, "Another-password-77", ip="10.0.0.1")
    login("once@example.com", NEW_PASSWORD, ip="10.0.0.1")  # the first password still holds


def test_expired_or_unknown_invitation_is_refused(brand, admin):
    invite_member(admin, brand.id, "late@example.com", Role.BRAND_STAFF)
    token = latest_token("late@example.com")
    with session_scope() as session:
        session.exec(update(Invitation).values(expires_at=utcnow() - timedelta(seconds=1)))
    with pytest.raises(NotFound, match="no longer valid"):
        accept_invitation(token, NEW_PASSWORD, ip="10.0.0.1")
    with pytest.raises(NotFound):
        accept_invitation("no-such-token", NEW_PASSWORD, ip="10.0.0.1")


def test_accepting_with_a_weak_password_is_refused_and_the_invitation_stays_usable(brand, admin):
    invite_member(admin, brand.id, "careful@example.com", Role.BRAND_STAFF)
    token = latest_token("careful@example.com")
    with pytest.raises(ValidationFailed) as caught:
        accept_invitation(token, "short", ip="10.0.0.1")
    assert "password" in caught.value.fields
    accept_invitation(token, NEW_PASSWORD, ip="10.0.0.1")
    login("careful@example.com", NEW_PASSWORD, ip="10.0.0.1")


def test_inviting_an_existing_user_waits_for_them_to_accept(brand, admin):
    other = make_user(email="existing@example.com")
    result = invite_member(admin, brand.id, "EXISTING@example.com", Role.BRAND_ADMIN)
    assert result.sent is True
    assert _members(admin, brand)["existing@example.com"] == (Role.BRAND_ADMIN, True)
    accept_invitation(latest_token("existing@example.com"), PASSWORD, ip="10.0.0.2")
    assert _members(admin, brand)["existing@example.com"] == (Role.BRAND_ADMIN, False)
    actor = authenticate_access_token(login("existing@example.com", PASSWORD, ip="10.0.0.2").access_token)
    assert actor.user_id == other.user_id and actor.roles == {brand.id: Role.BRAND_ADMIN}
    with pytest.raises(Conflict):
        invite_member(admin, brand.id, "existing@example.com", Role.BRAND_STAFF)


@pytest.mark.parametrize("role", ["platform_admin", "consumer", "owner", "kyc_reviewer"])
def test_roles_outside_the_brand_roles_are_refused(brand, admin, role):
    with pytest.raises(ValidationFailed) as caught:
        invite_member(admin, brand.id, "x@example.com", role)
    assert "role" in caught.value.fields
    staff = make_user(Role.BRAND_STAFF, brand)
    with pytest.raises(ValidationFailed):
        change_member_role(admin, brand.id, staff.user_id, role)
    assert "x@example.com" not in _members(admin, brand)
    assert _members(admin, brand)[staff.email][0] is Role.BRAND_STAFF


def test_bad_invite_email_is_a_field_error(brand, admin):
    with pytest.raises(ValidationFailed) as caught:
        invite_member(admin, brand.id, "not-an-email", Role.BRAND_STAFF)
    assert "email" in caught.value.fields


def test_the_last_brand_admin_can_be_neither_demoted_nor_removed(brand, admin):
    with pytest.raises(Conflict, match="at least one admin"):
        change_member_role(admin, brand.id, admin.user_id, Role.BRAND_STAFF)
    with pytest.raises(Conflict, match="at least one admin"):
        remove_member(admin, brand.id, admin.user_id)
    assert _members(admin, brand)[admin.email][0] is Role.BRAND_ADMIN

    second = make_user(Role.BRAND_STAFF, brand)
    change_member_role(admin, brand.id, second.user_id, Role.BRAND_ADMIN)
    change_member_role(admin, brand.id, admin.user_id, Role.BRAND_STAFF)  # now allowed: another admin exists
    assert _members(make_user(Role.PLATFORM_ADMIN), brand)[admin.email][0] is Role.BRAND_STAFF


@pytest.mark.parametrize("take_away", [
    lambda actor, brand_id, user_id: change_member_role(actor, brand_id, user_id, Role.BRAND_STAFF),
    remove_member,
], ids=["demote", "remove"])
def test_two_admins_taking_each_other_away_at_once_leave_the_brand_one_admin(brand, admin, take_away, monkeypatch):
    """A race only PostgreSQL can run (SQLite's writers queue at BEGIN): each command locks its target and then
    counts the admins left, and must not count the other, who is being taken away at the same moment."""
    other = make_user(Role.BRAND_ADMIN, brand, email="co-owner@example.com")
    lock_target = brands_service._membership

    def slow_lock_target(*args, **kwargs):  # type: ignore[no-untyped-def]
        membership = lock_target(*args, **kwargs)
        time.sleep(0.5)  # both commands hold their target before either counts
        return membership

    monkeypatch.setattr(brands_service, "_membership", slow_lock_target)

    def attempt(actor_and_target: tuple) -> str:  # type: ignore[type-arg]
        actor, target = actor_and_target
        try:
            take_away(actor, brand.id, target.user_id)
        except Conflict:
            return "refused"
        return "done"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(attempt, [(admin, other), (other, admin)]))
    assert sorted(outcomes) == ["done", "refused"]
    members = _members(make_user(Role.PLATFORM_ADMIN), brand)
    assert [role for role, pending in members.values() if not pending].count(Role.BRAND_ADMIN) == 1


def test_removing_a_member_ends_their_access(brand, admin):
    staff = make_user(Role.BRAND_STAFF, brand)
    remove_member(admin, brand.id, staff.user_id)
    assert staff.email not in _members(admin, brand)
    actor = authenticate_access_token(login(staff.email, PASSWORD, ip="10.0.0.3").access_token)
    assert actor.roles == {}
    with pytest.raises(NotFound):
        get_brand(actor, brand.id)
    with pytest.raises(NotFound):
        remove_member(admin, brand.id, staff.user_id)


def test_members_of_another_brand_are_not_found_here(brand, admin):
    elsewhere = make_user(Role.BRAND_STAFF, make_brand())
    with pytest.raises(NotFound):
        change_member_role(admin, brand.id, elsewhere.user_id, Role.BRAND_ADMIN)
    with pytest.raises(NotFound):
        remove_member(admin, brand.id, elsewhere.user_id)


def test_a_kyc_reviewer_is_not_a_brand_role_and_the_refusal_says_where_to_go(brand, admin):
    with pytest.raises(ValidationFailed, match="whole platform") as caught:
        invite_member(admin, brand.id, "reviewer@example.com", Role.KYC_REVIEWER)
    assert caught.value.fields == {"role": "not a brand role"}


def test_a_platform_admin_invites_a_kyc_reviewer_who_accepts_and_reviews_platform_wide(brand, admin):
    from backend.auth.acl import Permission
    from backend.brands.service import PLATFORM_TEAM, invitation_for_link, resend_invitation
    from backend.notifications.service import mailbox

    platform = make_user(Role.PLATFORM_ADMIN, email="root@example.com")
    result = invite_member(platform, PLATFORM_TEAM, "Kim@Example.com", Role.KYC_REVIEWER)
    assert (result.email, result.role, result.sent) == ("kim@example.com", Role.KYC_REVIEWER, True)
    team = {m.email: (m.role, m.pending) for m in list_members(platform, PLATFORM_TEAM)}
    assert team == {"kim@example.com": (Role.KYC_REVIEWER, True)}  # platform admins are not listed as the team
    [mail] = mailbox(to="kim@example.com")
    assert mail.subject == "Join the Primsell KYC review team on Primsell" and "as a KYC reviewer" in mail.body_text
    token = latest_token("kim@example.com")
    assert invitation_for_link(token).brand_name == "the Primsell KYC review team"

    accept_invitation(token, NEW_PASSWORD, ip="10.0.0.3")
    access = login("kim@example.com", NEW_PASSWORD, ip="10.0.0.3").access_token
    actor = authenticate_access_token(access)
    assert actor.roles == {None: Role.KYC_REVIEWER} and actor.can(Permission.KYC_REVIEW)
    assert list_members(platform, PLATFORM_TEAM)[0].pending is False
    with pytest.raises(Conflict):
        invite_member(platform, PLATFORM_TEAM, "kim@example.com", Role.KYC_REVIEWER)
    with pytest.raises(Conflict):  # already a platform admin: not invited as a reviewer on top
        invite_member(platform, PLATFORM_TEAM, "root@example.com", Role.KYC_REVIEWER)
    with pytest.raises(ValidationFailed):  # the team gives no other role: no platform admin by link
        invite_member(platform, PLATFORM_TEAM, "new-root@example.com", Role.PLATFORM_ADMIN)
    with pytest.raises(NotFound):  # a platform admin is not the team's to remove here
        remove_member(platform, PLATFORM_TEAM, platform.user_id)
    with pytest.raises(Conflict):
        resend_invitation(platform, PLATFORM_TEAM, actor.user_id)

    remove_member(platform, PLATFORM_TEAM, actor.user_id)
    assert list_members(platform, PLATFORM_TEAM) == []
    with pytest.raises(NotAuthenticated):  # removing signs them out everywhere
        authenticate_access_token(access)
    assert authenticate_access_token(login("kim@example.com", NEW_PASSWORD, ip="10.0.0.3").access_token).roles == {}


@pytest.mark.parametrize("role", [Role.BRAND_ADMIN, Role.BRAND_STAFF, Role.KYC_REVIEWER])
def test_only_a_platform_admin_manages_the_kyc_team(brand, role):
    from backend.brands.service import PLATFORM_TEAM
    from backend.errors import Forbidden

    someone = make_user(role) if role is Role.KYC_REVIEWER else make_user(role, brand)
    for call in (lambda: list_members(someone, PLATFORM_TEAM),
                 lambda: invite_member(someone, PLATFORM_TEAM, "x@example.com", Role.KYC_REVIEWER),
                 lambda: remove_member(someone, PLATFORM_TEAM, someone.user_id)):
        with pytest.raises(Forbidden):
            call()


def test_a_brand_invitation_as_kyc_reviewer_sent_before_the_change_can_no_longer_be_accepted(brand, admin):
    from backend.auth.models import Membership

    invite_member(admin, brand.id, "late-reviewer@example.com", Role.BRAND_STAFF)
    with session_scope() as session:  # as such invitations were sent before reviewers became the platform's
        session.exec(update(Membership).where(Membership.accepted_at.is_(None)).values(role=Role.KYC_REVIEWER))
    with pytest.raises(NotFound, match="no longer valid"):
        accept_invitation(latest_token("late-reviewer@example.com"), NEW_PASSWORD, ip="10.0.0.4")
