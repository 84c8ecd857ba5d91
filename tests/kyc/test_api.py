"""The KYC REST API: multipart submissions, the reviewer routes, the ACL (brand staff and admins reach no documents
or details; a consumer sees only their own check) and the signed, session-bound document links."""

from __future__ import annotations

import time

import pytest

from backend.auth.acl import Role
from backend.kyc import review
from tests.api.conftest import bearer, login_tokens
from tests.factories import make_brand, make_user
from tests.kyc.support import FIELDS, case_of, document_rows, jpeg, pdf, stored_files


def _multipart(**overrides: bytes | tuple) -> dict:
    parts = {"front": ("front.jpg", jpeg((200, 0, 0)), "image/jpeg"), "back": ("back.jpg", jpeg(), "image/jpeg"),
             "selfie": ("me.jpg", jpeg((0, 0, 200)), "image/jpeg")}
    return parts | overrides


def _fields(**overrides: object) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (FIELDS | overrides).items()}


def _signed_in(client, role: Role = Role.CONSUMER, brand=None):  # type: ignore[no-untyped-def]
    actor = make_user(role, brand)
    return actor, bearer(login_tokens(client, actor.email)["access_token"])


def test_a_consumer_submits_over_multipart_and_reads_their_status(client) -> None:  # type: ignore[no-untyped-def]
    _, headers = _signed_in(client)
    assert client.get("/api/v1/kyc/me", headers=headers).json()["status"] == "none"
    response = client.post("/api/v1/kyc/submissions", headers=headers, data=_fields(), files=_multipart())
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "submitted" and response.json()["can_withdraw"] is True
    assert client.get("/api/v1/kyc/me", headers=headers).json()["status"] == "submitted"
    assert document_rows() == 3


def test_a_pdf_named_jpg_over_the_api_is_a_clear_422_and_nothing_is_stored(client) -> None:  # type: ignore[no-untyped-def]
    _, headers = _signed_in(client)
    response = client.post("/api/v1/kyc/submissions", headers=headers, data=_fields(),
                           files=_multipart(front=("front.jpg", pdf(), "image/jpeg")))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "bad_document" and "is a PDF but its name ends in .jpg" in error["fields"]["front"]
    assert document_rows() == 0 and stored_files() == []


def test_a_json_submission_is_415_and_a_body_over_the_limit_is_413(client) -> None:  # type: ignore[no-untyped-def]
    _, headers = _signed_in(client)
    assert client.post("/api/v1/kyc/submissions", headers=headers, json=_fields()).status_code == 415
    huge = b"\xff\xd8\xff" + b"\0" * (31 * 1024 * 1024)
    response = client.post("/api/v1/kyc/submissions", headers=headers, data=_fields(),
                           files=_multipart(front=("f.jpg", huge, "image/jpeg")))
    assert response.status_code == 413 and document_rows() == 0


def test_submissions_are_rate_limited_per_account(client, configure) -> None:  # type: ignore[no-untyped-def]
    configure(RATE_LIMIT_KYC_SUBMISSIONS_PER_ACCOUNT="2/hour")
    _, headers = _signed_in(client)
    codes = [client.post("/api/v1/kyc/submissions", headers=headers, data=_fields(consent=False),
                         files=_multipart()).status_code for _ in range(3)]
    assert codes == [422, 422, 429]


@pytest.mark.parametrize("role", [Role.BRAND_ADMIN, Role.BRAND_STAFF, Role.CONSUMER])
def test_brand_people_and_consumers_reach_no_case_detail_or_document(client, role: Role) -> None:  # type: ignore[no-untyped-def]
    owner, owner_headers = _signed_in(client)
    client.post("/api/v1/kyc/submissions", headers=owner_headers, data=_fields(), files=_multipart())
    case_id = case_of(owner).id
    _, reviewer_headers = _signed_in(client, Role.KYC_REVIEWER)
    detail = client.get(f"/api/v1/kyc/cases/{case_id}", headers=reviewer_headers).json()
    link = detail["submissions"][0]["documents"][0]["url"]
    assert client.get(link, headers=reviewer_headers).status_code == 200

    _, headers = _signed_in(client, role, make_brand() if role is not Role.CONSUMER else None)
    for method, path in [("get", "/api/v1/kyc/cases"), ("get", f"/api/v1/kyc/cases/{case_id}"),
                         ("post", f"/api/v1/kyc/cases/{case_id}/claim"), ("get", link)]:
        response = getattr(client, method)(path, headers=headers, **({"json": {}} if method == "post" else {}))
        assert response.status_code == 403, (path, response.text)
        assert "Cleo" not in response.text and "AB 123456" not in response.text
    # The consumer's own status is theirs alone: another consumer's /me says nothing of it.
    assert client.get("/api/v1/kyc/me", headers=headers).json()["status"] == "none"


def test_a_signed_link_works_only_for_its_session_and_only_until_it_expires(client, configure) -> None:  # type: ignore[no-untyped-def]
    owner, owner_headers = _signed_in(client)
    client.post("/api/v1/kyc/submissions", headers=owner_headers, data=_fields(), files=_multipart())
    reviewer = make_user(Role.KYC_REVIEWER)
    first = bearer(login_tokens(client, reviewer.email)["access_token"])
    second = bearer(login_tokens(client, reviewer.email)["access_token"])  # the same reviewer, another session
    link = client.get(f"/api/v1/kyc/cases/{case_of(owner).id}", headers=first).json()[
        "submissions"][0]["documents"][0]["url"]
    opened = client.get(link, headers=first)
    assert opened.status_code == 200 and opened.headers["content-type"] == "image/jpeg"
    assert opened.content[:3] == b"\xff\xd8\xff" and "no-store" in opened.headers["cache-control"]
    assert "sandbox" in opened.headers["content-security-policy"]
    refused = client.get(link, headers=second)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_signature"
    assert client.get(link).status_code == 401  # nobody signed in
    tampered = link.replace("sig=", "sig=0")
    assert client.get(tampered, headers=first).status_code == 400

    configure(KYC_DOCUMENT_URL_TTL_SECONDS="1")
    short = client.get(f"/api/v1/kyc/cases/{case_of(owner).id}", headers=first).json()[
        "submissions"][0]["documents"][0]["url"]
    time.sleep(2.1)  # the link's whole lifetime, not synchronisation
    expired = client.get(short, headers=first)
    assert expired.status_code == 400 and "expired" in expired.json()["error"]["message"]
    views = [h for h in review.get_case(reviewer, case_of(owner).id).history if h.action == "document_viewed"]  # type: ignore[arg-type]
    assert len(views) == 1 and reviewer.email in views[0].why


def test_reviewer_routes_claim_request_changes_and_four_eyes(client) -> None:  # type: ignore[no-untyped-def]
    owner, owner_headers = _signed_in(client)
    client.post("/api/v1/kyc/submissions", headers=owner_headers, data=_fields(), files=_multipart())
    case_id = case_of(owner).id
    _, kim = _signed_in(client, Role.KYC_REVIEWER)
    _, ray = _signed_in(client, Role.KYC_REVIEWER)
    queue = client.get("/api/v1/kyc/cases", headers=kim).json()
    assert queue["total"] == 1 and queue["items"][0]["id"] == case_id
    assert client.post(f"/api/v1/kyc/cases/{case_id}/claim", headers=kim, json={}).status_code == 200
    held = client.post(f"/api/v1/kyc/cases/{case_id}/claim", headers=ray, json={})
    assert held.status_code == 409 and held.json()["error"]["code"] == "kyc_case_held"
    proposed = client.post(f"/api/v1/kyc/cases/{case_id}/reject", headers=kim,
                           json={"reason": "data_mismatch", "note": "Name differs from the card"})
    assert proposed.json()["state"] == "rejection_pending"
    assert client.post(f"/api/v1/kyc/cases/{case_id}/claim", headers=kim, json={}).status_code == 409
    assert client.post(f"/api/v1/kyc/cases/{case_id}/claim", headers=ray, json={}).status_code == 200
    confirmed = client.post(f"/api/v1/kyc/cases/{case_id}/confirm-rejection", headers=ray, json={})
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "rejected"
    me = client.get("/api/v1/kyc/me", headers=owner_headers).json()
    assert me["status"] == "rejected" and "Name differs" not in str(me)


def test_the_openapi_document_describes_the_multipart_submission_and_the_file_types(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/api/openapi.json").json()["paths"]
    body = paths["/api/v1/kyc/submissions"]["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    assert set(paths["/api/v1/kyc/documents/{document_id}"]["get"]["responses"]["200"]["content"]) == {
        "image/jpeg", "image/png", "application/pdf"}
