"""POST /api/stripe/webhook: Stripe's (and the sandbox's) event deliveries. Thin: raw body -> verify, store once,
emit -> 200. Include with `api.include_router(stripe_webhook.router)` (prefix /api/stripe, set here)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from backend.payments import webhooks

router = APIRouter(prefix="/api/stripe", tags=["payments"])


@router.post("/webhook", summary="Receive a Stripe event (signature checked on the raw body)")
async def stripe_webhook(request: Request) -> dict[str, object]:
    raw = await request.body()
    signature = request.headers.get("stripe-signature")
    # The database work is short and synchronous: run it off the event loop.
    from starlette.concurrency import run_in_threadpool

    ack = await run_in_threadpool(webhooks.receive, raw, signature)
    return {"received": True, "duplicate": ack.duplicate}
