"""The errors services raise. Each carries a stable code and a message a person can act on.

The HTTP API maps them to one error body shape and a status; the web app shows `message` (and
`fields` next to the form inputs they concern).
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    code = "validation_error"
    status = 422


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class Unavailable(DomainError):
    """A system this one depends on (the chain node, the payment provider) did not answer: try again later."""

    code = "unavailable"
    status = 503


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429

    def __init__(self, retry_after_s: int) -> None:
        retry_after_s = max(1, int(retry_after_s))
        super().__init__(f"Too many attempts. Try again in {retry_after_s} seconds.")
        self.retry_after_s = retry_after_s
