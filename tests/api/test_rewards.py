"""Rewards over HTTP: admins define, read, change and end rewards; staff read; another brand gets 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from backend.api.app import create_api
from backend.auth.acl import Role
from backend.chain.keys import custodial_address
from backend.db import session_scope
from backend.rewards.models import RewardRedemption, SiweNonce
from primsell.state.redeem.rewards import RedeemRewardsState
from tests.factories import make_brand, make_campaign, make_user
from tests.rewards.helpers import hold
from tests.state.harness import Tab, web_cookie

PERK = {"kind": "perk", "title": "A free drink", "use_period": "day", "uses_per_period": 1,
        "locations": ["Main St."], "token_ranges": [[1, 100]]}


@pytest.fixture
def shop():  # type: ignore[no-untyped-def]
    brand = make_brand()
    return brand, make_campaign(brand)


def test_admin_defines_lists_changes_and_ends_a_reward(client, auth, shop):
    brand, campaign = shop
    admin = auth(make_user(Role.BRAND_ADMIN, brand))
    created = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", json=PERK, headers=admin)
    assert created.status_code == 201, created.text
    reward = created.json()
    assert reward["kind"] == "perk" and reward["state"] == "active" and reward["in_use"] is False
    payout = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", headers=admin, json={
        "kind": "payout", "title": "Monthly", "payout_mode": "fixed_per_token",
        "amount_per_token": "123456789012345678901234567890", "currency_address": "", "payout_period": "month"})
    assert payout.status_code == 201, payout.text
    assert payout.json()["amount_per_token"] == "123456789012345678901234567890"

    listed = client.get(f"/api/v1/campaigns/{campaign.id}/rewards", headers=admin).json()["items"]
    assert [r["id"] for r in listed] == [payout.json()["id"], reward["id"]]
    url = f"/api/v1/rewards/{reward['id']}"
    patched = client.patch(url, json={"title": "Two drinks", "uses_per_period": 2}, headers=admin)
    assert patched.status_code == 200 and patched.json()["uses_per_period"] == 2
    ended = client.post(f"{url}/end", json={"reason": "Season over"}, headers=admin)
    assert ended.status_code == 200 and ended.json()["state"] == "ended"
    assert client.post(f"{url}/end", json={}, headers=admin).status_code == 409
    changes = client.get(f"{url}/changes", headers=admin).json()["items"]
    assert [c["action"] for c in changes] == ["defined", "updated", "ended"]


def test_bad_definitions_get_field_errors(client, auth, shop):
    brand, campaign = shop
    admin = auth(make_user(Role.BRAND_ADMIN, brand))
    response = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", json=PERK | {"token_ranges": [[9, 1]]},
                           headers=admin)
    assert response.status_code == 422
    assert "token_ranges" in response.json()["error"]["fields"]
    response = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", json={"kind": "payout", "title": "x"},
                           headers=admin)
    assert response.status_code == 422 and "payout_mode" in response.json()["error"]["fields"]


def test_staff_read_only_and_other_brands_get_404(client, auth, shop):
    brand, campaign = shop
    admin = auth(make_user(Role.BRAND_ADMIN, brand))
    reward_id = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", json=PERK, headers=admin).json()["id"]
    staff = auth(make_user(Role.BRAND_STAFF, brand))
    assert client.get(f"/api/v1/rewards/{reward_id}", headers=staff).status_code == 200
    assert client.post(f"/api/v1/campaigns/{campaign.id}/rewards", json=PERK, headers=staff).status_code == 403
    assert client.patch(f"/api/v1/rewards/{reward_id}", json={"title": "x"}, headers=staff).status_code == 403
    stranger = auth(make_user(Role.BRAND_ADMIN, make_brand()))
    assert client.get(f"/api/v1/campaigns/{campaign.id}/rewards", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/rewards/{reward_id}", headers=stranger).status_code == 404
    assert client.patch(f"/api/v1/rewards/{reward_id}", json={"title": "x"}, headers=stranger).status_code == 404
    assert client.post(f"/api/v1/rewards/{reward_id}/end", json={}, headers=stranger).status_code == 404
    assert client.get(f"/api/v1/rewards/{reward_id}").status_code == 401


def test_account_holder_lists_perks_draws_a_qr_and_staff_redeem_it_over_http(client, auth, shop):
    from backend.chain.keys import custodial_address
    from tests.rewards.helpers import hold

    brand, campaign = shop
    admin = auth(make_user(Role.BRAND_ADMIN, brand))
    reward = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", json=PERK, headers=admin).json()
    consumer = make_user()
    hold(campaign, 4, custodial_address(consumer.user_id))
    holder = auth(consumer)
    mine = client.get("/api/v1/rewards/mine", headers=holder)
    assert mine.status_code == 200, mine.text
    assert [(p["reward_id"], p["token_id"], p["uses_left"]) for p in mine.json()["items"]] == [(reward["id"], 4, 1)]
    assert client.get("/api/v1/rewards/mine").status_code == 401

    qr = client.post("/api/v1/rewards/qr", json={"reward_id": reward["id"], "token_id": 4}, headers=holder)
    assert qr.status_code == 201, qr.text
    assert qr.json()["image"].startswith("data:image/svg+xml;base64,")
    assert client.post("/api/v1/rewards/qr", json={"reward_id": reward["id"], "token_id": 5},
                       headers=holder).status_code == 404

    staff = auth(make_user(Role.BRAND_STAFF, brand))
    body = {"code": qr.json()["code"], "location": "Main St."}
    checked = client.post("/api/v1/rewards/redeem", json=body | {"confirm": False}, headers=staff).json()
    assert (checked["status"], checked["reward_title"], checked["uses_left"]) == ("valid", "A free drink", 1)
    assert client.post("/api/v1/rewards/redeem", json=body, headers=staff).json()["status"] == "redeemed"
    again = client.post("/api/v1/rewards/redeem", json=body, headers=staff).json()
    assert (again["status"], again["reason"]) == ("refused", "already_redeemed")
    assert client.post("/api/v1/rewards/redeem", json=body, headers=holder).json()["reason"] == "foreign_brand"
    assert client.post("/api/v1/rewards/redeem", json=body).status_code == 401


def test_a_confirm_sent_again_with_its_request_id_gets_its_use_back(client, auth, shop):
    from sqlmodel import select

    from backend.chain.keys import custodial_address
    from backend.db import session_scope
    from backend.rewards.models import RewardAttempt, RewardRedemption
    from tests.rewards.helpers import hold

    brand, campaign = shop
    admin = auth(make_user(Role.BRAND_ADMIN, brand))
    reward = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", json=PERK | {"uses_per_period": 3},
                         headers=admin).json()
    consumer = make_user()
    hold(campaign, 4, custodial_address(consumer.user_id))
    code = client.post("/api/v1/rewards/qr", json={"reward_id": reward["id"], "token_id": 4},
                       headers=auth(consumer)).json()["code"]
    staff, colleague = auth(make_user(Role.BRAND_STAFF, brand)), auth(make_user(Role.BRAND_STAFF, brand))
    body = {"code": code, "location": "Main St.", "request_id": "counter-7-confirm-0001"}

    first = client.post("/api/v1/rewards/redeem", json=body, headers=staff).json()
    assert first["status"] == "redeemed" and first["uses_left"] == 2, first
    retry = client.post("/api/v1/rewards/redeem", json=body, headers=staff).json()  # the answer was lost
    assert (retry["status"], retry["redemption_id"], retry["uses_left"]) == ("redeemed", first["redemption_id"], 2)
    # Not the same confirm: another id, or the same id from someone else, is a second use of one code.
    other = client.post("/api/v1/rewards/redeem", json=body | {"request_id": "counter-7-confirm-0002"}, headers=staff)
    assert other.json()["reason"] == "already_redeemed"
    assert client.post("/api/v1/rewards/redeem", json=body, headers=colleague).json()["reason"] == "already_redeemed"
    assert client.post("/api/v1/rewards/redeem", json=body | {"request_id": None},
                       headers=staff).json()["reason"] == "already_redeemed"
    with session_scope() as session:
        uses = session.exec(select(RewardRedemption)).all()
        attempts = [a.outcome.value for a in session.exec(select(RewardAttempt).order_by(RewardAttempt.id))]
    assert [u.request_id for u in uses] == ["counter-7-confirm-0001"]
    assert attempts == ["accepted", "refused", "refused", "refused"]  # the repeat is not a new attempt

    for bad in ("short", "has spaces in it", "x" * 65):
        response = client.post("/api/v1/rewards/redeem", json=body | {"request_id": bad}, headers=staff)
        assert response.status_code == 422 and "request_id" in str(response.json()["error"]["fields"]), bad


def test_siwe_over_http_gives_a_wallet_proof_once(client, configure):
    from eth_account import Account
    from eth_account.messages import encode_defunct

    configure(CHAIN_ID=31337)
    account = Account.from_key("0x" + "33" * 32)
    issued = client.get("/api/v1/auth/siwe/nonce", params={"address": account.address})
    assert issued.status_code == 200, issued.text
    message = issued.json()["message"]
    assert f"Nonce: {issued.json()['nonce']}" in message and "Chain ID: 31337" in message
    signature = "0x" + Account.sign_message(encode_defunct(text=message), private_key=account.key).signature.hex()
    verified = client.post("/api/v1/auth/siwe/verify", json={"message": message, "signature": signature})
    assert verified.status_code == 200, verified.text
    assert verified.json()["address"] == account.address
    replay = client.post("/api/v1/auth/siwe/verify", json={"message": message, "signature": signature})
    assert replay.status_code == 401 and "already used" in replay.json()["error"]["message"]
    proof = verified.json()["wallet_proof"]
    mine = client.get("/api/v1/rewards/mine", headers={"X-Wallet-Proof": proof})
    assert mine.status_code == 200 and mine.json() == {"items": []}
    assert client.get("/api/v1/rewards/mine", headers={"X-Wallet-Proof": proof + "x"}).status_code == 401


@pytest.fixture
def node_down():  # type: ignore[no-untyped-def]
    """The chain's client pointed at a local port nobody listens on (the node is down)."""
    from web3 import Web3

    from backend.chain.anvil import free_port
    from backend.chain.client import set_web3

    set_web3("local", Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}", exception_retry_configuration=None)))
    yield
    set_web3("local", None)


def test_a_wallet_asking_for_its_perks_while_the_node_is_down_gets_a_503(client, auth, shop, node_down):
    from backend.auth.siwe import wallet_proof
    from tests.rewards.helpers import hold

    brand, campaign = shop
    reward = client.post(f"/api/v1/campaigns/{campaign.id}/rewards", json=PERK,
                         headers=auth(make_user(Role.BRAND_ADMIN, brand))).json()
    wallet = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
    hold(campaign, 4, wallet)  # the indexer says so; the chain must agree, and cannot be asked
    proof = {"X-Wallet-Proof": wallet_proof(wallet)[0]}
    body = {"reward_id": reward["id"], "token_id": 4}
    for response in (client.get("/api/v1/rewards/mine", headers=proof),
                     client.post("/api/v1/rewards/qr", json=body, headers=proof),
                     client.post("/api/v1/rewards/online", json=body, headers=proof)):
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "unavailable"


def test_siwe_nonces_are_rate_limited_per_ip(client, configure):
    configure(CHAIN_ID=31337, RATE_LIMIT_SIWE_NONCE_PER_IP="3/minute")
    codes = [client.get("/api/v1/auth/siwe/nonce").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_siwe_nonces_are_limited_per_ipv6_64_not_per_address(configure):
    """Each nonce is a siwe_nonce row: fresh addresses from one subscriber's /64 must not buy fresh budgets."""
    configure(CHAIN_ID=31337, RATE_LIMIT_SIWE_NONCE_PER_IP="3/minute")
    app = create_api()
    codes = [TestClient(app, client=(f"2001:db8:1:2::{host:x}", 50000)).get("/api/v1/auth/siwe/nonce").status_code
             for host in range(1, 11)]
    with session_scope() as session:
        nonces = len(session.exec(select(SiweNonce.nonce)).all())
    assert codes.count(200) == 3 and nonces == 3, codes
    other_network = TestClient(app, client=("2001:db8:1:3::1", 50000))
    assert other_network.get("/api/v1/auth/siwe/nonce").status_code == 200


def test_online_redemptions_over_the_api_and_on_the_redeem_page_share_one_budget(auth, configure, shop):
    """The API and the redeem page count one per-network budget (it used to be two buckets, one per surface)."""
    brand, campaign = shop
    admin = auth(make_user(Role.BRAND_ADMIN, brand))
    api = TestClient(create_api(), client=("2001:db8:1:2::a", 50000))
    online = PERK | {"channel": "online", "locations": [], "use_period": "ever"}
    reward = api.post(f"/api/v1/campaigns/{campaign.id}/rewards", json=online, headers=admin).json()
    consumer = make_user(email="holder@example.com")
    for token_id in (4, 5, 6):
        hold(campaign, token_id, custodial_address(consumer.user_id))
    configure(RATE_LIMIT_REWARD_ONLINE_PER_IP="2/minute")
    holder = auth(consumer)
    for token_id in (4, 5):
        done = api.post("/api/v1/rewards/online", json={"reward_id": reward["id"], "token_id": token_id},
                        headers=holder)
        assert done.status_code == 201, done.text

    tab = Tab(web_cookie("holder@example.com"), "/redeem/rewards", ip="2001:db8:1:2::b")  # the same /64
    tab.run(RedeemRewardsState.redeem_online, str(reward["id"]), "6")
    page = tab.state(RedeemRewardsState)
    assert page.online_code == "" and "Too many attempts" in page.error
    with session_scope() as session:
        assert len(session.exec(select(RewardRedemption.id)).all()) == 2


def test_siwe_verify_is_rate_limited_per_ip(client, configure):
    """A failed signature keeps its nonce and costs a call to the node: tries are limited, not only nonces."""
    configure(CHAIN_ID=31337, RATE_LIMIT_SIWE_VERIFY_PER_IP="3/minute")
    wallet = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
    message = client.get("/api/v1/auth/siwe/nonce", params={"address": wallet}).json()["message"]
    codes = [client.post("/api/v1/auth/siwe/verify", json={"message": message, "signature": "0x" + "ab" * 65}
                         ).status_code for _ in range(4)]
    assert 429 not in codes[:3] and codes[3] == 429, codes


@pytest.mark.parametrize(("request_kwargs", "status", "code"), [
    ({"content": b'{"code": "x"}', "headers": {"Content-Type": "text/plain"}}, 415, "unsupported_media_type"),
    ({"content": b'{"code": ', "headers": {"Content-Type": "application/json"}}, 400, "malformed_json"),
    ({"json": {"code": "a\u0000b"}}, 422, "validation_error"),
    ({"json": {"code": ""}}, 422, "validation_error"),
    ({"json": {"code": "x", "extra": 1}}, 422, "validation_error"),
    ({"json": ["x"]}, 422, "validation_error"),
    ({"json": {"code": "x"}}, 401, "not_authenticated"),
    ({"json": {"code": "x"}, "headers": {"Authorization": "Basic abc"}}, 401, "not_authenticated"),
    ({"json": {"code": "x"}, "headers": {"Authorization": "Bearer not-a-token"}}, 401, "not_authenticated"),
])
def test_the_redeem_fast_path_answers_bad_requests_like_the_api(client, request_kwargs, status, code):
    response = client.post("/api/v1/rewards/redeem", **request_kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    if status == 422:
        assert response.json()["error"]["fields"]


def test_the_redeem_fast_path_counts_against_the_per_ip_limit(client, auth, configure, shop):
    brand, _ = shop
    staff = auth(make_user(Role.BRAND_STAFF, brand))
    configure(RATE_LIMIT_API_PER_IP="2/minute")
    answers = [client.post("/api/v1/rewards/redeem", json={"code": "x"}, headers=staff) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].headers["Retry-After"]
