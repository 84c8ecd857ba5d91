"""Brands and members over HTTP: who may see and change which brand, and invitations (mailed, never returned)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlmodel import select

from backend.auth.acl import Role
from backend.auth.links import link_url, set_password_with_link
from backend.auth.models import User
from backend.brands.service import accept_invitation
from backend.db import session_scope
from backend.errors import NotAuthenticated, NotFound
from tests.brands.support import invitation_links, token_of
from tests.factories import PASSWORD, make_brand, make_user


def test_brand_admin_sees_only_their_brands(client, auth):
    mine, theirs = make_brand(name="Aurora"), make_brand(name="Borealis")
    admin = make_user(Role.BRAND_ADMIN, mine)

    body = client.get("/api/v1/brands", headers=auth(admin)).json()

    assert [b["id"] for b in body["items"]] == [mine.id]
    assert theirs.id not in [b["id"] for b in body["items"]]


def test_platform_admin_creates_a_brand(client, auth):
    admin = make_user(Role.PLATFORM_ADMIN)

    response = client.post(
        "/api/v1/brands", json={"slug": "Nova", "name": "Nova Labs", "primary_color": "#112233"}, headers=auth(admin)
    )

    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "nova" and body["name"] == "Nova Labs" and body["primary_color"] == "#112233"
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
    listed = client.get("/api/v1/brands", headers=auth(admin)).json()["items"]
    assert "nova" in [b["slug"] for b in listed]


def test_brand_admin_cannot_create_brands(client, auth):
    admin = make_user(Role.BRAND_ADMIN, make_brand())
    response = client.post("/api/v1/brands", json={"slug": "nova", "name": "Nova"}, headers=auth(admin))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_duplicate_brand_slug_is_a_conflict_on_the_field(client, auth):
    make_brand(slug="nova")
    admin = make_user(Role.PLATFORM_ADMIN)
    response = client.post("/api/v1/brands", json={"slug": "nova", "name": "Nova"}, headers=auth(admin))
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"slug": "already used"}


def test_brand_validation_names_the_fields(client, auth):
    admin = make_user(Role.PLATFORM_ADMIN)
    response = client.post(
        "/api/v1/brands", json={"slug": "-bad-", "name": "", "accent_color": "red"}, headers=auth(admin)
    )
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"slug", "name", "accent_color"}


def test_brand_admin_updates_their_brand(client, auth):
    brand = make_brand(name="Aurora")
    headers = auth(make_user(Role.BRAND_ADMIN, brand))

    response = client.patch(f"/api/v1/brands/{brand.id}", json={"name": "Aurora Prime"}, headers=headers)

    assert response.status_code == 200
    assert client.get(f"/api/v1/brands/{brand.id}", headers=headers).json()["name"] == "Aurora Prime"


def test_brand_staff_can_read_but_not_change_their_brand(client, auth):
    brand = make_brand()
    headers = auth(make_user(Role.BRAND_STAFF, brand))

    assert client.get(f"/api/v1/brands/{brand.id}", headers=headers).status_code == 200
    assert client.patch(f"/api/v1/brands/{brand.id}", json={"name": "X"}, headers=headers).status_code == 403
    assert client.get(f"/api/v1/brands/{brand.id}/members", headers=headers).status_code == 403


def test_other_brands_do_not_exist_for_a_brand_admin(client, auth):
    mine, theirs = make_brand(), make_brand(name="Theirs")
    make_user(Role.BRAND_ADMIN, theirs, email="owner@example.com")
    headers = auth(make_user(Role.BRAND_ADMIN, mine))

    assert client.get(f"/api/v1/brands/{theirs.id}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/brands/{theirs.id}", json={"name": "Pwned"}, headers=headers).status_code == 404
    assert client.get(f"/api/v1/brands/{theirs.id}/members", headers=headers).status_code == 404
    invite = client.post(
        f"/api/v1/brands/{theirs.id}/members", json={"email": "spy@example.com", "role": "brand_admin"}, headers=headers
    )
    assert invite.status_code == 404
    admin = make_user(Role.PLATFORM_ADMIN)
    assert client.get(f"/api/v1/brands/{theirs.id}", headers=auth(admin)).json()["name"] == "Theirs"
    members = client.get(f"/api/v1/brands/{theirs.id}/members", headers=auth(admin)).json()["items"]
    assert [m["email"] for m in members] == ["owner@example.com"]


def test_consumer_sees_no_brands(client, auth):
    brand = make_brand()
    headers = auth(make_user())
    assert client.get("/api/v1/brands", headers=headers).json() == {"items": []}
    assert client.get(f"/api/v1/brands/{brand.id}", headers=headers).status_code == 404


def test_invite_answers_where_the_link_went_and_mails_it_to_the_invitee(client, auth):
    brand = make_brand()
    headers = auth(make_user(Role.BRAND_ADMIN, brand))

    response = client.post(
        f"/api/v1/brands/{brand.id}/members", json={"email": "New@Example.com", "role": "brand_staff"}, headers=headers
    )

    assert response.status_code == 201
    assert response.json() == {"email": "new@example.com", "role": "brand_staff", "sent": True}
    [link] = invitation_links("new@example.com")
    assert urlsplit(link).path == "/admin/accept-invite"
    assert token_of(link) not in response.text
    members = client.get(f"/api/v1/brands/{brand.id}/members", headers=headers).json()["items"]
    assert {"email": "new@example.com", "role": "brand_staff", "pending": True}.items() <= next(
        m for m in members if m["email"] == "new@example.com"
    ).items()
    accept_invitation(token_of(link), "a-brand-new-passphrase-7", ip="10.0.0.1")
    assert client.post(
        "/api/v1/auth/login", json={"email": "new@example.com", "password": "a-brand-new-passphrase-7"}
    ).status_code == 200


def test_inviting_an_existing_buyer_cannot_take_their_account(client, auth):
    """The takeover of issue 10: an admin invites a buyer's email. Nothing they get back lets them set the buyer's
    password; the link reaches the buyer only; an account with a password is joined by signing in; removing the
    member or changing the password kills the link."""
    brand = make_brand()
    headers = auth(make_user(Role.BRAND_ADMIN, brand))
    buyer = make_user(email="buyer@example.com")  # an account with a password
    members_url = f"/api/v1/brands/{brand.id}/members"

    response = client.post(members_url, json={"email": buyer.email, "role": "brand_admin"}, headers=headers)
    assert response.status_code == 201 and set(response.json()) == {"email", "role", "sent"}
    token = token_of(invitation_links(buyer.email)[0])
    assert token not in response.text
    # Until the buyer accepts, the invitation grants nothing.
    buyer_headers = auth(buyer)
    assert client.get(f"/api/v1/brands/{brand.id}", headers=buyer_headers).status_code == 404

    # The link for an account with a password asks for that password; it never sets one.
    with pytest.raises(NotAuthenticated):
        accept_invitation(token, "attacker-chosen-pass-1", ip="10.0.0.1")
    assert client.post("/api/v1/auth/login", json={"email": buyer.email, "password": PASSWORD}).status_code == 200
    assert client.post("/api/v1/auth/login",
                       json={"email": buyer.email, "password": "attacker-chosen-pass-1"}).status_code == 401

    # Removing the (pending) member voids the link.
    assert client.delete(f"{members_url}/{buyer.user_id}", headers=headers).status_code == 204
    with pytest.raises(NotFound):
        accept_invitation(token, PASSWORD, ip="10.0.0.1")

    # Invited again, then the password changes: that link is void too.
    assert client.post(members_url, json={"email": buyer.email, "role": "brand_staff"}, headers=headers).status_code \
        == 201
    token = token_of(invitation_links(buyer.email)[0])
    with session_scope() as session:
        password_link = link_url(session.exec(select(User).where(User.email == buyer.email)).one())
    set_password_with_link(token_of(password_link), "a-brand-new-passphrase-7")
    with pytest.raises(NotFound):
        accept_invitation(token, "a-brand-new-passphrase-7", ip="10.0.0.1")
    members = client.get(members_url, headers=headers).json()["items"]
    assert next(m for m in members if m["email"] == buyer.email)["pending"] is True


def test_inviting_a_member_again_is_a_conflict(client, auth):
    brand = make_brand()
    existing = make_user(Role.BRAND_STAFF, brand, email="known@example.com")
    headers = auth(make_user(Role.BRAND_ADMIN, brand))

    again = client.post(
        f"/api/v1/brands/{brand.id}/members", json={"email": existing.email, "role": "brand_staff"}, headers=headers
    )
    assert again.status_code == 409


def test_invite_validates_role_and_email(client, auth):
    brand = make_brand()
    headers = auth(make_user(Role.BRAND_ADMIN, brand))
    url = f"/api/v1/brands/{brand.id}/members"

    unknown_role = client.post(url, json={"email": "x@example.com", "role": "emperor"}, headers=headers)
    platform_role = client.post(url, json={"email": "x@example.com", "role": "platform_admin"}, headers=headers)
    bad_email = client.post(url, json={"email": "not-an-email", "role": "brand_staff"}, headers=headers)

    assert unknown_role.status_code == 422 and "role" in unknown_role.json()["error"]["fields"]
    assert platform_role.status_code == 422 and "role" in platform_role.json()["error"]["fields"]
    assert bad_email.status_code == 422 and "email" in bad_email.json()["error"]["fields"]


def test_member_role_change_and_removal(client, auth):
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    staff = make_user(Role.BRAND_STAFF, brand)
    headers = auth(admin)

    promoted = client.patch(f"/api/v1/brands/{brand.id}/members/{staff.user_id}", json={"role": "brand_admin"},
                            headers=headers)
    assert promoted.status_code == 200 and promoted.json()["role"] == "brand_admin"

    removed = client.delete(f"/api/v1/brands/{brand.id}/members/{staff.user_id}", headers=headers)
    assert removed.status_code == 204
    members = client.get(f"/api/v1/brands/{brand.id}/members", headers=headers).json()["items"]
    assert [m["user_id"] for m in members] == [admin.user_id]
    assert client.delete(f"/api/v1/brands/{brand.id}/members/{staff.user_id}", headers=headers).status_code == 404


def test_the_last_brand_admin_cannot_be_removed_or_demoted(client, auth):
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    headers = auth(admin)

    demote = client.patch(f"/api/v1/brands/{brand.id}/members/{admin.user_id}", json={"role": "brand_staff"},
                          headers=headers)
    remove = client.delete(f"/api/v1/brands/{brand.id}/members/{admin.user_id}", headers=headers)

    assert demote.status_code == remove.status_code == 409
    assert "at least one admin" in remove.json()["error"]["message"]


def test_brand_admin_cannot_touch_members_of_another_brand(client, auth):
    mine, theirs = make_brand(), make_brand()
    victim = make_user(Role.BRAND_ADMIN, theirs)
    headers = auth(make_user(Role.BRAND_ADMIN, mine))

    change = client.patch(f"/api/v1/brands/{theirs.id}/members/{victim.user_id}", json={"role": "brand_staff"},
                          headers=headers)
    remove = client.delete(f"/api/v1/brands/{theirs.id}/members/{victim.user_id}", headers=headers)

    assert change.status_code == remove.status_code == 404
    admin_headers = auth(make_user(Role.PLATFORM_ADMIN))
    members = client.get(f"/api/v1/brands/{theirs.id}/members", headers=admin_headers).json()["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [(victim.user_id, "brand_admin")]


def test_unknown_brand_is_404_and_out_of_range_ids_are_422(client, auth):
    headers = auth(make_user(Role.PLATFORM_ADMIN))
    assert client.get("/api/v1/brands/999999", headers=headers).status_code == 404
    huge = client.get(f"/api/v1/brands/{10**30}", headers=headers)
    assert huge.status_code == 422 and "brand_id" in huge.json()["error"]["fields"]
    assert client.get("/api/v1/brands/abc", headers=headers).status_code == 422


def test_the_kyc_team_over_http_is_the_platform_admins_to_manage(client, auth):
    brand = make_brand()
    platform = auth(make_user(Role.PLATFORM_ADMIN))
    invited = client.post("/api/v1/kyc-team", json={"email": "Kim@Example.com"}, headers=platform)
    assert invited.status_code == 201, invited.text
    assert invited.json() == {"email": "kim@example.com", "role": "kyc_reviewer", "sent": True}
    [link] = invitation_links("kim@example.com")
    assert token_of(link) not in invited.text
    team = client.get("/api/v1/kyc-team", headers=platform).json()["items"]
    assert [(m["email"], m["role"], m["pending"]) for m in team] == [("kim@example.com", "kyc_reviewer", True)]

    # Nobody else: a brand admin, a KYC reviewer, a consumer; and no brand gives the role.
    for other in (make_user(Role.BRAND_ADMIN, brand), make_user(Role.KYC_REVIEWER), make_user()):
        headers = auth(other)
        assert client.get("/api/v1/kyc-team", headers=headers).status_code == 403
        assert client.post("/api/v1/kyc-team", json={"email": "x@example.com"}, headers=headers).status_code == 403
    refused = client.post(f"/api/v1/brands/{brand.id}/members", json={"email": "y@example.com", "role": "kyc_reviewer"},
                          headers=auth(make_user(Role.BRAND_ADMIN, brand)))
    assert refused.status_code == 422 and "role" in refused.json()["error"]["fields"]
    assert client.post("/api/v1/kyc-team", json={"email": "x@example.com", "role": "platform_admin"},
                       headers=platform).status_code == 422  # no role to choose: reviewers only

    user_id = team[0]["user_id"]
    assert client.delete(f"/api/v1/kyc-team/{user_id}", headers=platform).status_code == 204
    left = client.get("/api/v1/kyc-team", headers=platform).json()["items"]
    assert "kim@example.com" not in [m["email"] for m in left]
    assert client.delete(f"/api/v1/kyc-team/{user_id}", headers=platform).status_code == 404
