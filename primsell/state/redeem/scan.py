"""/redeem/scan: brand staff (and admins of the brand) scan a holder's QR code with the device camera or type it,
see the perk, the token and its image and the uses left, then confirm; refusals say why in plain words.

Every handler asks `current_actor(self)` (the admin surface's people: staff, admins) and calls one
backend service, which checks that the code's reward belongs to a brand the actor redeems for.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from backend.rewards.redemption import ScanResult, scan_code
from backend.rewards.service import redemption_locations
from primsell.state.session import SessionState, current_actor, current_brand

PERIOD_TEXT = {"ever": "in all", "day": "today", "week": "this week", "month": "this month"}


def result_view(result: ScanResult) -> dict[str, str]:
    return {
        "status": result.status, "reason": result.reason, "message": result.message,
        "reward_title": result.reward_title, "reward_description": result.reward_description,
        "campaign_name": result.campaign_name, "token": "" if result.token_id is None else f"#{result.token_id}",
        "image": result.token_image_url or result.reward_image_url,
        "uses": "" if result.uses_left is None else
        f"{result.uses_left} of {result.uses_per_period} left {PERIOD_TEXT.get(result.use_period, '')}".strip(),
        "holder": result.holder,
    }


class RedeemScanState(rx.State):
    locations: list[str] = []
    location: str = ""
    manual_code: str = ""
    camera_error: str = ""
    checking: bool = False
    result: dict[str, str] = {}
    form_error: str = ""  # the last refusal, in words (also in `result`)
    reset_key: str = "0"
    _code: str = ""  # the code being looked at (server-side: it is the holder's)

    @rx.event
    async def load_scanner(self):
        actor = await current_actor(self)
        if actor is None:
            return SessionState.to_sign_in
        brand_id = await current_brand(self)
        self.result, self._code, self.camera_error = {}, "", ""
        if brand_id:
            self.locations = await asyncio.to_thread(redemption_locations, actor, brand_id)
            if self.location not in self.locations:
                self.location = self.locations[0] if len(self.locations) == 1 else ""
        return None

    @rx.event
    def set_location(self, value: str):
        self.location = value if value in self.locations else ""

    @rx.event
    def set_manual_code(self, value: str):
        self.manual_code = value[:300]

    @rx.event
    def camera_failed(self, message: str):
        self.camera_error = ("The camera could not start (" + message[:200] + "). Allow camera access, or type the "
                             "code below.")

    async def _check(self, code: str, *, confirm: bool):
        actor = await current_actor(self)
        if actor is None:
            yield SessionState.to_sign_in
            return
        self.checking = True
        yield
        try:
            result = await asyncio.to_thread(scan_code, actor, code, location=self.location, confirm=confirm)
        finally:
            self.checking = False
        self._code = code if result.status == "valid" else ""
        self.result = result_view(result)
        self.form_error = result.message if result.status == "refused" else ""

    @rx.event
    async def scanned(self, code: str):
        """The camera read a code: check it (nothing is redeemed until staff confirm)."""
        async for update in self._check(code.strip()[:300], confirm=False):
            yield update

    @rx.event
    async def check_manual_code(self, form: dict):
        code = str(form.get("manual_code", self.manual_code)).strip()[:300]
        if not code:
            self.result = {"status": "refused", "message": "Type the code shown under the customer's QR code."}
            return
        async for update in self._check(code, confirm=False):
            yield update

    @rx.event
    async def confirm_redeem(self):
        if not self._code:
            return
        async for update in self._check(self._code, confirm=True):
            yield update

    @rx.event
    def scan_next(self):
        self.result, self._code, self.manual_code, self.form_error = {}, "", "", ""
        self.reset_key = str(int(self.reset_key) + 1)
