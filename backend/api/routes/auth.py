"""Sign-in for API clients (access + refresh tokens), the web app's HttpOnly session cookie, and `GET /me`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response, status

from backend.api.deps import V1_DEPENDENCIES, ClientIp, CurrentActor, require_same_origin
from backend.api.schemas import (
    EmptyRequest,
    LoginRequest,
    MeResponse,
    RefreshRequest,
    TokenResponse,
    WebSessionRequest,
)
from backend.auth import service
from backend.settings import get_settings

router = APIRouter(prefix="/api/v1", dependencies=V1_DEPENDENCIES, tags=["auth"])

# Tokens must not be kept by browsers or proxies (RFC 6749 section 5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post("/auth/login", response_model=TokenResponse)
def login(body: LoginRequest, response: Response, ip: ClientIp) -> TokenResponse:
    response.headers.update(NO_STORE)
    return TokenResponse.of(service.login(body.email, body.password, ip=ip))


@router.post("/auth/refresh", response_model=TokenResponse)
def refresh(body: RefreshRequest, response: Response, ip: ClientIp) -> TokenResponse:
    response.headers.update(NO_STORE)
    return TokenResponse.of(service.refresh(body.refresh_token, ip=ip))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(body: RefreshRequest) -> Response:
    service.logout(body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _cookie_attributes() -> dict[str, object]:
    return {
        "path": "/",
        "httponly": True,
        "samesite": "lax",
        "secure": get_settings().public_url.lower().startswith("https"),
    }


@router.post(
    "/auth/web/session",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_same_origin)],
    summary="Exchange a single-use sign-in code for the web session cookie",
)
def start_web_session(body: WebSessionRequest) -> Response:
    cookie_value, expires_at = service.complete_web_sign_in(body.code)
    response = Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)
    response.set_cookie(
        service.WEB_SESSION_COOKIE, cookie_value, expires=expires_at, **_cookie_attributes()  # type: ignore[arg-type]
    )
    return response


@router.post(
    "/auth/web/rotate",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_same_origin)],
    summary="Give the web session cookie a new value (the old one stops working a minute later)",
)
def rotate_web_session(request: Request, _body: EmptyRequest) -> Response:
    """The signed-in pages call this when the cookie is due for rotation. 204 either way: with a new cookie when
    it was rotated, without one when there was nothing to rotate (another tab did it first, or no live session)."""
    rotated = service.rotate_web_session(request.cookies.get(service.WEB_SESSION_COOKIE))
    response = Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)
    if rotated is not None:
        cookie_value, expires_at = rotated
        response.set_cookie(
            service.WEB_SESSION_COOKIE, cookie_value, expires=expires_at, **_cookie_attributes()  # type: ignore[arg-type]
        )
    return response


@router.post(
    "/auth/web/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[Depends(require_same_origin)],
    summary="End the web session named by the cookie and delete the cookie",
)
def end_web_session(request: Request, _body: EmptyRequest) -> Response:
    # The body is `{}`: requiring JSON is what keeps a cross-site HTML form from signing someone out.
    service.end_web_session(request.cookies.get(service.WEB_SESSION_COOKIE))
    response = Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)
    response.delete_cookie(service.WEB_SESSION_COOKIE, **_cookie_attributes())  # type: ignore[arg-type]
    return response


@router.get("/me", response_model=MeResponse, tags=["me"])
def me(actor: CurrentActor) -> MeResponse:
    return MeResponse.of(actor)
