"""Shared test support for orders and payments: the app with the checkout routers, signed webhook posts, a
settled workflow, a recording fake Stripe HTTP server on 127.0.0.1, and event builders."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.api.app import create_api
from backend.db import session_scope
from backend.orders.models import Order
from backend.payments import sandbox
from backend.payments.models import SandboxSession
from backend.payments.signing import sign
from backend.workflow import kick, outbox

WEBHOOK = "/api/stripe/webhook"
# The checkout abuse limits (backend/orders/limits.py), out of the way: `configure(**BUYER_LIMITS_OFF)` in tests that
# are about something else and buy, from one address or email, more than a stranger may hold unpaid (a whole small
# campaign, many orders in a row). tests/orders/test_abuse_limits.py tests the limits themselves.
BUYER_LIMITS_OFF = {
    "RATE_LIMIT_CHECKOUT_PER_IP": "10000/minute", "RATE_LIMIT_CHECKOUT_PER_EMAIL": "10000/minute",
    "RATE_LIMIT_CHECKOUT_PER_CAMPAIGN_IP": "10000/minute", "ORDER_MAX_UNPAID_PER_EMAIL": 10000,
    "ORDER_MAX_UNPAID_PER_IP": 10000, "ORDER_MAX_UNPAID_SUPPLY_PERCENT_PER_IP": 100,
}


def build_app() -> FastAPI:
    """The API as the web app mounts it (webhook fast path, checkout and sandbox routes included)."""
    return create_api()


def emit_mint_event(topic: str, payload: dict[str, Any]) -> None:
    """What the chain side emits when a mint request confirms ("mint.completed") or fails for good ("mint.failed");
    an order's request has the key "order-<id>"."""
    with session_scope() as session:
        outbox.emit(session, topic, payload, entity=("mint_request", payload["key"]))


def post_event(client: TestClient, event: dict[str, Any] | bytes, *, secret: str | None = None,
               timestamp: int | None = None, body: bytes | None = None) -> Any:
    raw = event if isinstance(event, bytes) else json.dumps(event, separators=(",", ":")).encode()
    header = sign(raw, secret, timestamp=timestamp)
    return client.post(WEBHOOK, content=body if body is not None else raw,
                       headers={"Content-Type": "application/json", "Stripe-Signature": header})


def settle(max_rounds: int = 50) -> None:
    """Wait for kicked relays, then relay until nothing is due: the workflow has settled."""
    kick.wait_for_kick()
    for _ in range(max_rounds):
        if outbox.relay_pass().claimed == 0:
            kick.wait_for_kick()
            if outbox.relay_pass().claimed == 0:
                return
    raise AssertionError("the workflow did not settle")


def client_sender(client: TestClient) -> sandbox.Sender:
    def send(url: str, body: bytes, headers: dict[str, str]) -> int:
        assert url.endswith(WEBHOOK)
        return client.post(WEBHOOK, content=body, headers=headers).status_code

    return send


def order_by_public(public_id: str) -> Order:
    with session_scope() as session:
        order = session.execute(select(Order).where(Order.public_id == public_id)).scalars().one()
        session.expunge(order)
        return order


def sandbox_row(order: Order) -> SandboxSession:
    with session_scope() as session:
        row = session.get(SandboxSession, order.payment_session_id)
        assert row is not None
        session.expunge(row)
        return row


def pay_sandbox_session(order: Order) -> None:
    """The buyer paid on the sandbox page, and no webhook told us yet (a lost or late delivery)."""
    with session_scope() as session:
        row = session.get(SandboxSession, order.payment_session_id)
        assert row is not None
        row.status, row.payment_status = "complete", "paid"
        session.add(row)


def completed_event(order: Order, *, amount: int | None = None, currency: str | None = None,
                    kind: str = "checkout.session.completed") -> dict[str, Any]:
    """The completion Stripe would send for the order's (sandbox) session."""
    row = sandbox_row(order)
    obj = sandbox.session_event_object(row)
    obj.update(status="complete", payment_status="paid", payment_intent=row.payment_intent_id)
    if amount is not None:
        obj["amount_total"] = amount
    if currency is not None:
        obj["currency"] = currency
    return sandbox.build_event(kind, obj)


def session_event(order: Order, kind: str) -> dict[str, Any]:
    row = sandbox_row(order)
    obj = sandbox.session_event_object(row)
    if kind == "checkout.session.expired":
        obj["status"] = "expired"
    return sandbox.build_event(kind, obj)


def charge_refunded_event(order: Order, amount: int | None = None) -> dict[str, Any]:
    row = sandbox_row(order)
    amount = row.amount_total if amount is None else amount
    return sandbox.build_event("charge.refunded", {
        "id": f"ch_{row.payment_intent_id}", "object": "charge", "amount": row.amount_total,
        "amount_refunded": amount, "currency": row.currency, "payment_intent": row.payment_intent_id,
        "refunded": amount >= row.amount_total, "metadata": {},
    })


def dispute_event(order: Order, kind: str = "charge.dispute.created", status: str = "needs_response") -> dict[str, Any]:
    row = sandbox_row(order)
    return sandbox.build_event(kind, {
        "id": f"dp_{row.payment_intent_id}", "object": "dispute", "amount": row.amount_total,
        "currency": row.currency, "payment_intent": row.payment_intent_id, "charge": f"ch_{row.payment_intent_id}",
        "reason": "fraudulent", "status": status,
    })


def count(model: Any, *where: Any) -> int:
    with session_scope() as session:
        return int(session.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


# -- a fake Stripe at the network boundary --------------------------------------------------------------------------

@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: list[tuple[str, str]]

    def field(self, name: str) -> str | None:
        return next((v for k, v in self.form if k == name), None)


@dataclass
class FakeStripe:
    """A tiny threaded HTTP server speaking Stripe's wire format. `responses` is a queue of (status, body);
    when empty it answers with `default(request)`."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    responses: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    default: Callable[[Recorded], tuple[int, dict[str, Any]]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _default_answer(req: Recorded) -> tuple[int, dict[str, Any]]:
    if req.path.startswith("/v1/checkout/sessions"):
        parts = req.path.split("/")
        session_id = parts[4] if len(parts) > 4 else "cs_test_fake"
        status = "expired" if req.path.endswith("/expire") else "open"
        return 200, {"id": session_id, "object": "checkout.session", "url": f"https://checkout.stripe.test/{session_id}",
                     "status": status, "payment_status": "unpaid", "amount_total": 2500, "currency": "usd",
                     "payment_intent": None, "metadata": {}}
    if req.path.startswith("/v1/refunds"):
        return 200, {"id": "re_fake", "object": "refund", "status": "succeeded",
                     "amount": int(req.field("amount") or 0)}
    return 404, {"error": {"type": "invalid_request_error", "message": "unknown path"}}


def serve_fake_stripe() -> Iterator[FakeStripe]:
    fake = FakeStripe(default=_default_answer)

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            query = self.path.split("?", 1)[1] if "?" in self.path else ""
            recorded = Recorded(self.command, self.path.split("?", 1)[0], {k: v for k, v in self.headers.items()},
                                parse_qsl(body or query, keep_blank_values=True))
            with fake.lock:
                fake.requests.append(recorded)
                status, payload = fake.responses.pop(0) if fake.responses else fake.default(recorded)  # type: ignore[misc]
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{len(fake.requests)}")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")
