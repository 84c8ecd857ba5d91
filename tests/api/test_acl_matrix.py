"""The API's access-control matrix: every role against every protected route, over HTTP, in ONE table.

The routes are read from the app itself, so a route that is neither in PROTECTED nor in PUBLIC fails the test:
whoever adds a route decides here who may call it. Every protected route is tried against brand A's rows by:
anonymous, a consumer, brand A's staff, the admin of another brand, a (platform-wide) KYC reviewer, a platform
admin, and brand A's own admin (the allowed case). A refused attempt must be refused the right way (401 without
a token; 404 for rows the caller may not even see, as for ids that do not exist; 403 for rows the caller sees but
may not act on) and must leave brand A as it was. The service-level matrix is tests/auth/test_acl_matrix.py.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from sqlmodel import select

from backend.api.app import create_api
from backend.auth.acl import Actor, Role
from backend.auth.models import Membership, User
from backend.auth.service import load_actor
from backend.brands import service as brands
from backend.brands.models import Brand
from backend.campaigns import service as campaigns
from backend.campaigns.models import CampaignStatus
from backend.db import session_scope
from backend.orders import service as orders
from tests.api.conftest import bearer, login_tokens
from tests.factories import make_brand, make_campaign, make_user

# Who asks. Brand-scoped roles are in brand A, except OTHER_ADMIN (admin of brand B).
ROLES = ("anonymous", "consumer", "brand_staff", "other_brand_admin", "kyc_reviewer", "platform_admin", "brand_admin")

# Outcomes. OK: 2xx. LISTED / HIDDEN: 200, with brand A's row in the list / not in it. PAST: the ACL let it
# through and the service answered on the merits (here 409: the order is not paid yet, so it cannot be refunded).
OK, LISTED, HIDDEN, PAST = "ok", "listed", "hidden", "past_acl"
SAID_NO = "said_no"  # 200 whose body says "refused" (a staff scan's answer); OK for a scan means not refused
MULTIPART = "__multipart__"  # a body sent as multipart/form-data instead of JSON
HEADERS = "__headers__"  # headers sent with the JSON body (an Idempotency-Key)
R401, R403, R404 = 401, 403, 404
REFUSALS = {R401, R403, R404}

# The matrix. Columns in the order of ROLES:
#   anonymous consumer staff other_admin kyc platform owner
PROTECTED: dict[tuple[str, str], tuple[Any, ...]] = {
    ("GET", "/api/v1/me"):                                      (R401, OK,     OK,     OK,     OK,     OK,     OK),
    ("GET", "/api/v1/brands"):                                  (R401, HIDDEN, LISTED, HIDDEN, LISTED, LISTED, LISTED),
    ("POST", "/api/v1/brands"):                                 (R401, R403,   R403,   R403,   R403,   OK,     R403),
    ("GET", "/api/v1/brands/{brand_id}"):                       (R401, R404,   OK,     R404,   OK,     OK,     OK),
    ("PATCH", "/api/v1/brands/{brand_id}"):                     (R401, R404,   R403,   R404,   R403,   OK,     OK),
    ("GET", "/api/v1/brands/{brand_id}/members"):               (R401, R404,   R403,   R404,   R403,   OK,     OK),
    ("POST", "/api/v1/brands/{brand_id}/members"):              (R401, R404,   R403,   R404,   R403,   OK,     OK),
    ("PATCH", "/api/v1/brands/{brand_id}/members/{user_id}"):   (R401, R404,   R403,   R404,   R403,   OK,     OK),
    ("DELETE", "/api/v1/brands/{brand_id}/members/{user_id}"):  (R401, R404,   R403,   R404,   R403,   OK,     OK),
    ("GET", "/api/v1/campaigns"):                               (R401, R404,   OK,     R404,   R403,   OK,     OK),
    ("POST", "/api/v1/campaigns"):                              (R401, R404,   R403,   R404,   R403,   OK,     OK),
    ("GET", "/api/v1/campaigns/{campaign_id}"):                 (R401, R404,   OK,     R404,   R404,   OK,     OK),
    ("PATCH", "/api/v1/campaigns/{campaign_id}"):               (R401, R404,   R403,   R404,   R404,   OK,     OK),
    ("DELETE", "/api/v1/campaigns/{campaign_id}"):              (R401, R404,   R403,   R404,   R404,   OK,     OK),
    ("POST", "/api/v1/campaigns/{campaign_id}/status"):         (R401, R404,   R403,   R404,   R404,   OK,     OK),
    ("GET", "/api/v1/orders/mine"):                             (R401, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    ("GET", "/api/v1/orders"):                                  (R401, R404,   OK,     R404,   R403,   OK,     OK),
    ("GET", "/api/v1/orders/export.csv"):                       (R401, R404,   OK,     R404,   R403,   OK,     OK),
    ("GET", "/api/v1/orders/dashboard/{campaign_id}"):          (R401, R404,   OK,     R404,   R404,   OK,     OK),
    ("GET", "/api/v1/orders/{order_id}"):                       (R401, R404,   OK,     R404,   R404,   OK,     OK),
    ("POST", "/api/v1/orders/{order_id}/refund"):               (R401, R404,   R403,   R404,   R404,   PAST,   PAST),
    # Secondary sales and royalties: read like the campaign.
    ("GET", "/api/v1/campaigns/{campaign_id}/sales"):            (R401, R404,   OK,     R404,   R404,   OK,     OK),
    ("GET", "/api/v1/campaigns/{campaign_id}/sales/export.csv"): (R401, R404,   OK,     R404,   R404,   OK,     OK),
    ("GET", "/api/v1/campaigns/{campaign_id}/royalties"):        (R401, R404,   OK,     R404,   R404,   OK,     OK),
    # Reward definitions: staff read them, admins change them.
    ("GET", "/api/v1/campaigns/{campaign_id}/rewards"):          (R401, R404,   OK,     R404,   R404,   OK,     OK),
    ("POST", "/api/v1/campaigns/{campaign_id}/rewards"):         (R401, R404,   R403,   R404,   R404,   OK,     OK),
    ("GET", "/api/v1/rewards/{reward_id}"):                      (R401, R404,   OK,     R404,   R404,   OK,     OK),
    ("PATCH", "/api/v1/rewards/{reward_id}"):                    (R401, R404,   R403,   R404,   R404,   OK,     OK),
    ("POST", "/api/v1/rewards/{reward_id}/end"):                 (R401, R404,   R403,   R404,   R404,   OK,     OK),
    ("GET", "/api/v1/rewards/{reward_id}/changes"):              (R401, R404,   OK,     R404,   R404,   OK,     OK),
    ("GET", "/api/v1/rewards/{reward_id}/periods"):              (R401, R404,   OK,     R404,   R404,   OK,     OK),
    # A payout's admin actions (on a payout of A with its vault deployed, an unclaimed allocation, a failed period).
    # Funding spends the platform signer's own balance: platform admins only (the brand's admin: 403).
    ("POST", "/api/v1/rewards/{reward_id}/fund"):                (R401, R404,   R403,   R404,   R404,   OK,     R403),
    ("POST", "/api/v1/rewards/{reward_id}/push"):                (R401, R404,   R403,   R404,   R404,   OK,     OK),
    ("POST", "/api/v1/rewards/{reward_id}/push-all"):            (R401, R404,   R403,   R404,   R404,   OK,     OK),
    ("POST", "/api/v1/reward-periods/{period_id}/retry"):        (R401, R404,   R403,   R404,   R404,   OK,     OK),
    # A holder's perks (their account's custodial tokens, or a SIWE-proved wallet): nobody here holds A's token.
    ("GET", "/api/v1/rewards/mine"):                             (R401, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    ("GET", "/api/v1/rewards/claimable"):                        (R401, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    ("POST", "/api/v1/rewards/qr"):                              (R401, R404,   R404,   R404,   R404,   R404,   R404),
    ("POST", "/api/v1/rewards/online"):                          (R401, R404,   R404,   R404,   R404,   R404,   R404),
    # Staff scan a holder's code for A's perk: a refusal is an answer (200, status "refused"; every attempt is
    # recorded), not an error, so that the counter shows why.
    ("POST", "/api/v1/rewards/redeem"):                          (R401, SAID_NO, OK,     SAID_NO, SAID_NO, OK,     OK),
    # The platform's KYC team: platform admins only (a platform KYC reviewer reviews, it does not staff the team).
    ("GET", "/api/v1/kyc-team"):                                 (R401, R403,   R403,   R403,   R403,   OK,     R403),
    ("POST", "/api/v1/kyc-team"):                                (R401, R403,   R403,   R403,   R403,   OK,     R403),
    ("DELETE", "/api/v1/kyc-team/{user_id}"):                    (R401, R403,   R403,   R403,   R403,   OK,     R403),
    # A person's own identity check (anyone signed in; here nobody has one pending to withdraw: 404).
    ("GET", "/api/v1/kyc/me"):                                   (R401, OK,     OK,     OK,     OK,     OK,     OK),
    ("POST", "/api/v1/kyc/submissions"):                         (R401, PAST,   PAST,   PAST,   PAST,   PAST,   PAST),
    ("POST", "/api/v1/kyc/me/withdraw"):                         (R401, R404,   R404,   R404,   R404,   R404,   R404),
    # The review queue: platform-wide KYC reviewers and platform admins. Deciding needs a claim first (409).
    ("GET", "/api/v1/kyc/cases"):                                (R401, R403,   R403,   R403,   OK,     OK,     R403),
    ("GET", "/api/v1/kyc/cases/{case_id}"):                      (R401, R403,   R403,   R403,   OK,     OK,     R403),
    ("POST", "/api/v1/kyc/cases/{case_id}/claim"):               (R401, R403,   R403,   R403,   OK,     OK,     R403),
    ("POST", "/api/v1/kyc/cases/{case_id}/release"):             (R401, R403,   R403,   R403,   PAST,   PAST,   R403),
    ("POST", "/api/v1/kyc/cases/{case_id}/approve"):             (R401, R403,   R403,   R403,   PAST,   PAST,   R403),
    ("POST", "/api/v1/kyc/cases/{case_id}/request-changes"):     (R401, R403,   R403,   R403,   PAST,   PAST,   R403),
    ("POST", "/api/v1/kyc/cases/{case_id}/reject"):              (R401, R403,   R403,   R403,   PAST,   PAST,   R403),
    ("POST", "/api/v1/kyc/cases/{case_id}/confirm-rejection"):   (R401, R403,   R403,   R403,   PAST,   PAST,   R403),
    ("POST", "/api/v1/kyc/cases/{case_id}/dismiss-rejection"):   (R401, R403,   R403,   R403,   PAST,   PAST,   R403),
    # A document only by a signed link made for the reviewer's own session: a forged one is refused (400) even to
    # reviewers (their real links: tests/kyc).
    ("GET", "/api/v1/kyc/documents/{document_id}"):              (R401, R403,   R403,   R403,   PAST,   PAST,   R403),
}

# Routes anyone may call, and why. Listed explicitly: nothing is public by omission.
_ANY = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/api/health"): "health check for load balancers and monitors",
    ("POST", "/api/v1/auth/login"): "signs in (rate-limited)",
    ("POST", "/api/v1/auth/refresh"): "the refresh token in the body is the credential",
    ("POST", "/api/v1/auth/logout"): "the refresh token in the body is the credential",
    ("POST", "/api/v1/auth/web/session"): "the single-use sign-in code in the body is the credential",
    ("POST", "/api/v1/auth/web/logout"): "ends the session named by the caller's own cookie",
    ("POST", "/api/v1/auth/web/rotate"): "renews the caller's own session cookie (the cookie is the credential)",
    ("GET", "/api/v1/public/campaigns/{slug}"): "the public campaign page (published campaigns only)",
    ("GET", "/api/metadata/{campaign_slug}/{token_id}"): "token metadata that marketplaces read",
    ("GET", "/api/v1/checkout/quote"): "price quote on the public campaign page",
    ("POST", "/api/v1/checkout"): "buying needs no account (rate-limited)",
    ("GET", "/api/v1/checkout/orders/{public_id}"): "the unguessable order link is the credential",
    ("GET", "/api/v1/checkout/orders/{public_id}/pay"): "the order link is the credential (redirects to pay)",
    ("POST", "/api/stripe/webhook"): "Stripe's signature (Stripe-Signature header) is the credential",
    ("POST", "/api/kyc/webhooks/sumsub"): "Sumsub's signature (X-Payload-Digest header) is the credential",
    ("GET", "/api/v1/auth/siwe/nonce"): "Sign-In with Ethereum's single-use nonce (rate-limited)",
    ("POST", "/api/v1/auth/siwe/verify"): "the signed SIWE message is the credential",
    ("GET", "/api/sandbox/pay/{session_id}"): "the sandbox pay page (404 with real Stripe)",
    ("POST", "/api/sandbox/pay/{session_id}"): "the sandbox pay page (404 with real Stripe)",
    ("GET", "/api/dev/mailbox"): "development mailbox (404 in production and with SMTP)",
    ("GET", "/api/openapi.json"): "the API's document",
    ("GET", "/api/docs"): "interactive API docs",
    ("GET", "/api/docs/oauth2-redirect"): "interactive API docs",
    ("GET", "/api/redoc"): "API docs",
    **{(method, "/api/{rest}"): "answers unknown /api paths with 404/405" for method in _ANY},
}

_emails = itertools.count(1)
HOLDER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


def app_operations() -> set[tuple[str, str]]:
    """(method, path) of every route the API app answers, in the schema or not (HEAD is GET's twin: not listed).
    FastAPI's own walk over the app's routes and included routers, as its OpenAPI generator does."""
    found: set[tuple[str, str]] = set()
    for route in iter_route_contexts(create_api().routes):
        path = getattr(route, "path_format", route.path)  # "/rewards/{reward_id}", not "{reward_id:int}"
        found |= {(method, path) for method in (route.methods or set()) if method != "HEAD"}
    return found


def test_every_route_of_the_api_is_in_the_matrix_or_listed_as_public() -> None:
    operations = app_operations()
    missing = sorted(operations - PROTECTED.keys() - PUBLIC.keys())
    assert not missing, (
        "These API routes have no entry in tests/api/test_acl_matrix.py:\n  "
        + "\n  ".join(f"{method} {path}" for method, path in missing)
        + "\nAdd each to PROTECTED with the outcome for every role in ROLES (anonymous, consumer, brand_staff, "
          "other_brand_admin, kyc_reviewer, platform_admin, brand_admin: 401/403/404 or OK) and teach _request how "
          "to call it on brand A's rows; or, if anyone may call it, to PUBLIC with the reason."
    )
    stale = sorted((PROTECTED.keys() | PUBLIC.keys()) - operations)
    assert not stale, f"Entries for routes the app no longer has (remove them): {stale}"
    assert not PROTECTED.keys() & PUBLIC.keys(), "A route is either protected or public"
    for key, outcomes in PROTECTED.items():
        assert len(outcomes) == len(ROLES), f"{key}: one outcome per role in ROLES"


def _passwordless_member(brand: Brand | None, role: Role) -> int:
    """A member of `brand` (None: of the platform's KYC team) for the member routes to act on (no password: nobody
    signs in as them)."""
    with session_scope() as session:
        user = User(email=f"member{next(_emails)}@example.com")
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, brand_id=brand.id if brand else None, role=role))  # type: ignore[arg-type]
        return user.id  # type: ignore[return-value]


@dataclass
class World:
    brand: Brand  # brand A
    owner: Actor  # brand A's admin: reads brand A as it is
    campaign_id: int  # a published campaign of A, with an order
    order_id: int
    order_public_id: str
    reward_id: int  # a perk of the campaign
    case_id: int  # a consumer's identity check, waiting for review
    document_id: int
    reward_code: str  # a holder's code for the perk, as the QR carries it
    payout_id: int = 0  # a payout of the campaign, made when a route needs it (_payout)


def _make_world() -> World:
    from backend.kyc.models import KycDocument, KycSubmission
    from backend.rewards import codes
    from tests.payments.support import order_by_public
    from tests.rewards.helpers import hold, perk

    brand = make_brand()
    owner = make_user(Role.BRAND_ADMIN, brand)
    campaign = make_campaign(brand)
    started = orders.start_checkout(campaign.slug, 1, "buyer@example.com", None, "127.0.0.1")
    order = order_by_public(started.public_id)
    reward = perk(owner, campaign, locations=[])
    case_id = _fresh_case()
    hold(campaign, 1, HOLDER)
    code = codes.encode(reward.id, 1, HOLDER, int(time.time()) + 600)  # type: ignore[arg-type]
    with session_scope() as session:
        submitted = KycSubmission.id == KycDocument.submission_id
        document_id = session.exec(select(KycDocument.id).join(KycSubmission, submitted)
                                   .where(KycSubmission.case_id == case_id)).first()
    return World(brand, owner, campaign.id, order.id, started.public_id, reward.id,  # type: ignore[arg-type]
                 case_id, document_id, code)  # type: ignore[arg-type]


def _request(method: str, path: str, w: World) -> tuple[str, dict[str, Any] | None]:
    """The URL and body of one attempt on brand A's rows; rows an allowed attempt would change are made fresh."""
    brand_id = w.brand.id
    assert brand_id is not None
    def fresh_draft() -> int:
        return make_campaign(w.brand, status=CampaignStatus.DRAFT).id  # type: ignore[return-value]

    params = {"brand_id": brand_id, "campaign_id": w.campaign_id, "order_id": w.order_id,
              "reward_id": w.reward_id, "case_id": w.case_id, "document_id": w.document_id}
    body: dict[str, Any] | None = None
    if path == "/api/v1/brands" and method == "POST":
        body = {"slug": f"new-brand-{next(_emails)}", "name": "New brand"}
    elif path == "/api/v1/brands/{brand_id}" and method == "PATCH":
        body = {"name": "Renamed brand"}
    elif path == "/api/v1/brands/{brand_id}/members" and method == "POST":
        body = {"email": f"invitee{next(_emails)}@example.com", "role": "brand_staff"}
    elif path.startswith("/api/v1/brands/{brand_id}/members/"):
        params["user_id"] = _passwordless_member(w.brand, Role.BRAND_STAFF)
        body = {"role": "brand_admin"} if method == "PATCH" else None
    elif path == "/api/v1/kyc-team" and method == "POST":
        body = {"email": f"reviewer{next(_emails)}@example.com"}
    elif path == "/api/v1/kyc-team/{user_id}":
        params["user_id"] = _passwordless_member(None, Role.KYC_REVIEWER)
    elif path == "/api/v1/campaigns" and method == "POST":
        body = {"brand_id": brand_id, "slug": f"new-campaign-{next(_emails)}", "name": "New", "price_minor": 100,
                "supply_cap": 10}
    elif path == "/api/v1/campaigns/{campaign_id}/rewards" and method == "POST":
        body = _perk_fields()
    elif path.startswith("/api/v1/campaigns/{campaign_id}") and method != "GET":
        params["campaign_id"] = fresh_draft()
        body = {"name": "Renamed"} if method == "PATCH" else {"status": "published"} if method == "POST" else None
    elif path == "/api/v1/orders/{order_id}/refund":
        body = {"reason": "customer asked"}
    elif path == "/api/v1/rewards/{reward_id}" and method == "PATCH":
        body = {"title": f"Renamed perk {next(_emails)}"}
    elif path == "/api/v1/rewards/{reward_id}/end":
        params["reward_id"] = _fresh_reward(w)
        body = {"reason": "season over"}
    elif path in ("/api/v1/rewards/qr", "/api/v1/rewards/online"):
        body = {"reward_id": w.reward_id, "token_id": 1}
    elif path == "/api/v1/rewards/redeem":
        body = {"code": w.reward_code, "confirm": False}
    elif path == "/api/v1/kyc/cases/{case_id}/claim":
        params["case_id"] = _fresh_case()
    elif path == "/api/v1/kyc/cases/{case_id}/request-changes":
        body = {"message": "The photo is blurred."}
    elif path == "/api/v1/kyc/cases/{case_id}/reject":
        body = {"reason": "document_unreadable", "note": "blurred photo"}
    elif path == "/api/v1/kyc/cases/{case_id}/dismiss-rejection":
        body = {"note": "the photo is fine"}
    elif path == "/api/v1/kyc/submissions":
        body = {MULTIPART: {"legal_name": (None, "Ada")}}
    elif path.startswith("/api/v1/rewards/{reward_id}/") and method == "POST" and path.rsplit("/", 1)[1] in (
            "fund", "push", "push-all"):
        params["reward_id"] = _payout(w)
        if path.endswith("/fund"):
            body = {"amount": "1000", HEADERS: {"Idempotency-Key": f"matrix-{next(_emails)}"}}
        elif path.endswith("/push"):
            body = {"holder": HOLDER}
    elif path == "/api/v1/reward-periods/{period_id}/retry":
        params["period_id"] = _failed_period(w)
    if body is None and method == "POST":
        body = {}  # JSON routes without fields take an empty object
    url = path.format(**params)
    if path == "/api/v1/kyc/documents/{document_id}":
        url += "?exp=4102444800&sig=" + "0" * 64
    if path in ("/api/v1/campaigns", "/api/v1/orders", "/api/v1/orders/export.csv") and method == "GET":
        url += f"?brand_id={brand_id}"
    return url, body


def _payout(w: World) -> int:
    """A payout of A's campaign, its vault deployed (at a made-up address: these routes only queue transactions) and
    HOLDER's allocation of a first period confirmed and unclaimed."""
    from datetime import timedelta

    from backend.db import utcnow
    from backend.rewards.models import RewardAllocation, RewardPeriod, RewardVaultRow
    from backend.rewards.service import define_reward
    from backend.workflow.machines import PeriodState, VaultState

    if w.payout_id:
        return w.payout_id
    reward = define_reward(w.owner, w.campaign_id, {
        "kind": "payout", "title": "Weekly", "payout_mode": "fixed_per_token", "amount_per_token": "1000",
        "currency_address": "", "payout_period": "week"})
    now = utcnow()
    with session_scope() as session:
        vault = session.exec(select(RewardVaultRow).where(RewardVaultRow.brand_id == w.brand.id)).one()
        vault.state, vault.address = VaultState.DEPLOYED, "0x" + "5a" * 20
        period = RewardPeriod(reward_id=reward.id, brand_id=w.brand.id, vault_id=vault.id, period_index=0,  # type: ignore[arg-type]
                              starts_at=now - timedelta(days=8), ends_at=now - timedelta(days=1),
                              state=PeriodState.ALLOCATED, amount=1000, holders=1, tokens=1, batches=1)
        session.add(period)
        session.flush()
        session.add(RewardAllocation(reward_id=reward.id, period_id=period.id, vault_id=vault.id, holder=HOLDER,  # type: ignore[arg-type]
                                     tokens=1, amount=1000, batch=0, allocated_block=5, allocated_log_index=0))
    w.payout_id = reward.id  # type: ignore[assignment]
    return w.payout_id


def _failed_period(w: World) -> int:
    """A fresh period of the payout whose one allocation batch reverted (retrying it succeeds once)."""
    from datetime import timedelta

    from sqlalchemy import func

    from backend.chain.models import ChainTransaction, TxPurpose, TxState
    from backend.db import utcnow
    from backend.rewards.models import RewardAllocation, RewardPeriod
    from backend.workflow.machines import PeriodState

    reward_id = _payout(w)
    now = utcnow()
    with session_scope() as session:
        first = session.exec(select(RewardPeriod).where(RewardPeriod.reward_id == reward_id)).first()
        index = session.exec(select(func.max(RewardPeriod.period_index)).where(
            RewardPeriod.reward_id == reward_id)).one() + 1
        period = RewardPeriod(reward_id=reward_id, brand_id=w.brand.id, vault_id=first.vault_id,  # type: ignore[union-attr]
                              period_index=index, starts_at=now - timedelta(days=8), ends_at=now - timedelta(days=1),
                              state=PeriodState.FAILED, amount=1000, holders=1, tokens=1, batches=1)
        tx = ChainTransaction(purpose=TxPurpose.REWARD_PAYOUT, idempotency_key=f"matrix-{next(_emails)}", chain="local",
                              signer="platform", from_address=HOLDER, to_address="0x" + "5a" * 20,
                              state=TxState.REVERTED, meta={"action": "allocate"})
        session.add_all([period, tx])
        session.flush()
        session.add(RewardAllocation(reward_id=reward_id, period_id=period.id, vault_id=first.vault_id,  # type: ignore[arg-type, union-attr]
                                     holder=HOLDER, tokens=1, amount=1000, batch=0, tx_id=tx.id))
        return period.id  # type: ignore[return-value]


def _perk_fields() -> dict[str, Any]:
    """A new perk's definition, as the API takes it."""
    return {"kind": "perk", "title": f"Perk {next(_emails)}", "use_period": "day", "uses_per_period": 1}


def _fresh_reward(w: World) -> int:
    from backend.rewards.service import define_reward

    return define_reward(w.owner, w.campaign_id, _perk_fields()).id  # type: ignore[return-value]


def _fresh_case() -> int:
    from tests.kyc.support import case_of, submit

    person = make_user()
    submit(person)
    return case_of(person).id  # type: ignore[return-value]


def _owner_view(w: World) -> dict[str, Any]:
    """Brand A as its admin sees it: what a refused attempt must leave unchanged."""
    from backend.orders import admin as order_admin

    brand = brands.get_brand(w.owner, w.brand.id)  # type: ignore[arg-type]
    return {
        "brand": (brand.name, brand.primary_color, brand.logo_url),
        "members": sorted((m.email, m.role.value) for m in brands.list_members(w.owner, w.brand.id)),  # type: ignore[arg-type]
        "campaigns": sorted((c.id, c.name, c.status.value)
                            for c in campaigns.list_campaigns(w.owner, w.brand.id, limit=100).items),  # type: ignore[arg-type]
        "order": order_admin.order_detail(w.owner, w.order_id).order.status,
        "brands": sorted(b.slug for b in brands.list_brands(make_platform_admin())),
        "kyc_team": sorted((m.email, m.pending) for m in brands.list_members(make_platform_admin(), None)),
        "rewards": _rewards(w),
        "case": _case(w),
        "payouts": _payout_rows(w),
    }


def _payout_rows(w: World) -> Any:
    """A's payout periods and every transaction queued for rewards (fund, push, retried batches)."""
    from backend.chain.models import ChainTransaction, TxPurpose
    from backend.rewards.models import RewardPeriod

    with session_scope() as session:
        return (sorted((p.id, p.state.value, p.retries) for p in session.exec(
                    select(RewardPeriod).where(RewardPeriod.brand_id == w.brand.id)).all()),
                sorted(session.exec(select(ChainTransaction.idempotency_key).where(
                    ChainTransaction.purpose == TxPurpose.REWARD_PAYOUT)).all()))


def _rewards(w: World) -> list[Any]:
    from backend.rewards.models import Reward

    with session_scope() as session:
        return sorted((r.id, r.title, r.state.value) for r in session.exec(
            select(Reward).where(Reward.brand_id == w.brand.id)).all())


def _case(w: World) -> Any:
    from backend.kyc.models import KycCase

    with session_scope() as session:
        case = session.get(KycCase, w.case_id)
        return case.state.value, case.claimed_by  # type: ignore[union-attr]


_platform_admin: list[Actor] = []


def make_platform_admin() -> Actor:
    if not _platform_admin:
        with session_scope() as session:
            user = User(email=f"viewer{next(_emails)}@example.com")
            session.add(user)
            session.flush()
            session.add(Membership(user_id=user.id, brand_id=None, role=Role.PLATFORM_ADMIN))
            session.flush()
            _platform_admin.append(load_actor(session, user))
    return _platform_admin[0]


def _outcome(expected: Any, status: int, body: Any, w: World) -> bool:
    if expected in REFUSALS:
        return status == expected
    if expected == SAID_NO:
        return status == 200 and isinstance(body, dict) and body.get("status") == "refused"
    if expected == OK:
        refused = isinstance(body, dict) and body.get("status") == "refused"
        return 200 <= status < 300 and not refused
    if expected == PAST:
        return status not in REFUSALS and status < 500
    items = body.get("items", []) if isinstance(body, dict) else []
    ids = {item.get("id") for item in items} | {item.get("public_id") for item in items}
    present = w.brand.id in ids or w.order_public_id in ids
    return status == 200 and present == (expected == LISTED)


@pytest.fixture
def callers(client, configure) -> Callable[[World], dict[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    configure(RATE_LIMIT_API_PER_IP="100000/minute", RATE_LIMIT_API_PER_ACCOUNT="100000/minute")

    def sign_in_all(w: World) -> dict[str, dict[str, str]]:
        people = {
            "consumer": make_user(Role.CONSUMER),
            "brand_staff": make_user(Role.BRAND_STAFF, w.brand),
            "other_brand_admin": make_user(Role.BRAND_ADMIN, make_brand()),
            "kyc_reviewer": make_user(Role.KYC_REVIEWER),
            "platform_admin": make_user(Role.PLATFORM_ADMIN),
            "brand_admin": w.owner,
        }
        headers = {role: bearer(login_tokens(client, actor.email)["access_token"]) for role, actor in people.items()}
        return {"anonymous": {}, **headers}

    return sign_in_all


def test_every_role_against_every_protected_route(client, callers) -> None:  # type: ignore[no-untyped-def]
    world = _make_world()
    headers = callers(world)
    _platform_admin.clear()
    wrong: list[str] = []
    for (method, path), outcomes in PROTECTED.items():
        for role, expected in zip(ROLES, outcomes, strict=True):
            url, body = _request(method, path, world)
            before = _owner_view(world) if expected in REFUSALS else None
            extra = body.pop(HEADERS, {}) if body else {}
            sent = {"files": body[MULTIPART]} if body and MULTIPART in body else {"json": body}
            response = client.request(method, url, headers={**headers[role], **extra}, **sent)
            try:
                parsed = response.json()
            except ValueError:
                parsed = None
            if not _outcome(expected, response.status_code, parsed, world):
                wrong.append(f"{role:>17} {method} {url}: expected {expected}, got {response.status_code} "
                             f"{response.text[:120]}")
            elif before is not None and _owner_view(world) != before:
                wrong.append(f"{role:>17} {method} {url}: refused ({response.status_code}) but brand A changed")
    assert not wrong, "Access-control matrix mismatches:\n" + "\n".join(wrong)
