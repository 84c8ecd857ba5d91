"""Sign-In with Ethereum for holders: a single-use nonce (and the message to sign), then the signed message in
exchange for a wallet proof."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from backend.api.deps import V1_DEPENDENCIES, ClientIp
from backend.api.reward_schemas import SiweNonceOut, SiweVerifyOut, SiweVerifyRequest
from backend.api.schemas import ErrorBody
from backend.auth import siwe
from backend.errors import ValidationFailed
from backend.validation import check_address

router = APIRouter(prefix="/api/v1/auth/siwe", dependencies=V1_DEPENDENCIES, tags=["auth"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


UNAVAILABLE = {503: {"model": ErrorBody, "description": "the chain node is not answering (the chain id comes from it)"}}


@router.get("/nonce", response_model=SiweNonceOut, responses=UNAVAILABLE)
def nonce(response: Response, ip: ClientIp,
          address: Annotated[str | None, Query(max_length=42, pattern="^0x[0-9a-fA-F]{40}$",
                                               description="Also build the message for it.")] = None,
          ) -> SiweNonceOut:
    if address is not None:
        try:
            address = check_address(address)
        except ValueError as exc:
            raise ValidationFailed("Bad address.", fields={"address": str(exc)}) from exc
    siwe.limit_nonces(ip)
    value, expires = siwe.issue_nonce()
    response.headers.update(NO_STORE)
    scheme, domain = siwe.site()
    chain_id = siwe.expected_chain_id()
    message = siwe.build_message(address, value, chain_id=chain_id).text() if address else None
    return SiweNonceOut(nonce=value, expires_at=expires, domain=domain, uri=f"{scheme}://{domain}/redeem",
                        chain_id=chain_id, statement=siwe.STATEMENT, message=message)


@router.post("/verify", response_model=SiweVerifyOut, responses=UNAVAILABLE)
def verify(body: SiweVerifyRequest, response: Response, ip: ClientIp) -> SiweVerifyOut:
    siwe.limit_verifications(ip)
    address = siwe.verify(body.message, body.signature)
    proof, ttl = siwe.wallet_proof(address)
    response.headers.update(NO_STORE)
    return SiweVerifyOut(address=address, wallet_proof=proof, expires_in=ttl)
