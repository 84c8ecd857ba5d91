"""Small validators shared by the services (colours, slugs, URLs, chain addresses) and pydantic error mapping."""

from __future__ import annotations

import re

from eth_utils import is_address, is_checksum_address, to_checksum_address
from typing import Any

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from backend.errors import ValidationFailed

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")


def check_slug(value: str) -> str:
    value = value.strip().lower()
    if not SLUG_RE.match(value):
        raise ValueError("use 1-64 lowercase letters, digits and dashes, not starting or ending with a dash")
    return value


def check_color(value: str, *, allow_empty: bool = False) -> str:
    value = value.strip()
    if allow_empty and value == "":
        return value
    if not COLOR_RE.match(value):
        raise ValueError("must be a colour like #4F46E5")
    return value.upper()


def check_url(value: str) -> str:
    value = value.strip()
    if value and not (value.startswith("https://") or value.startswith("http://") or value.startswith("/")):
        raise ValueError("must be an http(s) URL or a path starting with /")
    return value


def check_address(value: str, *, allow_empty: bool = False) -> str:
    """An EVM address; mixed-case input must carry a valid EIP-55 checksum. Returns the checksummed form."""
    value = value.strip()
    if allow_empty and value == "":
        return value
    if not value.startswith("0x") or not is_address(value):
        raise ValueError("is not a valid address (0x followed by 40 hex digits)")
    has_case = value[2:] != value[2:].lower() and value[2:] != value[2:].upper()
    if has_case and not is_checksum_address(value):
        raise ValueError("has a wrong checksum: check for a typo")
    if int(value, 16) == 0:
        raise ValueError("is the zero address: nothing sent there can ever be used")
    return to_checksum_address(value)


def field_error(model: str, field: str, message: str, value: Any) -> ValidationError:
    """A ValidationError located at `field`: a model validator raises it so a cross-field problem shows
    next to the input that must change (a plain ValueError there would land under "body")."""
    return ValidationError.from_exception_data(
        model, [InitErrorDetails(type=PydanticCustomError("value_error", message), loc=(field,), input=value)]
    )


def field_errors(exc: ValidationError) -> dict[str, str]:
    """pydantic errors -> {"field.path": "message"}, the shape every caller shows next to its inputs."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        path = ".".join(str(p) for p in error["loc"] if p != "__root__") or "body"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        fields.setdefault(path, message)
    return fields


def validation_failed(exc: ValidationError, message: str = "Please fix the highlighted fields.") -> ValidationFailed:
    return ValidationFailed(message, fields=field_errors(exc))
