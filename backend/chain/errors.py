"""Errors of the chain services that say more than the generic ones."""

from __future__ import annotations

from backend.errors import RateLimited


class DeployRateLimited(RateLimited):
    """A brand asked for more contract deployments (each paid by the platform's signer) than its limit allows: 429
    with Retry-After; the message says it is the brand's deploy limit."""

    def __init__(self, retry_after_s: int, rule: str) -> None:
        super().__init__(retry_after_s)
        hours, rest = divmod(self.retry_after_s, 3600)
        wait = f"{hours} h {rest // 60} min" if hours else f"{max(1, -(-rest // 60))} min"
        limit = rule.replace("/", " per ")
        self.message = (f"This brand has asked for as many contract deployments as it may ({limit}): "
                        f"try again in {wait}.")
        self.args = (self.message,)
