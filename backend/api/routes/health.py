"""`GET /api/health`: is this process able to serve? One entry per check, 503 when any check fails.

The daemon runners' heartbeat is reported under "scheduler" but does not fail the check: the web process
serves without them. Monitor `scheduler.healthy` to alert on stopped daemons.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from functools import lru_cache

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from backend.api.schemas import ErrorBody, HealthOut
from backend.db import get_engine
from backend.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

# A check returns normally when healthy and raises (or returns False) when not.
HealthCheck = Callable[[], bool | None]


def check_database() -> bool:
    with get_engine().connect() as connection:
        return connection.execute(text("SELECT 1")).scalar_one() == 1


# Name -> check; the name is the key in the response body.
HEALTH_CHECKS: dict[str, HealthCheck] = {"database": check_database}


def register_health_check(name: str, check: HealthCheck) -> None:
    if name in {"status", "version", "scheduler"}:
        raise ValueError(f"{name!r} is reserved in the health response")
    HEALTH_CHECKS[name] = check


@lru_cache(maxsize=1)
def app_version() -> str:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def scheduler_report() -> dict[str, object]:
    """The newest runner heartbeat, or healthy=False when no runner beat recently (or it cannot be read)."""
    from backend.operations.service import scheduler_heartbeat

    try:
        beat = scheduler_heartbeat()
    except Exception:
        log.warning("could not read the scheduler heartbeat", exc_info=True)
        return {"healthy": False, "runners": 0, "last_beat_at": None, "age_s": None}
    return {
        "healthy": beat.healthy,
        "runners": beat.runners,
        "last_beat_at": beat.last_beat_at.isoformat() if beat.last_beat_at else None,
        "age_s": round(beat.age_s, 1) if beat.age_s is not None else None,
    }


def run_checks() -> dict[str, str]:
    results: dict[str, str] = {}
    for name, check in HEALTH_CHECKS.items():
        try:
            healthy = check() is not False
        except Exception:
            log.warning("health check %s failed", name, exc_info=True)
            healthy = False
        results[name] = "ok" if healthy else "error"
    return results


@router.get(
    "/api/health",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A check failed"}, 429: {"model": ErrorBody}},
)
def health() -> JSONResponse:
    results = run_checks()
    healthy = all(value == "ok" for value in results.values())
    body = HealthOut.model_validate(
        {"status": "ok" if healthy else "error", "version": app_version(), **results, "scheduler": scheduler_report()}
    ).model_dump(mode="json")
    return JSONResponse(body, status_code=200 if healthy else 503, headers={"Cache-Control": "no-store"})
