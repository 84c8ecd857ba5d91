"""`GET /api/metadata/{campaign_slug}/{token_id}`: OpenSea-format token metadata (the contracts' base URI).

Rate-limited per IP (RATE_LIMIT_METADATA_PER_IP) and cacheable: a minted token's metadata for a few minutes, with an
ETag for cheap revalidation; a token not minted yet is never cached (it may be minted the next second)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from backend.api.deps import reject_nul_characters
from backend.api.errors import error_response
from backend.api.public import METADATA_CACHE, NO_STORE, NOT_MODIFIED, cached_json, limit_metadata_reads
from backend.chain.metadata import token_metadata
from backend.errors import NotFound

router = APIRouter(tags=["metadata"])


# Mounted outside /api/v1 (a contract's base URI), so without the V1 dependencies: the NUL guard is added here, as
# PostgreSQL text cannot hold a NUL and the slug lookup would fail in the database (500) instead of answering 4xx.
@router.get("/api/metadata/{campaign_slug}/{token_id}",
            dependencies=[Depends(limit_metadata_reads), Depends(reject_nul_characters)], responses=NOT_MODIFIED)
def get_token_metadata(
    request: Request,
    campaign_slug: Annotated[str, Path(max_length=64)],
    token_id: Annotated[int, Path(ge=0, le=2**32)],
) -> Response:
    try:
        metadata = token_metadata(campaign_slug, token_id)
    except NotFound as exc:
        return error_response(exc.status, exc.code, exc.message, exc.fields, {"Cache-Control": NO_STORE})
    return cached_json(request, metadata, METADATA_CACHE)
