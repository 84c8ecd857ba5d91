"""KYC routes. `router` (prefix /api/v1/kyc): the consumer's own check (`/me`, multipart `/submissions`, withdraw),
the reviewers' queue, case page, claims and decisions, and the signed document links. `webhook_router`: the
external provider's webhooks (`/api/kyc/webhooks/sumsub`, raw body, signature checked). Thin: parse -> service ->
serialize. Include both with `api.include_router(...)`."""

from __future__ import annotations

import email.message
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from backend.api.deps import ClientIp, CurrentActor, limit_api_per_ip, reject_nul_characters, require_json
from backend.api.errors import UnsupportedMediaType
from backend.api.routes.orders import bearer_or_web_session
from backend.api.schemas import ErrorBody
from backend.auth.acl import Actor
from backend.errors import NotFound
from backend.kyc import documents, provider, review, service
from backend.settings import get_settings

MAX_ID = 2**31 - 1
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]

router = APIRouter(prefix="/api/v1/kyc", tags=["kyc"], dependencies=[Depends(limit_api_per_ip),
                                                                      Depends(reject_nul_characters)])
webhook_router = APIRouter(prefix="/api/kyc/webhooks", tags=["kyc"])
JSON_BODY = [Depends(require_json)]


def _plain(value: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# -- response and request models (the OpenAPI document) -----------------------------------------------------------

class KycStatusOut(BaseModel):
    status: str = Field(description="none, submitted, in_review, changes_requested, approved, expired, rejected, "
                                    "withdrawn")
    label: str
    message: str
    case_id: int | None
    valid_until: datetime | None
    changes_requested: str = Field(description="what to fix, when changes were requested")
    reject_reason: str = Field(description="the reason, in words, when rejected")
    submitted_at: datetime | None
    can_submit: bool
    can_resubmit: bool
    can_withdraw: bool
    previous: dict[str, str]


class QueueRowOut(BaseModel):
    id: int
    email: str
    legal_name: str
    country: str
    state: str
    state_label: str
    flags: list[str]
    queued_at: datetime
    age: str
    sla: str = Field(description="green, amber or red for open cases (KYC_SLA_HOURS); empty otherwise")
    held_by: str


class QueuePageOut(BaseModel):
    items: list[QueueRowOut]
    total: int
    limit: int
    offset: int


class ClaimOut(BaseModel):
    case_id: int
    state: str
    held_by: str
    claim_expires_at: datetime


class StateOut(BaseModel):
    case_id: int
    state: str


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EmptyBody(_Body):
    pass


class ApproveBody(_Body):
    note: str = Field("", max_length=500)


class ChangesBody(_Body):
    message: str = Field(max_length=1000, description="what the person must fix (sent to them)")


class RejectBody(_Body):
    reason: str = Field(max_length=40, description=f"one of {', '.join(review.REJECT_REASONS)}")
    note: str = Field(max_length=1000, description="why (internal, never sent to the person)")


class NoteBody(_Body):
    note: str = Field(max_length=1000)


class WebhookAck(BaseModel):
    status: str
    detail: str


_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 422, 429)}


# -- the consumer -------------------------------------------------------------------------------------------------

@router.get("/me", response_model=KycStatusOut, summary="Your identity check: where it stands")
def my_status(actor: CurrentActor) -> dict[str, Any]:
    return _plain(service.my_status(actor))


def require_multipart(request: Request) -> None:
    message = email.message.Message()
    message["content-type"] = request.headers.get("content-type", "")
    if message.get_content_type() != "multipart/form-data":
        raise UnsupportedMediaType("Send the submission as multipart/form-data (fields and files).")


async def _read(upload: UploadFile | None) -> bytes | None:
    if upload is None:
        return None
    return await upload.read(get_settings().kyc_max_file_bytes + 1)  # one byte more tells "too large"


@router.post(
    "/submissions", status_code=201, response_model=KycStatusOut, dependencies=[Depends(require_multipart)],
    summary="Submit (or resubmit) your identity check",
    description="multipart/form-data: the fields and the files `front`, `back` (ID cards and driving licences) and "
                "`selfie`. Files are judged by content (JPEG, PNG or PDF; the selfie JPEG or PNG), at most "
                "KYC_MAX_FILE_BYTES each; images are re-encoded without metadata. Rate-limited per account and IP.",
    responses={**_ERRORS, 413: {"model": ErrorBody}, 415: {"model": ErrorBody}},
)
async def submit(
    actor: CurrentActor, ip: ClientIp,
    legal_name: Annotated[str, Form(max_length=200)],
    date_of_birth: Annotated[date, Form(description="YYYY-MM-DD")],
    country: Annotated[str, Form(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")],
    address: Annotated[str, Form(max_length=500)],
    document_type: Annotated[Literal["passport", "id_card", "driving_licence"], Form()],
    document_number: Annotated[str, Form(max_length=40)],
    consent: Annotated[bool, Form(description="true: you agree to the processing described in the consent text")],
    front: Annotated[UploadFile, File(description="the document's front (or the passport's photo page)")],
    selfie: Annotated[UploadFile, File(description="a photo of your face")],
    back: Annotated[UploadFile | None, File(description="the document's back (ID card, driving licence)")] = None,
    region: Annotated[str, Form(max_length=6, description="ISO 3166-2 code; required where listed")] = "",
) -> dict[str, Any]:
    data = {"legal_name": legal_name, "date_of_birth": date_of_birth, "country": country, "region": region,
            "address": address, "document_type": document_type, "document_number": document_number,
            "consent": consent}
    uploads = {"front": front, "back": back, "selfie": selfie}
    files = {kind: content for kind, upload in uploads.items() if (content := await _read(upload)) is not None}
    names = {kind: upload.filename or "" for kind, upload in uploads.items() if upload is not None}
    return _plain(await run_in_threadpool(service.submit, actor, data, files=files, filenames=names, ip=ip))


@router.post("/me/withdraw", response_model=KycStatusOut, dependencies=JSON_BODY, responses=_ERRORS,
             summary="Withdraw your pending identity check (its documents are deleted at once)")
def withdraw(actor: CurrentActor, body: EmptyBody) -> dict[str, Any]:
    return _plain(service.withdraw(actor))


# -- reviewers ----------------------------------------------------------------------------------------------------

@router.get("/cases", response_model=QueuePageOut, responses=_ERRORS, summary="The review queue, oldest first")
def list_cases(actor: CurrentActor,
               status: Annotated[str, Query(max_length=20, description="open (default), all, or a state")] = "open",
               country: Annotated[str, Query(max_length=2)] = "",
               flag: Annotated[str, Query(max_length=40)] = "",
               search: Annotated[str, Query(max_length=100)] = "",
               limit: Annotated[int, Query(ge=-MAX_ID, le=MAX_ID)] = 20,
               offset: Annotated[int, Query(ge=-MAX_ID, le=MAX_ID)] = 0) -> dict[str, Any]:
    page = review.list_cases(actor, status=status, country=country, flag=flag, search=search, limit=limit,
                             offset=offset)
    return {"items": _plain(page.items), "total": page.total, "limit": page.limit, "offset": page.offset}


@router.get("/cases/{case_id}", response_model=review.CaseDetail, responses=_ERRORS,
            summary="One case, with links to its documents valid for a few minutes, for this session only")
def get_case(actor: CurrentActor, case_id: CaseId) -> review.CaseDetail:
    return review.get_case(actor, case_id)


@router.post("/cases/{case_id}/claim", response_model=ClaimOut, dependencies=JSON_BODY, responses=_ERRORS,
             summary="Claim the case (one reviewer at a time; 409 names the holder)")
def claim(actor: CurrentActor, case_id: CaseId, body: EmptyBody) -> dict[str, Any]:
    return _plain(review.claim(actor, case_id))


@router.post("/cases/{case_id}/release", status_code=204, dependencies=JSON_BODY, responses=_ERRORS,
             summary="Hand the case back to the queue")
def release(actor: CurrentActor, case_id: CaseId, body: EmptyBody) -> Response:
    review.release(actor, case_id)
    return Response(status_code=204)


def _state(case_id: int, state: str) -> dict[str, Any]:
    return {"case_id": case_id, "state": state}


@router.post("/cases/{case_id}/approve", response_model=StateOut, dependencies=JSON_BODY, responses=_ERRORS)
def approve(actor: CurrentActor, case_id: CaseId, body: ApproveBody) -> dict[str, Any]:
    review.approve(actor, case_id, body.note)
    return _state(case_id, "approved")


@router.post("/cases/{case_id}/request-changes", response_model=StateOut, dependencies=JSON_BODY, responses=_ERRORS)
def request_changes(actor: CurrentActor, case_id: CaseId, body: ChangesBody) -> dict[str, Any]:
    review.request_changes(actor, case_id, body.message)
    return _state(case_id, "needs_more_info")


@router.post("/cases/{case_id}/reject", response_model=StateOut, dependencies=JSON_BODY, responses=_ERRORS,
             summary="Reject (with four eyes on: propose; the case then waits for a second reviewer)")
def reject(actor: CurrentActor, case_id: CaseId, body: RejectBody) -> dict[str, Any]:
    return _state(case_id, review.reject(actor, case_id, body.reason, body.note))


@router.post("/cases/{case_id}/confirm-rejection", response_model=StateOut, dependencies=JSON_BODY,
             responses=_ERRORS, summary="Confirm a rejection another reviewer proposed")
def confirm_rejection(actor: CurrentActor, case_id: CaseId, body: EmptyBody) -> dict[str, Any]:
    review.confirm_rejection(actor, case_id)
    return _state(case_id, "rejected")


@router.post("/cases/{case_id}/dismiss-rejection", response_model=StateOut, dependencies=JSON_BODY,
             responses=_ERRORS, summary="Send a proposed rejection back to review")
def dismiss_rejection(actor: CurrentActor, case_id: CaseId, body: NoteBody) -> dict[str, Any]:
    review.dismiss_rejection(actor, case_id, body.note)
    return _state(case_id, "in_review")


DOCUMENT_TYPES = {"image/jpeg": {}, "image/png": {}, "application/pdf": {}}


@router.get(
    "/documents/{document_id}", response_class=Response, summary="One identity document, by its signed link",
    description="Only for the reviewer session the link was made for (cookie or bearer token), until it expires. "
                "Every view is written to the case's audit log.",
    responses={200: {"content": DOCUMENT_TYPES, "description": "the file"}, **_ERRORS},
)
def get_document(actor: Annotated[Actor, Depends(bearer_or_web_session)],
                 document_id: Annotated[int, Path(ge=1, le=MAX_ID)],
                 exp: Annotated[int, Query(ge=0, le=2**40)], sig: Annotated[str, Query(max_length=128)]) -> Response:
    opened = documents.open_document(actor, document_id, exp, sig)
    return Response(opened.data, media_type=opened.content_type, headers={
        "Cache-Control": "no-store, private",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
        "Content-Disposition": f'inline; filename="{opened.filename}"',
        "Referrer-Policy": "no-referrer",
    })


# -- the external provider ----------------------------------------------------------------------------------------

@webhook_router.post("/sumsub", response_model=WebhookAck, responses={400: {"model": ErrorBody},
                                                                       404: {"model": ErrorBody}},
                     summary="Sumsub's webhooks (X-Payload-Digest checked on the raw body)")
async def sumsub_webhook(request: Request) -> dict[str, Any]:
    if get_settings().kyc_provider != provider.SUMSUB:
        raise NotFound("No KYC provider webhooks are configured here.")
    raw = await request.body()
    result = await run_in_threadpool(provider.receive_sumsub_webhook, raw, request.headers.get("x-payload-digest"),
                                     request.headers.get("x-payload-digest-alg"))
    return {"status": result.status, "detail": result.detail}
