"""One error body for every failure of the API: `{"error": {"code", "message", "fields"}}`, and the handlers
that map domain errors, validation errors and routing errors onto it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.errors import DomainError, NotAuthenticated, RateLimited

# FastAPI's own wording when reading the body fails below JSON decoding (e.g. bytes that are not UTF-8).
_BODY_PARSE_FAILURE = "There was an error parsing the body"
# Where a parameter came from; dropped from field paths so that callers see "price_minor", not "body.price_minor".
_LOCATIONS = {"body", "query", "path", "header", "cookie"}

# Routing and protocol errors raised as HTTPException by Starlette/FastAPI (or by our middleware).
_HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Sign in to continue."),
    403: ("forbidden", "You do not have permission to do that."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "That method is not allowed here."),
    413: ("payload_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the request body as JSON (Content-Type: application/json)."),
}


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415


def error_body(code: str, message: str, fields: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": dict(fields or {})}}


def error_response(
    status: int,
    code: str,
    message: str,
    fields: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, fields), status_code=status, headers=dict(headers or {}))


def payload_too_large_response(limit: int) -> JSONResponse:
    return error_response(413, "payload_too_large", f"The request body is larger than {limit} bytes.")


def internal_error_response() -> JSONResponse:
    # Never the exception text: it can name tables, paths or values.
    return error_response(500, "internal_error", "Something went wrong on our side. Please try again.")


def request_field_errors(errors: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """FastAPI/pydantic errors -> {"field.path": "message"}, in backend.validation.field_errors' style."""
    fields: dict[str, str] = {}
    for error in errors:
        loc = [p for p in error.get("loc", ()) if p != "__root__"]
        if len(loc) > 1 and loc[0] in _LOCATIONS:
            loc = loc[1:]
        path = ".".join(str(p) for p in loc) or "body"
        message = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        fields.setdefault(path, message)
    return fields


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, NotAuthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(exc.status, exc.code, exc.message, exc.fields, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    return error_response(422, "validation_error", "Please fix the highlighted fields.", request_field_errors(errors))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 400 and exc.detail == _BODY_PARSE_FAILURE:
        return error_response(400, "malformed_json", "The request body is not valid JSON.", headers=headers)
    code, message = _HTTP_ERRORS.get(exc.status_code, ("http_error", "The request failed."))
    if exc.status_code == 413 and isinstance(exc.detail, str):
        message = exc.detail  # our body-size middleware says what the limit is
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return error_response(exc.status_code, code, message, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
