"""The webhook endpoint over a real socket: the API served by granian (the ASGI server Reflex runs) in its own
process on 127.0.0.1, posted to with httpx. A forged signature, a stale timestamp and a changed body are 401 with
nothing stored; a good delivery is stored once, its redelivery acknowledged as a duplicate."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.orders import service
from backend.payments.models import PaymentEvent
from backend.payments.signing import sign
from backend.workflow.models import OutboxEvent
from tests.api_server import api_server
from tests.factories import make_brand, make_campaign
from tests.payments.support import WEBHOOK, completed_event, count, order_by_public

ROOT = Path(__file__).resolve().parents[2]
WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


@pytest.fixture(scope="module")
def served_api(migrated_database: str) -> Iterator[str]:
    """The API over a socket against the test database (this process's settings, inherited)."""
    with api_server() as url:
        yield url


def _post(url: str, raw: bytes, header: str) -> httpx.Response:
    return httpx.post(f"{url}{WEBHOOK}", content=raw, timeout=30,
                      headers={"Content-Type": "application/json", "Stripe-Signature": header})


def test_bad_signatures_are_401_over_http_and_a_good_delivery_is_stored_once(served_api: str) -> None:
    campaign = make_campaign(make_brand())
    order = order_by_public(service.start_checkout(campaign.slug, 1, "b@example.com", WALLET, "127.0.0.1").public_id)
    raw = json.dumps(completed_event(order), separators=(",", ":")).encode()

    forged = _post(served_api, raw, sign(raw, "whsec_someone_else"))
    stale = _post(served_api, raw, sign(raw, timestamp=int(time.time()) - 301))
    changed = _post(served_api, raw.replace(b'"paid"', b'"unpaid"', 1), sign(raw))
    for response in (forged, stale, changed):
        assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_webhook"
    assert count(PaymentEvent) == 0 and count(OutboxEvent, OutboxEvent.topic == "payment.event_received") == 0

    first = _post(served_api, raw, sign(raw))
    again = _post(served_api, raw, sign(raw))
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert count(PaymentEvent) == 1
