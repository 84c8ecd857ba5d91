"""The client IP rate limits count: X-Forwarded-For is believed only through TRUSTED_PROXIES, and the API and the web
app ask the same function."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from backend.api.deps import client_ip as api_client_ip
from backend.auth.client_ip import client_ip
from backend.settings import load_settings

PROXIES = ("10.0.0.0/8", "2001:db8::/32")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        # No trusted proxy in between: the header is whatever the client wrote, so the peer is the client.
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        ("198.51.100.9", None, "198.51.100.9"),
        # Our proxy appended the address it saw: the right-most hop that is not ours is the client, whatever the
        # client put in front of it.
        ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "1.1.1.1, 6.6.6.6, 198.51.100.1", "198.51.100.1"),
        ("10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.5", "198.51.100.1"),  # two proxies of ours
        ("10.0.0.2", ["1.1.1.1, 198.51.100.1", "10.0.0.5"], "198.51.100.1"),  # the header sent twice
        ("10.0.0.2", "10.0.0.9, 10.0.0.5", "10.0.0.9"),  # only our own hops: the farthest one
        ("10.0.0.2", None, "10.0.0.2"),
        ("10.0.0.2", "not-an-ip", "10.0.0.2"),  # garbage is never a client address
        ("10.0.0.2", "198.51.100.1:5123", "198.51.100.1"),
        ("2001:db8::1", "2001:db8::2, [2001:db9::7]:443", "2001:db9::7"),
        ("::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"),  # an IPv4 proxy seen through a dual-stack socket
        (None, "198.51.100.1", "unknown"),
    ],
)
def test_the_client_is_the_right_most_hop_no_trusted_proxy_added(peer, forwarded, expected):
    assert client_ip(peer, forwarded, trusted=PROXIES) == expected


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_ip("10.0.0.2", "198.51.100.1", trusted=()) == "10.0.0.2"


def test_trusted_proxies_setting_takes_ips_and_cidrs_and_refuses_garbage():
    assert load_settings(TRUSTED_PROXIES="10.0.0.1, 172.16.0.0/12,::1").trusted_proxies == (
        "10.0.0.1/32", "172.16.0.0/12", "::1/128")
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        load_settings(TRUSTED_PROXIES="10.0.0.1,proxy.local")


def _request(peer: str, *forwarded: str) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 40000)})


def test_the_api_asks_the_same_function(configure):
    assert api_client_ip(_request("10.0.0.2", "198.51.100.1")) == "10.0.0.2"
    configure(TRUSTED_PROXIES="10.0.0.0/8")
    assert api_client_ip(_request("10.0.0.2", "6.6.6.6, 198.51.100.1")) == "198.51.100.1"
    assert api_client_ip(_request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"
