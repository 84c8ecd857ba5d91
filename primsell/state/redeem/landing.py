"""The redeem landing page: a reward code is checked for shape; looking it up comes with the rewards service."""

from __future__ import annotations

import re

import reflex as rx

CODE_RE = re.compile(r"^[A-Z0-9-]+$")
CODE_MIN, CODE_MAX = 6, 32


def check_code(raw: str) -> tuple[str, str]:
    """Normalised code and an error message ('' when the code is well-formed)."""
    code = raw.strip().upper().replace(" ", "")
    if not code:
        return code, "Enter the code printed on your reward."
    if not CODE_RE.match(code):
        return code, "Codes use only letters, digits and dashes."
    if not CODE_MIN <= len(code) <= CODE_MAX:
        return code, f"Codes are {CODE_MIN} to {CODE_MAX} characters long."
    return code, ""


class RedeemLandingState(rx.State):
    field_errors: dict[str, str] = {}
    form_error: str = ""
    checking: bool = False

    @rx.event
    def reset_form(self):
        self.field_errors, self.form_error, self.checking = {}, "", False

    @rx.event
    def submit_code(self, form: dict):
        code, error = check_code(str(form.get("code", "")))
        self.field_errors = {"code": error} if error else {}
        self.form_error = ""
        if error:
            return
        # There is no reward store yet (it comes with the rewards issue), so no code can be found.
        self.form_error = f"Code {code} was not found. Check it and try again, or ask the staff at the counter."
