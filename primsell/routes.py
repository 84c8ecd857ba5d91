"""Every route of the web app as a constant or a small URL builder; pages and links use these, never literals.
The paths the backend writes too (emailed links, the payment provider's way back) come from backend.urls."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from backend.urls import (  # noqa: F401 - re-exported: pages and links use routes.<NAME> for every route
    ACCOUNT,
    ACCOUNT_SET_PASSWORD,
    ADMIN_ACCEPT_INVITE,
    API_METADATA,
    CAMPAIGN_PAGE,
    KYC_VERIFY,
    ORDER_PAGE,
    REDEEM_REWARDS,
    campaign_page,
    order_page,
)

HOME = "/"

ADMIN = "/admin"
ADMIN_LOGIN = "/admin/login"
ADMIN_CAMPAIGN_NEW = "/admin/campaigns/new"
ADMIN_CAMPAIGN = "/admin/campaigns/[campaign]"  # route pattern; links use admin_campaign(id)
ADMIN_CAMPAIGN_SALES = "/admin/campaigns/[campaign]/sales"  # links use admin_campaign_sales(id)
ADMIN_CAMPAIGN_ROYALTIES = "/admin/campaigns/[campaign]/royalties"  # links use admin_campaign_royalties(id)
ADMIN_BRAND = "/admin/brand"
ADMIN_MEMBERS = "/admin/members"
ADMIN_OPERATIONS = "/admin/operations"
ADMIN_RECONCILIATION = "/admin/reconciliation"
ADMIN_CHAIN = "/admin/chain"
ADMIN_ORDERS = "/admin/orders"
ADMIN_ORDER = "/admin/orders/[order]"  # route pattern; links use admin_order(id)
ADMIN_CAMPAIGN_REWARDS = "/admin/campaigns/[campaign]/rewards"  # route pattern; links use admin_campaign_rewards(id)

REDEEM = "/redeem"
REDEEM_SCAN = "/redeem/scan"  # staff scan holders' codes (signed in as brand staff or admin)

# The consumer's account (checkout surface) is ACCOUNT: their orders and the tokens held for them.
ACCOUNT_LOGIN = "/account/login"

KYC = "/kyc"
KYC_LOGIN = "/kyc/login"
KYC_TEAM = "/kyc/team"
KYC_CASE = "/kyc/cases/[case]"  # route pattern; links use kyc_case(id)

# The HTTP API (mounted on the same origin by backend.api).
API_WEB_SESSION = "/api/v1/auth/web/session"
API_WEB_LOGOUT = "/api/v1/auth/web/logout"
API_WEB_ROTATE = "/api/v1/auth/web/rotate"
API_HEALTH = "/api/health"
API_ORDERS_EXPORT = "/api/v1/orders/export.csv"

# Where each signed-in surface starts and where it signs in.
SURFACE_HOME = {"admin": ADMIN, "kyc": KYC, "account": ACCOUNT}
SURFACE_LOGIN = {"admin": ADMIN_LOGIN, "kyc": KYC_LOGIN, "account": ACCOUNT_LOGIN}
# Pages outside a surface's home that its sign-in may lead back to.
SURFACE_ALSO = {"account": (KYC_VERIFY, REDEEM_REWARDS), "admin": (REDEEM_SCAN,)}


def kyc_case(case_id: int | str) -> str:
    return f"/kyc/cases/{case_id}"


def kyc_verify(next_path: str = "") -> str:
    return f"{KYC_VERIFY}?{urlencode({'next': next_path})}" if next_path else KYC_VERIFY


def safe_return(next_path: str | None) -> str:
    """Where the verification page may send the consumer back to: a same-site path of the consumer pages."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return ""
    path = next_path.split("?", 1)[0]
    return next_path if path.startswith(("/c/", "/account", "/redeem", "/orders/")) else ""


def admin_campaign(campaign_id: int | str) -> str:
    return f"/admin/campaigns/{campaign_id}"


def admin_campaign_sales(campaign_id: int | str) -> str:
    return f"/admin/campaigns/{campaign_id}/sales"


def admin_campaign_royalties(campaign_id: int | str) -> str:
    return f"/admin/campaigns/{campaign_id}/royalties"


def api_campaign_sales_export(campaign_id: int | str, params: dict[str, str | int]) -> str:
    """The streamed CSV export of a campaign's sales with these filters (marketplace, status, from, to, search)."""
    query = f"?{urlencode(params)}" if params else ""
    return f"/api/v1/campaigns/{campaign_id}/sales/export.csv{query}"


def admin_campaign_rewards(campaign_id: int | str) -> str:
    return f"/admin/campaigns/{campaign_id}/rewards"


def admin_order(order_id: int | str) -> str:
    return f"/admin/orders/{order_id}"


def admin_orders(campaign_id: int | str | None = None) -> str:
    return f"{ADMIN_ORDERS}?{urlencode({'campaign': campaign_id})}" if campaign_id else ADMIN_ORDERS


def api_orders_export(params: dict[str, str | int]) -> str:
    """The streamed CSV export of a brand's orders with these filters (brand_id, status, campaign_id, ...)."""
    return f"{API_ORDERS_EXPORT}?{urlencode(params)}"


def token_metadata(campaign_slug: str, token_id: int | str) -> str:
    return f"{API_METADATA}/{quote(campaign_slug)}/{quote(str(token_id))}"


def login_with_next(surface: str, next_path: str) -> str:
    return f"{SURFACE_LOGIN[surface]}?{urlencode({'next': next_path})}"


def safe_next(surface: str, next_path: str | None) -> str:
    """Only same-site paths of the surface itself may follow a sign-in (no open redirects)."""
    home = SURFACE_HOME[surface]
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return home
    path = next_path.split("?", 1)[0]
    if path in SURFACE_ALSO.get(surface, ()):
        return next_path
    if path != home and not path.startswith(home + "/"):
        return home
    if path == SURFACE_LOGIN[surface]:
        return home
    return next_path
