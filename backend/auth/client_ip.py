"""Who is on the other end: the client IP that rate limits count, for the API and the web app alike.

X-Forwarded-For is written by whoever sends the request, so it is believed only as far as TRUSTED_PROXIES reach:
walking it from the right (the hop our own proxy appended last), the first address that is not a trusted proxy is
the client. With no trusted proxies, or a peer that is not one, the socket peer is the client."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from backend.settings import get_settings

UNKNOWN = "unknown"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(raw: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in raw)


def _address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(peer: str | None, forwarded_for: str | Iterable[str] | None = None,
              trusted: tuple[str, ...] | None = None) -> str:
    """The client's IP from the socket `peer` and the X-Forwarded-For header value(s), trusting `trusted` (default:
    the TRUSTED_PROXIES setting)."""
    peer_address = _address(peer or "")
    if peer_address is None:
        return (peer or "").strip() or UNKNOWN
    networks = _networks(get_settings().trusted_proxies if trusted is None else trusted)

    def is_trusted(address: Address) -> bool:
        return any(address in network for network in networks)

    if not networks or not is_trusted(peer_address):
        return str(peer_address)
    values = [forwarded_for] if isinstance(forwarded_for, str) else list(forwarded_for or [])
    hops = [hop for value in values for hop in value.split(",") if hop.strip()]
    client = peer_address
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # garbage a client wrote: the last hop our proxies vouched for is the client
        client = address
        if not is_trusted(address):
            break
    return str(client)


def client_network(ip: str) -> str:
    """What every per-IP limit counts for a client address: IPv4 as it is, IPv6 as its /64 ("2001:db8:1:2::/64"),
    because one subscriber is handed a whole /64 and fresh addresses from it must not buy fresh limits. Anything that
    is not an address (e.g. "unknown") is kept as it is, so such clients share one key."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip.strip()[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
