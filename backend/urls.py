"""The web app's paths that the backend writes too (links in emails, the payment page's way back, the pay link) and
the absolute URL of one. primsell/routes.py takes these paths from here, so each is written once."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from backend.settings import get_settings

# Route patterns (Reflex's [param] form); the builders below make the links.
CAMPAIGN_PAGE = "/c/[campaign_slug]"
ORDER_PAGE = "/orders/[public_id]"  # the payment provider returns the buyer here
ACCOUNT = "/account"
ACCOUNT_SET_PASSWORD = "/account/set-password"  # emailed "choose your password" links: ?token=...
ADMIN_ACCEPT_INVITE = "/admin/accept-invite"  # emailed invitations: ?token=...
KYC_VERIFY = "/kyc/verify"  # ?next=<path> brings the consumer back to the gated step
REDEEM_REWARDS = "/redeem/rewards"
API_METADATA = "/api/metadata"


def campaign_page(slug: str) -> str:
    return f"/c/{quote(slug)}"


def order_page(public_id: str) -> str:
    return f"/orders/{quote(public_id)}"


def pay_path(public_id: str) -> str:
    """The API's pay link (GET): it starts the order's payment time and redirects to the provider's page."""
    return f"/api/v1/checkout/orders/{quote(public_id)}/pay"


def absolute(path: str, **query: str) -> str:
    """`path` on PUBLIC_URL, with `query` (links that leave the site: emails, the payment provider)."""
    base = get_settings().public_url.rstrip("/")
    return f"{base}{path}?{urlencode(query)}" if query else f"{base}{path}"


def order_url(public_id: str) -> str:
    """The consumer's order page."""
    return absolute(order_page(public_id))


def pay_url(public_id: str) -> str:
    """The order's pay link: our own address, which starts the full TTL (open_payment) and redirects to the
    provider's payment page. The only payment URL a buyer is given."""
    return absolute(pay_path(public_id))
