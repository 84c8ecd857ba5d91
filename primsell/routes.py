"""Every route of the web app as a constant or a small URL builder; pages and links use these, never literals."""

from __future__ import annotations

from urllib.parse import quote, urlencode

HOME = "/"

ADMIN = "/admin"
ADMIN_LOGIN = "/admin/login"
ADMIN_CAMPAIGN_NEW = "/admin/campaigns/new"
ADMIN_CAMPAIGN = "/admin/campaigns/[campaign]"  # route pattern; links use admin_campaign(id)
ADMIN_BRAND = "/admin/brand"
ADMIN_MEMBERS = "/admin/members"
ADMIN_ACCEPT_INVITE = "/admin/accept-invite"
ADMIN_OPERATIONS = "/admin/operations"
ADMIN_CHAIN = "/admin/chain"
ADMIN_ORDERS = "/admin/orders"
ADMIN_ORDER = "/admin/orders/[order]"  # route pattern; links use admin_order(id)

CAMPAIGN_PAGE = "/c/[campaign_slug]"  # route pattern; links use campaign_page(slug)
ORDER_PAGE = "/orders/[public_id]"  # route pattern; links use order_page(public_id) (Stripe returns here)

REDEEM = "/redeem"

# The consumer's account (checkout surface): their orders and the tokens held for them.
ACCOUNT = "/account"
ACCOUNT_LOGIN = "/account/login"

KYC = "/kyc"
KYC_LOGIN = "/kyc/login"

# The HTTP API (mounted on the same origin by backend.api).
API_WEB_SESSION = "/api/v1/auth/web/session"
API_WEB_LOGOUT = "/api/v1/auth/web/logout"
API_HEALTH = "/api/health"
API_METADATA = "/api/metadata"
API_ORDERS_EXPORT = "/api/v1/orders/export.csv"

# Where each signed-in surface starts and where it signs in.
SURFACE_HOME = {"admin": ADMIN, "kyc": KYC, "account": ACCOUNT}
SURFACE_LOGIN = {"admin": ADMIN_LOGIN, "kyc": KYC_LOGIN, "account": ACCOUNT_LOGIN}


def admin_campaign(campaign_id: int | str) -> str:
    return f"/admin/campaigns/{campaign_id}"


def campaign_page(slug: str) -> str:
    return f"/c/{quote(slug)}"


def order_page(public_id: str) -> str:
    return f"/orders/{quote(public_id)}"


def admin_order(order_id: int | str) -> str:
    return f"/admin/orders/{order_id}"


def admin_orders(campaign_id: int | str | None = None) -> str:
    return f"{ADMIN_ORDERS}?{urlencode({'campaign': campaign_id})}" if campaign_id else ADMIN_ORDERS


def api_orders_export(params: dict[str, str | int]) -> str:
    """The streamed CSV export of a brand's orders with these filters (brand_id, status, campaign_id, ...)."""
    return f"{API_ORDERS_EXPORT}?{urlencode(params)}"


def token_metadata(campaign_slug: str, token_id: int | str) -> str:
    return f"{API_METADATA}/{quote(campaign_slug)}/{quote(str(token_id))}"


def accept_invite(token: str) -> str:
    return f"{ADMIN_ACCEPT_INVITE}?{urlencode({'token': token})}"


def login_with_next(surface: str, next_path: str) -> str:
    return f"{SURFACE_LOGIN[surface]}?{urlencode({'next': next_path})}"


def safe_next(surface: str, next_path: str | None) -> str:
    """Only same-site paths of the surface itself may follow a sign-in (no open redirects)."""
    home = SURFACE_HOME[surface]
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return home
    path = next_path.split("?", 1)[0]
    if path != home and not path.startswith(home + "/"):
        return home
    if path == SURFACE_LOGIN[surface]:
        return home
    return next_path
