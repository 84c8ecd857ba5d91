"""Invitations are requests the invitee accepts from their own mailbox: the inviting admin never holds a link, an
account with a password is joined by signing in (never by setting a password), and a link dies with the password
or the membership it was issued for."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.links import set_password_with_link
from backend.auth.models import User
from backend.auth.service import (
    actor_for_web_session,
    authenticate_access_token,
    begin_web_sign_in,
    complete_web_sign_in,
    create_user,
    load_actor,
    login,
)
from backend.brands.service import (
    accept_invitation,
    change_member_role,
    invitation_for_link,
    invite_member,
    list_members,
    remove_member,
    resend_invitation,
)
from backend.db import session_scope
from backend.errors import Conflict, NotAuthenticated, NotFound, RateLimited, ValidationFailed
from backend.notifications.service import mailbox
from tests.brands.support import invitation_links, latest_token, token_of
from tests.factories import PASSWORD, make_brand, make_user

NEW_PASSWORD = "Fresh-meadow-2031!"
IP = "10.7.0.1"


@pytest.fixture
def brand():
    return make_brand(name="Aurora")


@pytest.fixture
def admin(brand):
    return make_user(Role.BRAND_ADMIN, brand, email="owner@example.com")


def make_buyer(email: str = "buyer@example.com") -> int:
    """An account as checkout creates it: no password."""
    with session_scope() as session:
        return create_user(session, email, None).id  # type: ignore[return-value]


def roles_of(email: str) -> dict[int | None, Role]:
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == email)).one()
        return load_actor(session, user).roles


def password_hash(email: str) -> str | None:
    with session_scope() as session:
        return session.exec(select(User.password_hash).where(User.email == email)).one()


# --- the takeover -------------------------------------------------------------------------------------------------


def test_inviting_an_existing_buyer_hands_the_admin_nothing_to_set_a_password_with(brand, admin):
    make_buyer()
    result = invite_member(admin, brand.id, "buyer@example.com", Role.BRAND_STAFF)
    # What the admin gets back says where the invitation went, and carries no token or link.
    assert dataclasses.asdict(result) == {"email": "buyer@example.com", "role": Role.BRAND_STAFF, "sent": True}
    # The link went to the buyer's own mailbox.
    [link] = invitation_links("buyer@example.com")
    assert "Aurora" in mailbox(to="buyer@example.com")[0].subject
    assert link not in repr(result)


def test_a_pending_invitation_grants_nothing_until_the_invitee_accepts(brand, admin):
    existing = make_user(email="known@example.com")
    invite_member(admin, brand.id, "known@example.com", Role.BRAND_ADMIN)
    assert roles_of("known@example.com") == {}
    assert {m.email: m.pending for m in list_members(admin, brand.id)}["known@example.com"] is True
    accept_invitation(latest_token("known@example.com"), PASSWORD, ip=IP)
    assert roles_of("known@example.com") == {brand.id: Role.BRAND_ADMIN}
    assert existing.user_id == authenticate_access_token(
        login("known@example.com", PASSWORD, ip=IP).access_token).user_id


def test_accepting_for_an_account_with_a_password_means_signing_in_and_never_sets_it(brand, admin):
    make_user(email="known@example.com")
    invite_member(admin, brand.id, "known@example.com", Role.BRAND_STAFF)
    token = latest_token("known@example.com")
    view = invitation_for_link(token)
    assert (view.email, view.brand_name, view.role, view.needs_password) == (
        "known@example.com", "Aurora", Role.BRAND_STAFF, False)
    before = password_hash("known@example.com")

    with pytest.raises(NotAuthenticated):
        accept_invitation(token, NEW_PASSWORD, ip=IP)  # whoever holds the link cannot choose the password
    assert password_hash("known@example.com") == before
    assert roles_of("known@example.com") == {}

    accepted = accept_invitation(token, PASSWORD, ip=IP)
    assert accepted.email == "known@example.com"
    assert password_hash("known@example.com") == before
    cookie, _ = complete_web_sign_in(accepted.sign_in_code)  # accepting signs the invitee in
    assert actor_for_web_session(cookie).roles == {brand.id: Role.BRAND_STAFF}  # type: ignore[union-attr]


def test_an_invited_buyer_chooses_a_password_from_the_mailed_link(brand, admin):
    make_buyer()
    invite_member(admin, brand.id, "buyer@example.com", Role.BRAND_STAFF)
    token = latest_token("buyer@example.com")
    assert invitation_for_link(token).needs_password is True
    with pytest.raises(ValidationFailed):
        accept_invitation(token, "short", ip=IP)
    accepted = accept_invitation(token, NEW_PASSWORD, display_name="Bea", ip=IP)
    assert accepted.email == "buyer@example.com"
    assert authenticate_access_token(login("buyer@example.com", NEW_PASSWORD, ip=IP).access_token).roles == {
        brand.id: Role.BRAND_STAFF}
    with pytest.raises(NotFound):  # spent
        accept_invitation(token, "Another-password-77", ip=IP)
    login("buyer@example.com", NEW_PASSWORD, ip=IP)


def test_a_kept_invitation_cannot_overwrite_a_password_chosen_through_another_brand(brand, admin):
    other = make_brand(name="Borealis")
    other_admin = make_user(Role.BRAND_ADMIN, other, email="rival@example.com")
    make_buyer()
    invite_member(admin, brand.id, "buyer@example.com", Role.BRAND_STAFF)
    kept = latest_token("buyer@example.com")
    invite_member(other_admin, other.id, "buyer@example.com", Role.BRAND_STAFF)
    accept_invitation(latest_token("buyer@example.com"), NEW_PASSWORD, ip=IP)

    with pytest.raises(NotFound):
        invitation_for_link(kept)
    with pytest.raises(NotFound):
        accept_invitation(kept, "Attacker-chosen-pass-1", ip=IP)
    login("buyer@example.com", NEW_PASSWORD, ip=IP)
    assert roles_of("buyer@example.com") == {other.id: Role.BRAND_STAFF}


def test_a_password_change_voids_the_invitation(brand, admin):
    from backend.auth.links import link_url

    make_buyer()
    invite_member(admin, brand.id, "buyer@example.com", Role.BRAND_STAFF)
    token = latest_token("buyer@example.com")
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == "buyer@example.com")).one()
        password_link = token_of(link_url(user))
    set_password_with_link(password_link, NEW_PASSWORD)
    with pytest.raises(NotFound):
        accept_invitation(token, NEW_PASSWORD, ip=IP)
    assert roles_of("buyer@example.com") == {}


def test_removing_the_member_voids_the_invitation(brand, admin):
    invite_member(admin, brand.id, "new@example.com", Role.BRAND_STAFF)
    token = latest_token("new@example.com")
    user_id = next(m.user_id for m in list_members(admin, brand.id) if m.email == "new@example.com")
    remove_member(admin, brand.id, user_id)
    with pytest.raises(NotFound):
        accept_invitation(token, NEW_PASSWORD, ip=IP)
    assert password_hash("new@example.com") is None
    # Invited again: a fresh link works, the old one stays dead.
    invite_member(admin, brand.id, "new@example.com", Role.BRAND_STAFF)
    with pytest.raises(NotFound):
        accept_invitation(token, NEW_PASSWORD, ip=IP)
    accept_invitation(latest_token("new@example.com"), NEW_PASSWORD, ip=IP)


def test_resending_mails_a_new_link_and_voids_the_old_one(brand, admin, configure):
    invite_member(admin, brand.id, "new@example.com", Role.BRAND_STAFF)
    first = latest_token("new@example.com")
    user_id = next(m.user_id for m in list_members(admin, brand.id) if m.email == "new@example.com")
    with pytest.raises(RateLimited):  # one mail a minute: a double click sends one
        resend_invitation(admin, brand.id, user_id)
    configure(INVITATION_RESEND_AFTER_S=0)
    assert resend_invitation(admin, brand.id, user_id).sent is True
    second = latest_token("new@example.com")
    assert second != first
    with pytest.raises(NotFound):
        accept_invitation(first, NEW_PASSWORD, ip=IP)
    accept_invitation(second, NEW_PASSWORD, ip=IP)
    with pytest.raises(Conflict):  # accepted: nothing left to resend
        resend_invitation(admin, brand.id, user_id)


def test_inviting_a_pending_member_again_resends_and_a_member_is_a_conflict(brand, admin, configure):
    configure(INVITATION_RESEND_AFTER_S=0)
    invite_member(admin, brand.id, "new@example.com", Role.BRAND_STAFF)
    invite_member(admin, brand.id, "new@example.com", Role.BRAND_STAFF)
    assert len(invitation_links("new@example.com")) == 2
    accept_invitation(latest_token("new@example.com"), NEW_PASSWORD, ip=IP)
    with pytest.raises(Conflict):
        invite_member(admin, brand.id, "new@example.com", Role.BRAND_STAFF)


def _wait_until_a_statement_waits_on_a_lock(timeout: float = 60) -> None:
    """PostgreSQL: until another connection's statement is blocked on a lock (here, the unique index on email)."""
    from sqlalchemy import text

    from backend import db

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.get_engine().connect() as connection:
            if connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND wait_event_type = 'Lock'")).scalar_one():
                return
        time.sleep(0.05)
    raise AssertionError("the invitation never reached the account's insert")


def test_an_invitation_racing_another_creation_of_the_same_new_account_joins_that_account(brand, admin):
    """Two requests creating one new email's account at once (two invitations, or an invitation and a guest
    checkout): the second's insert meets the first's on the unique index and must join that account, not fail."""
    from backend import db

    outcome: list[object] = []
    with session_scope() as first:
        created = create_user(first, "racer@example.com", None)
        inviting = threading.Thread(target=lambda: outcome.append(
            _outcome_of(lambda: invite_member(admin, brand.id, "racer@example.com", Role.BRAND_STAFF))))
        inviting.start()
        if db.is_postgresql():  # SQLite's writers queue at BEGIN: the invitation starts after this commits
            _wait_until_a_statement_waits_on_a_lock()
        created_id = created.id
    inviting.join(timeout=60)
    assert len(outcome) == 1 and not isinstance(outcome[0], Exception), outcome
    with session_scope() as session:
        users = session.exec(select(User).where(User.email == "racer@example.com")).all()
    assert [user.id for user in users] == [created_id]
    assert Role.BRAND_STAFF not in roles_of("racer@example.com").values()  # pending until accepted
    assert len(invitation_links("racer@example.com")) == 1


def test_two_invitations_of_one_new_email_at_once_both_succeed_with_one_account(brand, admin, configure):
    configure(INVITATION_RESEND_AFTER_S=0)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def invite() -> None:
        barrier.wait()
        outcomes.append(_outcome_of(lambda: invite_member(admin, brand.id, "twice@example.com", Role.BRAND_STAFF)))

    threads = [threading.Thread(target=invite) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == 2 and not any(isinstance(o, Exception) for o in outcomes), outcomes
    with session_scope() as session:
        assert len(session.exec(select(User).where(User.email == "twice@example.com")).all()) == 1
    assert len(list_members(admin, brand.id)) == 2  # the admin and one pending member


def _outcome_of(call):  # type: ignore[no-untyped-def]
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - returned and asserted on by the caller
        return exc


def test_accepting_signs_out_the_accounts_other_sessions(brand, admin):
    make_user(email="known@example.com")
    api = login("known@example.com", PASSWORD, ip=IP)
    web_cookie, _ = complete_web_sign_in(begin_web_sign_in("known@example.com", PASSWORD, ip=IP))
    invite_member(admin, brand.id, "known@example.com", Role.BRAND_STAFF)
    accepted = accept_invitation(latest_token("known@example.com"), PASSWORD, ip=IP)
    assert actor_for_web_session(web_cookie) is None
    with pytest.raises(NotAuthenticated):
        authenticate_access_token(api.access_token)
    cookie, _ = complete_web_sign_in(accepted.sign_in_code)
    assert actor_for_web_session(cookie) is not None


def test_forged_or_password_link_tokens_are_not_invitations(brand, admin):
    from backend.auth.links import link_url

    make_buyer()
    invite_member(admin, brand.id, "buyer@example.com", Role.BRAND_STAFF)
    with session_scope() as session:
        user = session.exec(select(User).where(User.email == "buyer@example.com")).one()
        password_link = token_of(link_url(user))
    for token in ("", "not-a-token", password_link, latest_token("buyer@example.com")[:-2] + "xx"):
        with pytest.raises(NotFound):
            accept_invitation(token, NEW_PASSWORD, ip=IP)
    assert password_hash("buyer@example.com") is None


# --- membership changes end the member's sessions -----------------------------------------------------------------


def _signed_in_everywhere(email: str) -> tuple[str, str]:
    """(web cookie, API access token) of a fresh web sign-in and a fresh API sign-in."""
    cookie, _ = complete_web_sign_in(begin_web_sign_in(email, PASSWORD, ip=IP))
    return cookie, login(email, PASSWORD, ip=IP).access_token


@pytest.mark.parametrize("change", ["remove", "demote"])
def test_removing_or_demoting_a_member_ends_their_sessions(brand, admin, change):
    staff = make_user(Role.BRAND_ADMIN, brand, email="second@example.com")
    cookie, access = _signed_in_everywhere("second@example.com")
    owner_cookie, _ = _signed_in_everywhere("owner@example.com")
    if change == "remove":
        remove_member(admin, brand.id, staff.user_id)
    else:
        change_member_role(admin, brand.id, staff.user_id, Role.BRAND_STAFF)
    assert actor_for_web_session(cookie) is None
    with pytest.raises(NotAuthenticated):
        authenticate_access_token(access)
    assert actor_for_web_session(owner_cookie) is not None  # nobody else is signed out


def test_setting_the_same_role_again_signs_nobody_out(brand, admin):
    staff = make_user(Role.BRAND_STAFF, brand, email="staff@example.com")
    cookie, _ = _signed_in_everywhere("staff@example.com")
    change_member_role(admin, brand.id, staff.user_id, Role.BRAND_STAFF)
    assert actor_for_web_session(cookie) is not None
