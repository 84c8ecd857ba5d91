"""A fake Stripe API on 127.0.0.1 for the real stripe-python client (pointed at it with base_addresses): it records
every request and answers from a script of answers (status, body, headers, delay), then with Stripe-shaped objects.

Unlike support.FakeStripe it can send headers (Stripe-Should-Retry), answer late (read timeouts) and stand for a
Stripe that is down (`refused_url`). With a `StripeLedger` as its default it is a Stripe that remembers: sessions
created, read back, expired and paid, and refunds of what was paid (the provider conformance tests)."""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # wait this long before answering (the client may have given up by then)


def stripe_error(status: int, type_: str, message: str = "", code: str = "", **headers: str) -> Answer:
    """An error in Stripe's v1 shape: {"error": {"type", "code", "message"}}; headers as keyword arguments
    with underscores for dashes (Stripe_Should_Retry="false")."""
    error = {"type": type_, **({"code": code} if code else {}), **({"message": message} if message else {})}
    return Answer(status, {"error": error}, {k.replace("_", "-"): v for k, v in headers.items()})


@dataclass
class Seen:
    """One request as it arrived: the method, the path without its query, the headers, and the raw body."""

    method: str
    path: str
    headers: dict[str, str]
    query: str
    body: str

    @property
    def form(self) -> dict[str, str]:
        """The form-encoded fields of a POST (or a GET's query), decoded. Stripe's encoding never repeats a name
        (lists are indexed: `images[0]`), so a repeated one fails the test."""
        pairs = parse_qsl(self.body or self.query, keep_blank_values=True, strict_parsing=bool(self.body))
        fields = dict(pairs)
        assert len(fields) == len(pairs), f"a field name is repeated: {pairs}"
        return fields


@dataclass
class StripeAPI:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    script: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)

    def answer(self, *answers: Answer, times: int = 1) -> None:
        """Answer the next requests with `answers` (repeated `times`); afterwards with the default objects."""
        self.script.extend(list(answers) * times)

    def keys(self) -> list[str | None]:
        """The Idempotency-Key of every request, in order."""
        return [s.headers.get("Idempotency-Key") for s in self.seen]


def default_answer(req: Seen) -> Answer:
    """A successful answer shaped like Stripe's, naming what the request asked for."""
    parts = req.path.strip("/").split("/")  # v1, checkout, sessions, <id>, expire
    if parts[:3] == ["v1", "checkout", "sessions"]:
        session_id = parts[3] if len(parts) > 3 else "cs_test_fake"
        return Answer(200, {
            "id": session_id, "object": "checkout.session", "url": f"https://checkout.stripe.test/{session_id}",
            "status": "expired" if parts[-1] == "expire" else "open", "payment_status": "unpaid",
            "amount_total": 7500, "currency": "usd", "payment_intent": None,
            "client_reference_id": req.form.get("client_reference_id"),
            "metadata": {"order_id": req.form.get("metadata[order_id]", "42")}})
    if parts[:2] == ["v1", "refunds"]:
        refund_id = parts[2] if len(parts) > 2 else "re_fake"
        return Answer(200, {"id": refund_id, "object": "refund", "status": "succeeded",
                            "amount": int(req.form.get("amount") or 1200)})
    return stripe_error(404, "invalid_request_error", f"Unrecognized request URL ({req.method}: {req.path}).")


def _missing(kind: str, object_id: str) -> Answer:
    return stripe_error(404, "invalid_request_error", f"No such {kind}: '{object_id}'", code="resource_missing")


@dataclass
class StripeLedger:
    """Stripe's answers with memory, in Stripe's shapes: a Checkout Session is created once per Idempotency-Key
    (a repeat replays the first answer, as Stripe does), read back, expired while open (else refused), and paid by
    the test (`pay`, which returns the checkout.session.completed event Stripe would deliver); refunds of a paid
    session's payment intent are accepted up to what is left of it (then `amount_too_large`, or
    `charge_already_refunded` once nothing is left)."""

    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunded: dict[str, int] = field(default_factory=dict)  # payment intent -> amount refunded
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)  # charge id -> charge
    balance: list[dict[str, Any]] = field(default_factory=list)  # balance transactions, oldest first
    replays: dict[tuple[str, str], Answer] = field(default_factory=dict)  # (path, Idempotency-Key) -> answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, req: Seen) -> Answer:
        key = req.headers.get("Idempotency-Key") if req.method == "POST" else None
        with self.lock:
            if key is not None and (req.path, key) in self.replays:
                return self.replays[(req.path, key)]
            answer = self._answer(req)
            if key is not None:
                self.replays[(req.path, key)] = answer
            return answer

    def _answer(self, req: Seen) -> Answer:
        parts = req.path.strip("/").split("/")
        if parts == ["v1", "checkout", "sessions"] and req.method == "POST":
            return self._create_session(req.form)
        if parts[:3] == ["v1", "checkout", "sessions"] and len(parts) >= 4:
            session = self.sessions.get(parts[3])
            if session is None:
                return _missing("checkout.session", parts[3])
            if parts[4:] == ["expire"]:
                if session["status"] != "open":
                    return stripe_error(400, "invalid_request_error",
                                        'Only Checkout Sessions with a status in ["open"] can be expired.')
                session.update(status="expired", url=None)
            return Answer(200, dict(session))
        if parts == ["v1", "refunds"] and req.method == "POST":
            return self._refund(req.form)
        if parts == ["v1", "refunds"] and req.method == "GET":
            return _page(req, "/v1/refunds", list(self.refunds.values()))
        if parts == ["v1", "balance_transactions"] and req.method == "GET":
            expand = {v for k, v in req.form.items() if k.startswith("expand[")}
            txns = [dict(t, source=self.charges[t["source"]]) if "data.source" in expand else dict(t)
                    for t in self.balance]
            return _page(req, "/v1/balance_transactions", txns)
        if parts[:2] == ["v1", "refunds"] and len(parts) == 3:
            refund = self.refunds.get(parts[2])
            return Answer(200, dict(refund)) if refund is not None else _missing("refund", parts[2])
        return stripe_error(404, "invalid_request_error", f"Unrecognized request URL ({req.method}: {req.path}).")

    def _create_session(self, form: dict[str, str]) -> Answer:
        session_id = f"cs_test_{secrets.token_hex(12)}"
        items = sorted({name.split("]")[0].split("[")[1] for name in form if name.startswith("line_items[")})
        amount = sum(int(form[f"line_items[{i}][price_data][unit_amount]"]) * int(form[f"line_items[{i}][quantity]"])
                     for i in items)
        self.sessions[session_id] = {
            "id": session_id, "object": "checkout.session", "mode": form.get("mode"), "status": "open",
            "payment_status": "unpaid", "amount_subtotal": amount, "amount_total": amount,
            "currency": form.get("line_items[0][price_data][currency]"),
            "client_reference_id": form.get("client_reference_id"), "customer_email": form.get("customer_email"),
            "metadata": {name[len("metadata["):-1]: value for name, value in form.items()
                         if name.startswith("metadata[")},
            "payment_intent": None, "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url"),
            "expires_at": int(form["expires_at"]), "livemode": False,
            "url": f"https://checkout.stripe.test/c/pay/{session_id}",
        }
        return Answer(200, dict(self.sessions[session_id]))

    def _refund(self, form: dict[str, str]) -> Answer:
        payment_intent, amount = form.get("payment_intent", ""), int(form.get("amount") or 0)
        paid = next((s for s in self.sessions.values() if s["payment_intent"] == payment_intent), None)
        if paid is None:
            return _missing("payment_intent", payment_intent)
        left = paid["amount_total"] - self.refunded.get(payment_intent, 0)
        if left <= 0:
            return stripe_error(400, "invalid_request_error", f"Charge for {payment_intent} has already been "
                                "refunded.", code="charge_already_refunded")
        if amount > left:
            return stripe_error(400, "invalid_request_error", f"Refund amount ({amount}) is greater than unrefunded "
                                f"amount on charge ({left})", code="amount_too_large")
        self.refunded[payment_intent] = self.refunded.get(payment_intent, 0) + amount
        refund_id = f"re_test_{secrets.token_hex(12)}"
        charge = next(c for c in self.charges.values() if c["payment_intent"] == payment_intent)
        charge["amount_refunded"] += amount
        self.refunds[refund_id] = {
            "id": refund_id, "object": "refund", "amount": amount, "currency": paid["currency"],
            "payment_intent": payment_intent, "charge": charge["id"], "status": "succeeded",
            "created": int(time.time()),
            "metadata": {name[len("metadata["):-1]: value for name, value in form.items()
                         if name.startswith("metadata[")},
        }
        return Answer(200, dict(self.refunds[refund_id]))

    def charge(self, amount: int, currency: str, payment_intent: str | None) -> dict[str, Any]:
        """A charge that reached the account, with its balance transaction (amounts in the account's currency:
        converted at 0.9 when the charge's is another one, as Stripe converts)."""
        now = int(time.time())
        charge_id, txn_id = f"ch_test_{secrets.token_hex(12)}", f"txn_test_{secrets.token_hex(12)}"
        self.charges[charge_id] = {
            "id": charge_id, "object": "charge", "amount": amount, "amount_refunded": 0, "currency": currency,
            "payment_intent": payment_intent, "status": "succeeded", "paid": True, "created": now, "metadata": {}}
        converted = amount if currency == "usd" else int(amount * 9 // 10)
        self.balance.append({"id": txn_id, "object": "balance_transaction", "type": "charge", "amount": converted,
                             "fee": 30, "net": converted - 30, "currency": "usd", "created": now,
                             "source": charge_id, "status": "available"})
        return self.charges[charge_id]

    def pay(self, session_id: str) -> dict[str, Any]:
        """The buyer pays on Stripe's page: the session completes; returns the event Stripe delivers for it."""
        with self.lock:
            session = self.sessions[session_id]
            session.update(status="complete", payment_status="paid", url=None,
                           payment_intent=f"pi_test_{secrets.token_hex(12)}")
            self.charge(session["amount_total"], session["currency"], session["payment_intent"])
            return {"id": f"evt_test_{secrets.token_hex(12)}", "object": "event", "api_version": "2025-09-30.clover",
                    "created": int(time.time()), "livemode": False, "type": "checkout.session.completed",
                    "data": {"object": dict(session)}, "pending_webhooks": 1,
                    "request": {"id": None, "idempotency_key": None}}


def _page(req: Seen, url: str, items: list[dict[str, Any]]) -> Answer:
    """A page of a Stripe list: newest first, `created[gte]`, `limit` (default 10) and `starting_after`."""
    query = req.form
    since = int(query.get("created[gte]", "0"))
    newest_first = sorted((i for i in items if i["created"] >= since), key=lambda i: i["created"], reverse=True)
    after = query.get("starting_after")
    if after is not None:
        ids = [i["id"] for i in newest_first]
        newest_first = newest_first[ids.index(after) + 1:]
    limit = int(query.get("limit", "10"))
    return Answer(200, {"object": "list", "url": url, "has_more": len(newest_first) > limit,
                        "data": newest_first[:limit]})


@contextmanager
def serve(default: Callable[[Seen], Answer] = default_answer) -> Iterator[StripeAPI]:
    """A fake Stripe on 127.0.0.1: scripted answers first, then `default(request)`."""
    api = StripeAPI()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Stripe does

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            target = urlsplit(self.path)
            seen = Seen(self.command, target.path, dict(self.headers.items()), target.query,
                        self.rfile.read(length).decode() if length else "")
            with api.lock:
                api.seen.append(seen)
                answer = api.script.pop(0) if api.script else default(seen)
                number = len(api.seen)
            if answer.delay_s and api.closing.wait(answer.delay_s):
                return  # shutting down
            data = json.dumps(answer.body).encode()
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_{number}")
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (timed out) before the answer

        do_GET = do_POST = do_DELETE = _handle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.closing.set()
        server.shutdown()
        server.server_close()


@contextmanager
def refused_url() -> Iterator[str]:
    """A 127.0.0.1 address that refuses connections: the port is held (bound, not listening) so nothing else
    takes it meanwhile."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
