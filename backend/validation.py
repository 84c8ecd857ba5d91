"""Small validators shared by the services (colours, slugs, URLs, chain addresses) and pydantic error mapping."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from eth_utils import is_address, is_checksum_address, to_checksum_address
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from backend.errors import ValidationFailed

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")

# The same rules as JSON Schema patterns, for the API's OpenAPI document. The checks below strip surrounding
# whitespace first (str.strip: every character str.isspace() calls whitespace), so the patterns allow it too.
WHITESPACE_CLASS = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_PAD = f"[{WHITESPACE_CLASS}]*"


def padded_pattern(core: str) -> str:
    """A JSON Schema pattern for `core` with the whitespace the checks strip allowed around it."""
    return f"^{_PAD}(?:{core}){_PAD}$"


SLUG_PATTERN = padded_pattern(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?")
COLOR_PATTERN = padded_pattern(r"#[0-9A-Fa-f]{6}")
OPTIONAL_COLOR_PATTERN = padded_pattern(r"(?:#[0-9A-Fa-f]{6})?")
URL_PATTERN = padded_pattern(r"(?:(?:https?://|/)[^\x00]*)?")
ADDRESS_PATTERN = padded_pattern(r"0x(?:[0-9a-f]{40}|[0-9A-F]{40})")  # mixed case: only with a valid EIP-55 checksum
OPTIONAL_ADDRESS_PATTERN = padded_pattern(r"(?:0x(?:[0-9a-f]{40}|[0-9A-F]{40}))?")
ZERO_ADDRESS_PATTERN = padded_pattern(r"0x0{40}")

# An email address as backend.auth.service.normalize_email (email-validator) takes it, in the plain-ASCII form the
# API documents (a subset: it also takes a few rarer spellings). Not a special-use domain, no "ab--" label.
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = padded_pattern(f"[{_ATEXT}]{{1,32}}(?:\\.[{_ATEXT}]{{1,31}})?@(?:{_LABEL}\\.){{1,4}}[A-Za-z]{{2,24}}")
_SPECIAL_USE = "|".join("".join(f"[{c}{c.upper()}]" for c in name)
                        for name in ("arpa", "invalid", "local", "localhost", "onion", "test"))
EMAIL_REFUSED_PATTERN = f"(?:[@.][A-Za-z0-9]{{2}}--)|(?:\\.(?:{_SPECIAL_USE})[{WHITESPACE_CLASS}]*$)"
EMAIL_SCHEMA = {"pattern": EMAIL_PATTERN, "not": {"pattern": EMAIL_REFUSED_PATTERN}}


def check_slug(value: str) -> str:
    value = value.strip()
    # ASCII first: str.lower() maps a few other letters onto ASCII ones (the Kelvin sign onto "k").
    value = value.lower() if value.isascii() else ""
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
    """An absolute http(s) URL with a host, or a path on this site. Browsers read `//host/x` (and `/\\host/x`) as
    another site's URL, so a path must not start with two slashes. Production takes https only: an http image
    on an https page is blocked or flagged as insecure, and an http link can be rewritten on the way."""
    from backend.settings import get_settings

    value = value.strip()
    if not value:
        return value
    if value.startswith("/"):
        if value[1:2] in ("/", "\\"):
            raise ValueError("must not start with // (that is another site's address): use https://host/path")
        return value
    https_only = get_settings().is_production
    parts = urlsplit(value)
    allowed = ("https",) if https_only else ("https", "http")
    if parts.scheme.lower() not in allowed or not value.lower().startswith(f"{parts.scheme.lower()}://"):
        raise ValueError("must be an https URL or a path starting with /" if https_only
                         else "must be an http(s) URL or a path starting with /")
    if not parts.hostname:
        raise ValueError("must name a host (https://host/path)")
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
