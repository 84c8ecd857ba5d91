"""POST /api/stripe/webhook: Stripe's (and the sandbox's) event deliveries. Thin: raw body -> verify, store once,
emit -> 200 once committed (grouped with the deliveries arriving meanwhile: backend.payments.webhooks).
Include with `api.include_router(stripe_webhook.router)` (prefix /api/stripe, set here)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.payments import webhooks

router = APIRouter(prefix="/api/stripe", tags=["payments"])


@router.post("/webhook", summary="Receive a Stripe event (signature checked on the raw body)")
async def stripe_webhook(request: Request) -> dict[str, object]:
    raw = await request.body()
    # No worker thread: the check is quick, and the database write is the intake thread's (webhooks module).
    ack = await webhooks.receive_async(raw, request.headers.get("stripe-signature"))
    return {"received": True, "duplicate": ack.duplicate}
