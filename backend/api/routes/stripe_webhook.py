"""POST /api/stripe/webhook: Stripe's (and the sandbox's) event deliveries. Thin: raw body -> verify, store once,
emit -> 200 once committed (grouped with the deliveries arriving meanwhile: backend.payments.webhooks).
Include with `api.include_router(stripe_webhook.router)` (prefix /api/stripe, set here).

`WebhookFastPath` answers the same POSTs from in front of the API's middleware, routing and response models:
Stripe's deliveries are the busiest path by far, and that machinery was half of each one's CPU. It gives the
same answers as the route (the error shape, the body limit, a logged 500); the route stays for the OpenAPI
document and for the answers to other methods."""

from __future__ import annotations

import json
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.api.errors import error_response, internal_error_response, payload_too_large_response
from backend.api.middleware import ClientDisconnected, PayloadTooLarge, read_body
from backend.api.schemas import ErrorBody
from backend.errors import DomainError
from backend.payments import webhooks
from backend.settings import get_settings

log = logging.getLogger(__name__)

PATH = "/api/stripe/webhook"
router = APIRouter(prefix="/api/stripe", tags=["payments"])


# Documents the endpoint's credential: Stripe signs each delivery with the endpoint's secret (`whsec_...`).
stripe_signature = APIKeyHeader(
    name="Stripe-Signature", scheme_name="StripeSignature", auto_error=False,
    description="`t=<unix time>,v1=<HMAC-SHA256 of \"{t}.{raw body}\" with the webhook secret>`, as Stripe sends it.",
)


class WebhookAckOut(BaseModel):
    received: bool
    duplicate: bool = Field(description="This event id was received before; nothing was done again.")


@router.post(
    "/webhook",
    summary="Receive a Stripe event (signature checked on the raw body)",
    response_model=WebhookAckOut,
    responses={
        400: {"model": ErrorBody, "description": "Correctly signed, but the body is not a Stripe event"},
        401: {"model": ErrorBody, "description": "No signature, a wrong one, or one older than 5 minutes"},
    },
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "description": "A Stripe event (`id`, `type`, `data.object`, ...), byte for byte as signed.",
    }}}}},
)
async def stripe_webhook(
    request: Request, _signature: Annotated[str | None, Depends(stripe_signature)]
) -> dict[str, object]:
    # Only reached by other ASGI paths than the server's (WebhookFastPath answers POSTs first); same answers.
    raw = await request.body()
    # No worker thread: the check is quick, and the database write is the intake thread's (webhooks module).
    ack = await webhooks.receive_async(raw, request.headers.get("stripe-signature"))
    return {"received": True, "duplicate": ack.duplicate}


class WebhookFastPath:
    """ASGI middleware: POST /api/stripe/webhook is answered here; everything else goes on to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        limit = get_settings().max_body_bytes
        try:
            body = await read_body(scope, receive, limit)
            signature = dict(scope["headers"]).get(b"stripe-signature")
            ack = await webhooks.receive_async(body, signature.decode("latin-1") if signature else None)
        except ClientDisconnected:
            return  # nobody to answer; nothing was stored
        except PayloadTooLarge:
            response = payload_too_large_response(limit)
        except DomainError as exc:  # InvalidWebhook: 400 (401 unsigned), nothing stored
            response = error_response(exc.status, exc.code, exc.message, exc.fields)
        except Exception:
            log.exception("Unhandled error in POST %s", PATH)
            response = internal_error_response()
        else:
            await _send_json(send, {"received": True, "duplicate": ack.duplicate})
            return
        await response(scope, receive, send)


async def _send_json(send: Send, payload: dict[str, object]) -> None:
    body = json.dumps(payload, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
