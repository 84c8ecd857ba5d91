"""Remove secrets and personal data from error messages and context before they are stored or sent."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[redacted]"
MAX_TEXT = 1000

_SENSITIVE_KEY = re.compile(
    r"pass(word)?|secret|token|api[_-]?key|apikey|authorization|cookie|session|dsn|private|signature|"
    r"credential|email|phone|address|iban|card",
    re.IGNORECASE,
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # URLs with credentials: keep scheme and host, drop user:password.
    (re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.IGNORECASE), r"\g<scheme>[redacted]@"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "[jwt]"),
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9]+"), "[key]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (
        re.compile(
            r"(?i)\b((?:api[_-]?key|apikey|token|secret|password|passwd|pwd|key|signature|sig|dsn|auth)"
            r"[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;]+"
        ),
        r"\1[redacted]",
    ),
    (re.compile(r"\b0x[0-9a-fA-F]{16,}\b"), "[hex]"),
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "[hex]"),
    # Long opaque tokens (url-safe base64 and the like), but not ordinary words or identifiers.
    (re.compile(r"\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{32,}\b"), "[token]"),
]


def scrub_text(value: str, limit: int = MAX_TEXT) -> str:
    for pattern, replacement in _PATTERNS:
        value = pattern.sub(replacement, value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def scrub_value(value: Any, depth: int = 0) -> Any:
    if depth > 4:
        return "[nested]"
    if isinstance(value, str):
        return scrub_text(value, 300)
    if isinstance(value, Mapping):
        return scrub_context(value, depth + 1)
    if isinstance(value, (list, tuple)):
        return [scrub_value(v, depth + 1) for v in list(value)[:20]]
    if value is None or isinstance(value, (bool, int)):
        return value
    return scrub_text(str(value), 300)


def scrub_context(context: Mapping[str, Any] | None, depth: int = 0) -> dict[str, Any]:
    """A JSON-safe copy of `context` with sensitive keys redacted and every string scrubbed."""
    clean: dict[str, Any] = {}
    for key, value in list((context or {}).items())[:50]:
        key = str(key)[:60]
        clean[key] = REDACTED if _SENSITIVE_KEY.search(key) else scrub_value(value, depth)
    return clean
