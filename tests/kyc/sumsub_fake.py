"""A fake Sumsub on 127.0.0.1: it takes applicant creation requests (checking their X-App-Access-Sig the way
Sumsub does) and delivers `applicantReviewed` webhooks signed as Sumsub signs them (X-Payload-Digest = hex HMAC of
the raw body, X-Payload-Digest-Alg), over a real socket to the app's endpoint."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

APP_TOKEN = "sbx:test-app-token"
SECRET_KEY = "test-sumsub-secret-key"
WEBHOOK_SECRET = "test-sumsub-webhook-secret"
_ALGORITHMS = {"HMAC_SHA256_HEX": hashlib.sha256, "HMAC_SHA1_HEX": hashlib.sha1, "HMAC_SHA512_HEX": hashlib.sha512}


@dataclass
class FakeSumsub:
    url: str = ""
    applicants: dict[str, dict[str, Any]] = field(default_factory=dict)  # applicant id -> creation body
    refused: list[str] = field(default_factory=list)  # why requests were refused (bad signature, ...)

    def applicant_for(self, external_user_id: str) -> str:
        """The newest applicant of this external id (ids repeat across tests: each starts with empty tables)."""
        return [a for a, body in self.applicants.items() if body["externalUserId"] == external_user_id][-1]

    @staticmethod
    def reviewed(applicant_id: str, external_user_id: str, answer: str, reject_type: str = "", *,
                 created_at: datetime | None = None, labels: list[str] | None = None, moderation: str = "",
                 client_comment: str = "") -> dict[str, Any]:
        when = (created_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        result: dict[str, Any] = {"reviewAnswer": answer}
        if answer == "RED":
            result |= {"reviewRejectType": reject_type, "rejectLabels": labels or [],
                       "moderationComment": moderation, "clientComment": client_comment}
        return {"applicantId": applicant_id, "inspectionId": secrets.token_hex(12),
                "correlationId": secrets.token_hex(8),
                "externalUserId": external_user_id, "levelName": "basic-kyc-level", "type": "applicantReviewed",
                "reviewResult": result, "reviewStatus": "completed", "createdAtMs": when,
                "sandboxMode": True}

    @staticmethod
    def deliver(webhook_url: str, payload: dict[str, Any], *, secret: str = WEBHOOK_SECRET,
                algorithm: str = "HMAC_SHA256_HEX", raw: bytes | None = None) -> httpx.Response:
        body = raw if raw is not None else json.dumps(payload, separators=(",", ":")).encode()
        digest = hmac.new(secret.encode(), body, _ALGORITHMS[algorithm]).hexdigest()
        return httpx.post(webhook_url, content=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Payload-Digest": digest, "X-Payload-Digest-Alg": algorithm})


@contextmanager
def fake_sumsub() -> Iterator[FakeSumsub]:
    fake = FakeSumsub()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            ts = self.headers.get("X-App-Access-Ts", "")
            expected = hmac.new(SECRET_KEY.encode(), ts.encode() + b"POST" + self.path.encode() + body,
                                hashlib.sha256).hexdigest()
            if self.headers.get("X-App-Token") != APP_TOKEN or self.headers.get("X-App-Access-Sig") != expected:
                fake.refused.append(self.path)
                self._answer(401, {"description": "Request signature mismatch", "code": 401})
                return
            if not self.path.startswith("/resources/applicants?levelName="):
                self._answer(404, {"description": "Not found", "code": 404})
                return
            applicant_id = secrets.token_hex(12)
            fake.applicants[applicant_id] = json.loads(body)
            self._answer(201, {"id": applicant_id, "createdAt": "2026-12-05 10:00:00",
                               "externalUserId": fake.applicants[applicant_id]["externalUserId"],
                               "review": {"reviewStatus": "init"}})

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
