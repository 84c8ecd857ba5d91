"""The sandbox payment page (`/api/sandbox/pay/{session_id}?token=...`): a self-contained HTML page, clearly marked
SANDBOX, whose Pay / Decline / Cancel buttons send signed Stripe-format events to our own webhook. Answers 404 when
real Stripe is configured. Include with `api.include_router(sandbox_pay.router)` (prefix /api/sandbox, set here).

Guards: outside production only this machine or a platform admin may use it (backend/api/local_only.py); the page
and its form need the session's pay token (only the buyer's payment link has it), and a POST from another site's
page (Origin) is refused."""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from backend.api.deps import require_same_origin
from backend.api.local_only import local_or_platform_admin
from backend.errors import Conflict, NotFound
from backend.money import money_text
from backend.payments import sandbox
from backend.payments.factory import provider_name

router = APIRouter(prefix="/api/sandbox", tags=["sandbox"], include_in_schema=False,
                   dependencies=[Depends(local_or_platform_admin)])
# same-origin: the URL (with its token) never goes to another site as a Referer, and the form's POST keeps a real
# Origin (under no-referrer, browsers send "Origin: null", which the same-origin check refuses).
_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f4f5;margin:0;color:#18181b}
.banner{background:#b45309;color:#fff;text-align:center;padding:10px;font-weight:700;letter-spacing:.05em}
main{max-width:440px;margin:32px auto;background:#fff;border-radius:12px;padding:24px;box-shadow:0 1px 4px #0002}
h1{font-size:20px;margin:0 0 4px} .total{font-size:28px;font-weight:700;margin:12px 0}
label{display:block;font-size:13px;margin:16px 0 4px}
input{width:100%;padding:10px;font-size:16px;box-sizing:border-box}
button{margin-top:12px;width:100%;padding:12px;font-size:16px;border:0;border-radius:8px;cursor:pointer}
.pay{background:#16a34a;color:#fff} .decline{background:#dc2626;color:#fff} .cancel{background:#e4e4e7}
.hint{font-size:12px;color:#52525b} .msg{padding:10px;border-radius:8px;background:#fef3c7;margin:12px 0}
code{background:#f4f4f5;padding:1px 4px}
"""


def _render(session_id: str, message: str = "", status_code: int = 200) -> HTMLResponse:
    page = sandbox.page(session_id)
    sid = html.escape(session_id)
    items = "".join(f"<li>{int(i['quantity'])} x {html.escape(str(i['name']))}</li>" for i in page.line_items)
    note = f'<p class="msg">{html.escape(message)}</p>' if message else ""
    if page.status == "open":
        token = html.escape(sandbox.pay_token(session_id))
        form = f"""
<form method="post" action="/api/sandbox/pay/{sid}">
  <input type="hidden" name="token" value="{token}">
  <label for="card">Test card number</label>
  <input id="card" name="card" value="4242 4242 4242 4242" autocomplete="off" inputmode="numeric">
  <p class="hint">Test cards: <code>4242 4242 4242 4242</code> pays &middot; <code>4000 0000 0000 0002</code>
  declines &middot; <code>4000 0000 0000 9995</code> insufficient funds. Any expiry date and CVC.</p>
  <button class="pay" name="action" value="pay">Pay {html.escape(money_text(page.amount_total, page.currency))}</button>
  <button class="decline" name="action" value="decline">Decline (test a failed payment)</button>
  <button class="cancel" name="action" value="cancel">Cancel and let the order expire</button>
</form>"""
    else:
        back = page.success_url if page.payment_status == "paid" else page.cancel_url
        form = (f'<p class="msg">This payment is {html.escape(page.status)}.</p>'
                f'<p><a href="{html.escape(back)}">Back to your order</a></p>')
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">
<title>SANDBOX payment</title><style>{_STYLE}</style></head><body>
<div class="banner">SANDBOX &mdash; NO REAL MONEY: this page imitates a card payment for testing</div>
<main><h1>Pay for your order</h1><ul>{items}</ul>
<div class="total">{html.escape(money_text(page.amount_total, page.currency))}</div>{note}{form}</main></body></html>"""
    return HTMLResponse(body, status_code=status_code, headers=_HEADERS)


def _refused() -> HTMLResponse:
    body = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>SANDBOX payment</title></head><body>"
            "<h1>This payment link is not valid</h1><p>Open the payment page from your order page.</p></body></html>")
    return HTMLResponse(body, status_code=403, headers=_HEADERS)


def _enabled() -> None:
    if provider_name() != "sandbox":
        raise NotFound("Not found.")


@router.get("/pay/{session_id}", response_class=HTMLResponse)
async def sandbox_page(session_id: str, token: str | None = None) -> Response:
    _enabled()
    if not sandbox.pay_token_ok(session_id, token):
        return _refused()
    return await run_in_threadpool(_render, session_id)


@router.post("/pay/{session_id}")
async def sandbox_submit(session_id: str, request: Request) -> Response:
    _enabled()
    require_same_origin(request)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if not sandbox.pay_token_ok(session_id, (form.get("token") or [None])[0]):
        return _refused()
    action = (form.get("action") or ["pay"])[0]
    card = (form.get("card") or [sandbox.SUCCESS_CARD])[0]
    try:
        if action == "cancel":
            outcome = await run_in_threadpool(sandbox.cancel, session_id)
        else:
            if action == "decline" and card.replace(" ", "") not in sandbox.DECLINE_CARDS:
                card = "4000000000000002"
            outcome = await run_in_threadpool(sandbox.pay, session_id, card)
    except Conflict as exc:
        return await run_in_threadpool(_render, session_id, exc.message, 409)
    if outcome.redirect_url:
        return RedirectResponse(outcome.redirect_url, status_code=303)
    return await run_in_threadpool(_render, session_id, outcome.message)
