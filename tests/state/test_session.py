"""Revocation reaches open tabs: every handler acts as the actor as they are NOW (current_actor re-reads
the session and roles per event), so a removal, a role change, a password reset or a sign-out elsewhere takes effect
on the tab's next click; and the tab's client IP follows TRUSTED_PROXIES like the API's."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.links import link_url, set_password_with_link
from backend.auth.models import Membership, RefreshToken, User
from backend.auth.service import end_web_session, rotate_web_session
from backend.brands.service import change_member_role, list_members, remove_member
from backend.db import session_scope, utcnow
from primsell.state.admin.brand import AdminBrandState
from primsell.state.admin.members import AdminMembersState
from primsell.state.session import ANONYMOUS, FORBIDDEN, SIGNED_IN, SessionState, client_ip
from tests.factories import make_brand, make_user
from tests.state.harness import Tab, redirects_to_sign_in, scripts, web_cookie

INVITE = {"email": "newcomer@example.com", "role": "brand_staff"}


@pytest.fixture
def brand():
    return make_brand(name="Aurora")


@pytest.fixture
def owner(brand):
    return make_user(Role.BRAND_ADMIN, brand, email="owner@example.com")


@pytest.fixture
def second_admin(brand, owner):
    return make_user(Role.BRAND_ADMIN, brand, email="second@example.com")


def _open_members_page(email: str) -> Tab:
    tab = Tab(web_cookie(email))
    tab.load_admin_page("/admin/members")
    assert tab.session.status == SIGNED_IN and tab.session.can_manage_members
    tab.run(AdminMembersState.load_members)
    return tab


def _invited(brand, owner) -> bool:
    return "newcomer@example.com" in {m.email for m in list_members(owner, brand.id)}


def _refused_and_unchanged(tab: Tab, outputs: list, brand, owner) -> None:
    assert redirects_to_sign_in(outputs), outputs
    assert tab.session.status == ANONYMOUS and not tab.session.can_manage_members
    assert not _invited(brand, owner)


def test_a_removed_admins_open_tab_is_refused_on_its_next_click(brand, owner, second_admin):
    tab = _open_members_page("second@example.com")
    remove_member(owner, brand.id, second_admin.user_id)
    _refused_and_unchanged(tab, tab.run(AdminMembersState.invite, INVITE), brand, owner)


def test_a_demoted_admins_open_tab_is_refused_on_its_next_click(brand, owner, second_admin):
    tab = _open_members_page("second@example.com")
    change_member_role(owner, brand.id, second_admin.user_id, Role.BRAND_STAFF)
    _refused_and_unchanged(tab, tab.run(AdminMembersState.invite, INVITE), brand, owner)


def test_a_role_taken_away_in_the_database_is_seen_on_the_next_click(brand, owner, second_admin):
    """Even without its sessions ending, the tab acts with the roles the person has now."""
    tab = _open_members_page("second@example.com")
    with session_scope() as session:
        session.exec(update(Membership).where(Membership.user_id == second_admin.user_id)
                     .values(role=Role.BRAND_STAFF))
    tab.run(AdminMembersState.invite, INVITE)
    assert not _invited(brand, owner)
    assert tab.session.status == SIGNED_IN and tab.session.can_manage_members is False
    assert "permission" in tab.state(AdminMembersState).form_error


def test_the_members_page_with_no_brand_to_show_stops_loading():
    """A platform admin on a platform with no brand yet: nothing to pick, so the page must not spin forever."""
    make_user(Role.PLATFORM_ADMIN, email="platform@example.com")
    tab = Tab(web_cookie("platform@example.com"))
    tab.load_admin_page("/admin/members")
    assert tab.session.brand_id == 0
    tab.run(AdminMembersState.load_members)
    state = tab.state(AdminMembersState)
    assert (state.loading, state.members, state.form_error) == (False, [], "")


def test_signing_out_elsewhere_ends_the_open_tab_too(brand, owner):
    cookie = web_cookie("owner@example.com")
    tab = Tab(cookie)
    tab.load_admin_page("/admin/brand")
    tab.run(AdminBrandState.load_brand)
    end_web_session(cookie)  # the same session, signed out from another tab
    state = tab.state(AdminBrandState)
    state.name = "Renamed"
    outputs = tab.run(AdminBrandState.save_brand, {})
    assert redirects_to_sign_in(outputs)
    with session_scope() as session:
        assert session.exec(select(User).where(User.email == "owner@example.com")).one()
    from backend.brands.service import get_brand

    assert get_brand(owner, brand.id).name == "Aurora"


def test_a_password_reset_ends_the_open_tab(brand, owner):
    tab = _open_members_page("owner@example.com")
    with session_scope() as session:
        link = link_url(session.exec(select(User).where(User.email == "owner@example.com")).one())
    set_password_with_link(link.split("token=", 1)[1], "A-whole-new-passphrase-9")
    _refused_and_unchanged(tab, tab.run(AdminMembersState.invite, INVITE), brand, owner)


def test_a_page_load_of_a_signed_out_tab_goes_to_sign_in_with_a_way_back():
    outputs = Tab(None).load_admin_page("/admin/members")
    assert "/admin/login?next=%2Fadmin%2Fmembers" in repr(outputs)


def test_an_open_tab_keeps_its_session_after_another_tab_rotated_the_cookie(brand, owner):
    cookie = web_cookie("owner@example.com")
    tab = Tab(cookie)
    tab.load_admin_page("/admin/members")
    rotate_web_session(cookie)  # another tab (or a page load) got the cookie a new value
    with session_scope() as session:
        session.exec(update(RefreshToken).where(RefreshToken.rotated_at.is_not(None))
                     .values(rotated_at=utcnow() - timedelta(minutes=5)))
    # This tab's websocket still carries the old value: it speaks for its own session, still signed in.
    assert tab.run(AdminMembersState.invite, INVITE) and _invited(brand, owner)
    # A new connection with that old value is a stranger.
    assert redirects_to_sign_in(Tab(cookie).load_admin_page("/admin/members"))


def test_a_page_load_after_the_rotation_interval_asks_the_browser_to_rotate_the_cookie(owner):
    cookie = web_cookie("owner@example.com")
    assert "auth/web/rotate" not in repr(Tab(cookie).load_admin_page())
    with session_scope() as session:
        session.exec(update(RefreshToken).values(created_at=utcnow() - timedelta(hours=2)))
    assert "/api/v1/auth/web/rotate" in repr(Tab(cookie).load_admin_page())


def test_the_tabs_client_ip_follows_trusted_proxies_like_the_api(configure):
    tab = Tab(None, ip="10.0.0.2", forwarded_for="6.6.6.6, 198.51.100.1")
    assert client_ip(tab.session) == "10.0.0.2"
    configure(TRUSTED_PROXIES="10.0.0.0/8")
    assert client_ip(tab.session) == "198.51.100.1"


def test_a_forged_brand_choice_gives_no_access_to_another_brand(brand, owner):
    other = make_brand(name="Borealis")
    make_user(Role.BRAND_ADMIN, other, email="rival@example.com")
    tab = _open_members_page("rival@example.com")
    # What a client could send over the websocket (setvar): another brand's id in the switcher's vars.
    tab.session.brands = [{"id": str(brand.id), "name": "Aurora"}]
    tab.session.brand_id = brand.id
    tab.run(AdminMembersState.invite, INVITE)
    assert not _invited(brand, owner)
    assert tab.session.brand_id != brand.id


def test_a_throttled_sign_in_form_says_when_to_try_again(configure, owner, monkeypatch):
    from backend.auth import ratelimit
    from primsell.state.sign_in import AuthSignInState

    configure(LOGIN_BACKOFF_AFTER_FAILURES=2)
    frozen = time.time()  # the 1 s wait must not run out during a slow argon2 check on a busy machine
    monkeypatch.setattr(ratelimit, "clock", lambda: frozen)
    tab = Tab(None, "/admin/login")
    wrong = {"email": "owner@example.com", "password": "not-the-password-1"}
    tab.run(AuthSignInState.submit_sign_in, wrong, "admin")
    assert tab.state(AuthSignInState).form_error == "Incorrect email or password."
    tab.run(AuthSignInState.submit_sign_in, wrong, "admin")
    tab.run(AuthSignInState.submit_sign_in, {"email": "owner@example.com", "password": "correct-horse-battery-9"},
            "admin")
    assert re.fullmatch(r"Too many failed sign-ins\. Try again in \d+ s\.", tab.state(AuthSignInState).form_error)


# -- what a signed-out tab keeps ----------------------------------------------------------------------------------

SECRET_NAME, SECRET_NUMBER = "Zephyrine Quillfeather", "ZQ 987654"


def _tab_showing_a_kyc_case() -> tuple[Tab, str]:
    """A reviewer's tab showing a consumer's identity check (case page and queue)."""
    from primsell.state.kyc.case import KycCaseState
    from primsell.state.kyc.queue import KycQueueState
    from primsell.state.session import SessionState
    from tests.kyc.support import case_of, submit

    consumer = make_user()
    submit(consumer, legal_name=SECRET_NAME, document_number=SECRET_NUMBER)
    make_user(Role.KYC_REVIEWER, email="kim@example.com")
    cookie = web_cookie("kim@example.com")
    tab = Tab(cookie, f"/kyc/cases/{case_of(consumer).id}")
    tab.run(SessionState.load_session, "kyc")
    tab.run(KycCaseState.load_case)
    tab.run(KycQueueState.load_queue)
    assert SECRET_NAME in tab.everything_held() and SECRET_NUMBER in tab.everything_held()
    return tab, cookie


@pytest.fixture
def _no_documents_left():  # type: ignore[no-untyped-def]
    import shutil

    from backend.settings import get_settings

    yield
    shutil.rmtree(get_settings().kyc_documents_dir, ignore_errors=True)


@pytest.mark.usefixtures("_no_documents_left")
def test_signing_out_forgets_everything_the_tab_showed():
    from primsell.state.session import SessionState

    tab, _ = _tab_showing_a_kyc_case()
    tab.run(SessionState.sign_out)
    held = tab.everything_held()
    assert SECRET_NAME not in held and SECRET_NUMBER not in held and "kim@example.com" not in held
    assert tab.session.status == ANONYMOUS and not tab.session.signed_in


@pytest.mark.usefixtures("_no_documents_left")
def test_a_case_page_signed_out_elsewhere_forgets_the_case_on_its_next_load():
    from primsell.state.kyc.case import KycCaseState

    tab, cookie = _tab_showing_a_kyc_case()
    end_web_session(cookie)  # signed out in another tab
    tab.run(KycCaseState.load_case)
    case = tab.state(KycCaseState)
    held = repr(case.dict(include_computed=False)) + repr(vars(case))
    assert SECRET_NAME not in held and SECRET_NUMBER not in held and case.loaded


@pytest.mark.usefixtures("_no_documents_left")
def test_a_tab_signed_out_elsewhere_forgets_every_page_on_the_event_that_finds_out():
    """Not only the page whose handler ran: the case it showed before, in the same tab, is gone too."""
    from primsell.state.kyc.case import KycCaseState

    tab, cookie = _tab_showing_a_kyc_case()
    end_web_session(cookie)  # signed out in another tab (or revoked, or expired)
    outputs = tab.run(SessionState.load_session, "kyc")  # any event: here the next page load's
    assert redirects_to_sign_in(outputs), outputs
    held = tab.everything_held()
    assert SECRET_NAME not in held and SECRET_NUMBER not in held and "kim@example.com" not in held
    assert tab.session.status == ANONYMOUS and tab.session.surface == "kyc"
    assert not tab.state(KycCaseState).loaded


def test_a_tab_that_may_no_longer_use_its_surface_forgets_what_it_showed(brand, owner, second_admin):
    tab = _open_members_page("second@example.com")
    assert "owner@example.com" in tab.everything_held()
    outputs = tab.run(SessionState.load_session, "kyc")  # the same tab, on a surface this admin may not use
    assert not redirects_to_sign_in(outputs)
    assert tab.session.status == FORBIDDEN and tab.session.email == "second@example.com"
    assert "owner@example.com" not in tab.everything_held()


def _admin_of_two_brands(brand, owner) -> None:
    """The owner also runs a second brand, so the admin's switcher has two to choose between."""
    other = make_brand(name="Borealis")
    with session_scope() as session:
        session.add(Membership(user_id=owner.user_id, brand_id=other.id, role=Role.BRAND_ADMIN))


def test_a_visit_to_a_surface_without_access_keeps_the_brand_chosen_in_the_switcher(brand, owner, second_admin):
    _admin_of_two_brands(brand, owner)  # may not use /kyc
    tab = _open_members_page("owner@example.com")
    first = tab.session.brand_id
    assert first == brand.id and "second@example.com" in tab.everything_held()
    chosen = next(int(b["id"]) for b in tab.session.brands if int(b["id"]) != first)
    tab.run(SessionState.switch_brand, str(chosen))
    assert tab.session.brand_id == chosen
    tab.navigate("/kyc")
    tab.run(SessionState.load_session, "kyc")
    assert tab.session.status == FORBIDDEN and tab.session.brand_id == 0  # the page forgot, as before
    assert "second@example.com" not in tab.everything_held()
    tab.load_admin_page("/admin/members")  # back in the same tab: the brand chosen, not the first one
    assert tab.session.status == SIGNED_IN and tab.session.brand_id == chosen


def test_signing_out_forgets_the_brand_chosen_in_the_switcher(brand, owner):
    _admin_of_two_brands(brand, owner)
    tab = Tab(web_cookie("owner@example.com"))
    tab.load_admin_page("/admin")
    first = tab.session.brand_id
    tab.run(SessionState.switch_brand, next(b["id"] for b in tab.session.brands if int(b["id"]) != first))
    tab.run(SessionState.sign_out)
    tab.cookie = web_cookie("owner@example.com")
    tab.load_admin_page("/admin")
    assert tab.session.brand_id == first


def test_a_stranger_on_a_sign_in_page_has_nothing_to_forget(monkeypatch):
    import primsell.state.session as session_module

    forgotten: list[object] = []
    monkeypatch.setattr(session_module, "forget_tab", lambda state: forgotten.append(state))
    tab = Tab(None, "/admin")
    assert redirects_to_sign_in(tab.run(SessionState.load_session, "admin"))
    assert forgotten == []  # a page load of someone never signed in reads no other state of the tab


def test_signed_in_pages_follow_sign_outs_in_the_browsers_other_tabs(brand, owner):
    """The listener is installed by the page load of a signed-in tab, and a sign-out announces itself to it."""
    from primsell.state.session import FOLLOW_SIGN_OUTS_SCRIPT, SESSION_CHANNEL, SIGNED_OUT

    tab = Tab(web_cookie("owner@example.com"))
    outputs = tab.load_admin_page("/admin/members")
    assert FOLLOW_SIGN_OUTS_SCRIPT in scripts(outputs)
    [signed_out] = scripts(tab.run(SessionState.sign_out))
    assert f'BroadcastChannel("{SESSION_CHANNEL}")).postMessage("{SIGNED_OUT}")' in signed_out


def test_the_account_page_follows_and_announces_sign_outs_too():
    from primsell.state.checkout.account import CheckoutAccountState
    from primsell.state.session import FOLLOW_SIGN_OUTS_SCRIPT, SESSION_CHANNEL, SIGNED_OUT

    make_user(email="cleo@example.com")
    tab = Tab(web_cookie("cleo@example.com"), "/account")
    assert FOLLOW_SIGN_OUTS_SCRIPT in scripts(tab.run(CheckoutAccountState.load_account))
    [signed_out] = scripts(tab.run(CheckoutAccountState.sign_out))
    assert f'BroadcastChannel("{SESSION_CHANNEL}")).postMessage("{SIGNED_OUT}")' in signed_out


def test_a_table_signed_out_elsewhere_forgets_its_rows_on_its_next_read():
    from backend.chain.models import ChainTransaction, TxPurpose, TxState
    from primsell.state.admin.chain import AdminChainState

    recipient = "0x" + "7e" * 20
    with session_scope() as session:
        session.add(ChainTransaction(purpose=TxPurpose.REWARD_PAYOUT, idempotency_key="session-test", chain="local",
                                     signer="platform", from_address="0x" + "11" * 20, to_address=recipient,
                                     state=TxState.REVERTED))
    make_user(Role.PLATFORM_ADMIN, email="root@example.com")
    cookie = web_cookie("root@example.com")
    tab = Tab(cookie, "/admin/chain")
    tab.load_admin_page("/admin/chain")
    tab.run(AdminChainState.load_chain)
    assert tab.state(AdminChainState).total == 1
    end_web_session(cookie)
    outputs = tab.run(AdminChainState.refresh)
    assert redirects_to_sign_in(outputs)
    assert tab.state(AdminChainState).rows == [] and tab.state(AdminChainState).total == 0


def test_signing_out_of_the_account_page_forgets_the_whole_tab_too():
    from primsell.state.checkout.account import CheckoutAccountState
    from primsell.state.session import SessionState

    make_user(email="cleo@example.com")
    tab = Tab(web_cookie("cleo@example.com"), "/account")
    tab.run(CheckoutAccountState.load_account)
    assert "cleo@example.com" in tab.everything_held()
    tab.run(CheckoutAccountState.sign_out)
    assert "cleo@example.com" not in tab.everything_held()
    assert not tab.state(CheckoutAccountState).signed_in and tab.state(SessionState)._actor is None


def _open_kyc_team_page(email: str) -> Tab:
    tab = Tab(web_cookie(email), "/kyc/team")
    tab.run(SessionState.load_session, "kyc")
    assert tab.session.status == SIGNED_IN
    tab.run(AdminMembersState.load_kyc_team)
    return tab


def _kyc_team(platform) -> dict[str, bool]:
    from backend.brands.service import PLATFORM_TEAM

    return {m.email: m.pending for m in list_members(platform, PLATFORM_TEAM)}


def test_a_platform_admin_invites_and_removes_a_kyc_reviewer_on_the_kyc_team_page(brand, owner):
    platform = make_user(Role.PLATFORM_ADMIN, email="root@example.com")
    make_user(Role.KYC_REVIEWER, email="kim@example.com")
    tab = _open_kyc_team_page("root@example.com")
    members = tab.state(AdminMembersState)
    assert [m["email"] for m in members.members] == ["kim@example.com"] and not members.loading
    assert "owner@example.com" not in str(members.members)  # a brand's members are not the platform's team

    tab.run(AdminMembersState.invite, {"email": "lee@example.com", "role": "kyc_reviewer"})
    assert members.sent_to == "lee@example.com" and members.form_error == ""
    assert _kyc_team(platform) == {"kim@example.com": False, "lee@example.com": True}
    assert list_members(owner, brand.id)[0].email == "owner@example.com" and len(list_members(owner, brand.id)) == 1
    lee = next(m for m in members.members if m["email"] == "lee@example.com")
    tab.run(AdminMembersState.remove, lee["user_id"])
    assert _kyc_team(platform) == {"kim@example.com": False}

    # The admin page in the same tab is a brand's members again.
    tab.load_admin_page("/admin/members")
    tab.run(AdminMembersState.load_members)
    assert [m["email"] for m in members.members] == ["owner@example.com"]  # the brand chosen for them: Aurora


def test_a_kyc_reviewer_cannot_manage_the_kyc_team(brand, owner):
    platform = make_user(Role.PLATFORM_ADMIN, email="root@example.com")
    make_user(Role.KYC_REVIEWER, email="kim@example.com")
    tab = _open_kyc_team_page("kim@example.com")
    members = tab.state(AdminMembersState)
    assert members.members == [] and "permission" in members.form_error.lower()
    tab.run(AdminMembersState.invite, {"email": "lee@example.com", "role": "kyc_reviewer"})
    assert members.sent_to == "" and members.form_error
    assert _kyc_team(platform) == {"kim@example.com": False}
