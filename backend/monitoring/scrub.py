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
_HEX_0X = re.compile(r"\b0x[0-9a-fA-F]{16,}\b")
# Long opaque tokens (url-safe base64 and the like), but not ordinary words or identifiers.
_TOKEN = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{32,}(?![\w-])", re.ASCII)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# Where over-long text may be cut before scrubbing: whitespace, which no secret pattern runs through.
_CUT_AT = " \t\n"
# A pattern that could begin inside a run of its characters begins only where the run does (a look-behind), so a
# long run such as a base64 blob costs linear time, not quadratic: every log line of every process comes through here.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # URLs with credentials: keep scheme and host, drop user:password.
    (re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)[^/\s:@]+:[^/\s@]+@", re.IGNORECASE),
     r"\g<scheme>[redacted]@"),
    # A node provider's key in an RPC URL's path (Alchemy's /v2/<key> and /nft/v3/<key>, Infura's /v3/<key>),
    # digits or none.
    (re.compile(r"(?i)(://[^/\s]+/(?:nft/)?v[23]/)[A-Za-z0-9_-]{20,}"), r"\1[redacted]"),
    (re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
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
    (_HEX_0X, "[hex]"),
    (re.compile(r"\b[0-9a-fA-F]{32,}\b"), "[hex]"),
    (_TOKEN, "[token]"),
]


def scrub_text(value: str, limit: int = MAX_TEXT, *, keep_addresses: bool = False) -> str:
    """`value` without secrets or personal data, cut to `limit` characters.

    `keep_addresses` keeps 0x-addresses (40 hex digits: public, and how logs name a vault or signer); longer hex, which
    may be a private key, goes either way. Text far beyond `limit` is dropped before scrubbing, at a space, so no
    fragment of a secret cut in two escapes the patterns.
    """
    if len(value) > 2 * limit:
        head = value[: 2 * limit]
        cut = max(head.rfind(c) for c in _CUT_AT)
        value = (head[:cut] if cut > 0 else "[cut]") + " …"  # one opaque run that long is no message: none of it
    for pattern, replacement in _PATTERNS:
        if keep_addresses and pattern in (_HEX_0X, _TOKEN):
            value = pattern.sub(lambda m, r=replacement: m[0] if _ADDRESS.fullmatch(m[0]) else r, value)
        else:
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
