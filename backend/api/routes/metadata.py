"""`GET /api/metadata/{campaign_slug}/{token_id}`: OpenSea-format token metadata (the contracts' base URI)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from backend.chain.metadata import token_metadata

router = APIRouter(tags=["metadata"])


@router.get("/api/metadata/{campaign_slug}/{token_id}")
def get_token_metadata(
    campaign_slug: Annotated[str, Path(max_length=64)],
    token_id: Annotated[int, Path(ge=0, le=2**32)],
) -> Any:
    # Public and cacheable for a little while: metadata only changes when the campaign is edited.
    return JSONResponse(token_metadata(campaign_slug, token_id), headers={"Cache-Control": "public, max-age=60"})
