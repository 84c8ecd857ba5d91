"""Checkout's abuse limits (issue 10, supply squatting), used by start_checkout so that the API and the campaign page
get the same ones by construction: rate limits on attempts to create an order (per network, per email, per campaign
and network), and caps on unpaid reservations counted from the orders table (per email, per network, and a share of
the campaign's supply per network, checked under the campaign lock that reserves the supply).

A "network" is the client's IPv4 address, or the /64 around an IPv6 address (backend.auth.client_ip.client_network).
"""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session

from backend.auth.ratelimit import get_rate_limiter
from backend.campaigns.models import Campaign
from backend.errors import RateLimited
from backend.orders.errors import CheckoutRateLimited, ReservationLimitReached
from backend.orders.models import PAYABLE, Order
from backend.settings import get_settings


def wait_text(seconds: int) -> str:
    """'45 seconds', '1 minute', '12 minutes', '2 hours' (rounded up: never sooner than the limit allows)."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 2 * 3600:
        minutes = math.ceil(seconds / 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{math.ceil(seconds / 3600)} hours"


def _clock(value: datetime) -> str:
    return value.strftime("%H:%M UTC")


# -- rate limits on creating orders ---------------------------------------------------------------------------------

def limit_checkout_rate(network: str, email: str, campaign_id: int) -> None:
    """Count one attempt to create an order; CheckoutRateLimited (429, Retry-After) when over a limit."""
    settings = get_settings()
    limiter = get_rate_limiter()
    checks = (
        (settings.checkout_rate_per_ip, f"checkout:ip:{network}",
         "Too many orders from your network in a short time."),
        (settings.checkout_rate_per_email, f"checkout:email:{email}",
         "Too many orders for this email address in a short time."),
        (settings.checkout_rate_per_campaign_ip, f"checkout:campaign:{campaign_id}:ip:{network}",
         "Too many orders for this campaign from your network in a short time."),
    )
    for rule, key, what in checks:
        try:
            limiter.hit(rule, key)
        except RateLimited as exc:
            raise CheckoutRateLimited(exc.retry_after_s,
                                      f"{what} Try again in {wait_text(exc.retry_after_s)}.") from None


# -- caps on unpaid reservations --------------------------------------------------------------------------------------

def _unpaid() -> ColumnElement[bool]:
    """Orders that hold supply and can still be paid: what a squatter holds."""
    return Order.holds_supply.is_(True) & Order.state.in_(PAYABLE)  # type: ignore[attr-defined]


def ip_supply_share(campaign: Campaign) -> int:
    """How many of the campaign's tokens one network may hold unpaid: the configured share of the supply, at least
    one (a campaign of four tokens still sells to everyone)."""
    percent = get_settings().order_max_unpaid_supply_percent_per_ip
    return max(1, campaign.supply_cap * percent // 100)


def check_unpaid_caps(session: Session, campaign: Campaign, email: str, network: str, quantity: int) -> None:
    """Refuse (ReservationLimitReached) an order of `quantity` that would take the email or the network over its cap
    of unpaid orders, or the network over its share of this campaign's supply. Run under the buyer's and the
    campaign's locks (locks.lock_buyer, locks.lock_campaign) for a decision that concurrent checkouts cannot beat."""
    settings = get_settings()
    count, until = session.execute(
        select(func.count(), func.min(Order.expires_at)).where(Order.email == email, _unpaid())
    ).one()
    if count >= settings.order_max_unpaid_per_email:
        raise ReservationLimitReached(
            f"There are already {count} unpaid orders for this email address. Pay for one of them, or wait until "
            f"one expires (by {_clock(until)}), then try again.")
    count, until = session.execute(
        select(func.count(), func.min(Order.expires_at)).where(Order.client_network == network, _unpaid())
    ).one()
    if count >= settings.order_max_unpaid_per_ip:
        raise ReservationLimitReached(
            f"There are already {count} unpaid orders from your network. Pay for one of them, or wait until one "
            f"expires (by {_clock(until)}), then try again.")
    held, until = session.execute(
        select(func.coalesce(func.sum(Order.quantity), 0), func.min(Order.expires_at)).where(
            Order.campaign_id == campaign.id, Order.client_network == network, _unpaid())
    ).one()
    share = ip_supply_share(campaign)
    if held + quantity > share:
        left = max(0, share - held)
        rule = (f"To keep this sale fair, one network may reserve at most {share} of the {campaign.supply_cap} "
                f"tokens of this campaign before paying")
        if left:
            raise ReservationLimitReached(f"{rule}; yours holds {held}, so you can add {left}.",
                                          fields={"quantity": f"at most {left}"})
        raise ReservationLimitReached(f"{rule}. Pay for your open orders, or wait until they expire (by "
                                      f"{_clock(until)}), then try again.")
