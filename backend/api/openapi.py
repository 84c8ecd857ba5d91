"""The API's OpenAPI document: FastAPI's, plus what the routes' type hints cannot say.

- Every request string without a pattern of its own refuses NUL characters (`reject_nul_characters` answers
  them with 422, since PostgreSQL text cannot hold them), so the document says so.
- Quantities carry the configured ORDER_MAX_QUANTITY as their maximum (marked `x-primsell-max` on the route).
- A route that takes `OptionalActor` says its bearer token is optional. `optional_actor` reads the token through
  a scheme of its own name, which FastAPI lists as one more required scheme; this turns it into "HTTPBearer or
  nothing", so no route has to be marked by hand.

`tests/api/test_fuzz.py` runs schemathesis over the result: a schema-valid request must be accepted and a
schema-invalid one refused, so a rule the services check must be written here too.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from backend.api.deps import OPTIONAL_BEARER_SCHEME
from backend.settings import get_settings

NO_NUL_PATTERN = "^[^\\x00]*$"
_MAX_FROM_SETTINGS = "x-primsell-max"
# An empty requirement is "none": the token may be sent or not.
OPTIONAL_BEARER = [{}, {"HTTPBearer": []}]


def _walk_request_schema(schema: Any, components: dict[str, Any], seen: set[str], patterned: bool = False) -> None:
    """Add the NUL rule to every string below `schema` (following $refs once each) and fill in settings maxima.
    `patterned`: a pattern beside an anyOf (an optional field's) already rules for its string branch."""
    if isinstance(schema, list):
        for item in schema:
            _walk_request_schema(item, components, seen, patterned)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            _walk_request_schema(components.get(name), components, seen)
    setting = schema.pop(_MAX_FROM_SETTINGS, None)
    if setting is not None:
        schema["maximum"] = int(getattr(get_settings(), setting))
    if schema.get("type") == "string" and not patterned and not {"pattern", "enum", "format"} & schema.keys():
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("properties", "patternProperties", "$defs"):
        for child in (schema.get(key) or {}).values():
            _walk_request_schema(child, components, seen)
    for key in ("items", "additionalProperties", "prefixItems"):
        if key in schema:
            _walk_request_schema(schema[key], components, seen)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            _walk_request_schema(schema[key], components, seen, patterned or "pattern" in schema)


def amend(document: dict[str, Any]) -> dict[str, Any]:
    """Add the rules above to FastAPI's document, in place. Safe to repeat on the same document."""
    document.get("components", {}).get("securitySchemes", {}).pop(OPTIONAL_BEARER_SCHEME, None)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if {OPTIONAL_BEARER_SCHEME: []} in operation.get("security", []):
                operation["security"] = list(OPTIONAL_BEARER)
    components = document.get("components", {}).get("schemas", {})
    # Walked from the requests only: a model also used in responses gets the NUL rule there too, which is harmless
    # (no stored string holds NUL).
    seen: set[str] = set()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _walk_request_schema(parameter.get("schema"), components, seen)
            for media in (operation.get("requestBody") or {}).get("content", {}).values():
                _walk_request_schema(media.get("schema"), components, seen)
    return document


def install_openapi(api: FastAPI) -> None:
    generate = api.openapi  # FastAPI's, which caches the document until the routes change

    def openapi() -> dict[str, Any]:
        return amend(generate())

    api.openapi = openapi  # type: ignore[method-assign]
