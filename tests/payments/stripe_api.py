"""A fake Stripe API on 127.0.0.1 for the real stripe-python client (pointed at it with base_addresses): it records
every request and answers from a script of answers (status, body, headers, delay), then with Stripe-shaped objects.

Unlike support.FakeStripe it can send headers (Stripe-Should-Retry), answer late (read timeouts) and stand for a
Stripe that is down (`refused_url`)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
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


@contextmanager
def serve() -> Iterator[StripeAPI]:
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
                answer = api.script.pop(0) if api.script else default_answer(seen)
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

        do_GET = do_POST = do_DELETE = _handle  # noqa: N815

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
