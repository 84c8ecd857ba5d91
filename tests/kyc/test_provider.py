"""The Sumsub-format provider against a local fake Sumsub: the real client registers the case (signed request),
and the fake's signed `applicantReviewed` webhooks reach the app over a real socket (granian serving the API in
its own process). A bad signature is refused and changes nothing; duplicates and out-of-order deliveries are
handled; the answers land in the same machine and queue."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from backend.chain.anvil import free_port
from backend.db import session_scope
from backend.kyc import review, service
from backend.kyc.models import KycProviderEvent
from backend.kyc.provider import WebhookResult, created_at_ms, external_user_id, receive_sumsub_webhook
from backend.workflow.transitions import history
from tests.api_server import api_server
from tests.factories import make_user
from tests.kyc.sumsub_fake import APP_TOKEN, SECRET_KEY, WEBHOOK_SECRET, FakeSumsub, fake_sumsub
from tests.kyc.support import case_of, reviewer, submit

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/api/kyc/webhooks/sumsub"


@pytest.fixture(scope="module")
def sumsub() -> Iterator[FakeSumsub]:
    with fake_sumsub() as fake:
        yield fake


def _provider_env(fake: FakeSumsub) -> dict[str, str]:
    return {"KYC_PROVIDER": "sumsub", "SUMSUB_BASE_URL": fake.url, "SUMSUB_APP_TOKEN": APP_TOKEN,
            "SUMSUB_SECRET_KEY": SECRET_KEY, "SUMSUB_WEBHOOK_SECRET": WEBHOOK_SECRET}


@pytest.fixture(scope="module")
def app_url(migrated_database: str, sumsub: FakeSumsub) -> Iterator[str]:
    """The API over a socket against the test database, configured for the fake Sumsub."""
    with api_server(_provider_env(sumsub)) as url:
        yield url


@pytest.fixture
def provider_case(sumsub: FakeSumsub, configure) -> tuple[object, str, str]:  # type: ignore[no-untyped-def]
    """A consumer's case, registered at the fake Sumsub by the real client: (consumer, external id, applicant)."""
    configure(**_provider_env(sumsub))
    consumer = make_user()
    submit(consumer)
    external = external_user_id(case_of(consumer).id)  # type: ignore[arg-type]
    return consumer, external, sumsub.applicant_for(external)


def _events() -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(KycProviderEvent)).scalar_one()


def test_a_submission_registers_the_applicant_with_a_signed_request(provider_case, sumsub) -> None:  # type: ignore[no-untyped-def]
    consumer, external, applicant = provider_case
    body = sumsub.applicants[applicant]
    assert body["externalUserId"] == external and body["fixedInfo"]["country"] == "FRA"
    assert body["fixedInfo"]["dob"] == "1990-04-02" and sumsub.refused == []
    case = case_of(consumer)
    assert case.provider_applicant_id == applicant and case.state.value == "submitted"


def test_green_over_the_socket_approves_and_a_redelivery_is_a_duplicate(provider_case, app_url) -> None:  # type: ignore[no-untyped-def]
    consumer, external, applicant = provider_case
    green = FakeSumsub.reviewed(applicant, external, "GREEN")
    first = FakeSumsub.deliver(app_url + WEBHOOK, green)
    assert first.status_code == 200 and first.json()["status"] == "applied", first.text
    again = FakeSumsub.deliver(app_url + WEBHOOK, green)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert _events() == 1
    mine = service.my_status(consumer)
    assert mine.status == "approved" and mine.valid_until is not None
    assert [(h.trigger, h.actor) for h in history(reviewer(), "kyc_case", case_of(consumer).id)] == [  # type: ignore[arg-type]
        ("provider_approve", "provider:sumsub")]


@pytest.mark.parametrize("forgery", ["wrong_secret", "changed_body", "no_digest", "unknown_algorithm"])
def test_a_bad_signature_is_refused_and_changes_nothing(provider_case, app_url, forgery: str) -> None:  # type: ignore[no-untyped-def]
    consumer, external, applicant = provider_case
    green = FakeSumsub.reviewed(applicant, external, "GREEN")
    url = app_url + WEBHOOK
    if forgery == "wrong_secret":
        response = FakeSumsub.deliver(url, green, secret="someone-else")
    elif forgery == "changed_body":
        raw = b'{"applicantId":"%s","externalUserId":"%s","type":"applicantReviewed","reviewResult":' \
              b'{"reviewAnswer":"RED"}}' % (applicant.encode(), external.encode())
        digest = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        changed = raw.replace(b'"RED"', b'"GREEN"')
        response = httpx.post(url, content=changed, headers={"X-Payload-Digest": digest,
                                                             "Content-Type": "application/json"}, timeout=30)
    elif forgery == "no_digest":
        response = httpx.post(url, json=green, timeout=30)
    else:
        response = httpx.post(url, json=green, timeout=30, headers={"X-Payload-Digest": "00",
                                                                    "X-Payload-Digest-Alg": "HMAC_MD5_HEX"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_signature"
    assert _events() == 0 and service.my_status(consumer).status == "submitted"


def test_final_red_waits_for_a_reviewer_and_an_older_green_arriving_late_is_ignored(provider_case, app_url) -> None:  # type: ignore[no-untyped-def]
    consumer, external, applicant = provider_case
    now = datetime.now(UTC)
    red = FakeSumsub.reviewed(applicant, external, "RED", "FINAL", created_at=now, labels=["FORGERY"],
                              client_comment="template match")
    older_green = FakeSumsub.reviewed(applicant, external, "GREEN", created_at=now - timedelta(minutes=5))
    assert FakeSumsub.deliver(app_url + WEBHOOK, red, algorithm="HMAC_SHA512_HEX").json()["status"] == "applied"
    late = FakeSumsub.deliver(app_url + WEBHOOK, older_green)
    assert late.status_code == 200 and late.json()["status"] == "stale"
    case = case_of(consumer)
    assert case.state.value == "rejection_pending" and case.reject_reason == "suspected_forgery"
    assert "provider_red" in case.flag_list
    assert service.my_status(consumer).status == "in_review"
    kim = reviewer()  # the provider's FINAL answer is confirmed by a human (four eyes)
    queue = review.list_cases(kim)
    assert [r.id for r in queue.items] == [case.id] and queue.items[0].state == "rejection_pending"
    review.claim(kim, case.id)  # type: ignore[arg-type]
    review.confirm_rejection(kim, case.id)  # type: ignore[arg-type]
    assert service.my_status(consumer).status == "rejected"


def test_retry_asks_the_consumer_for_changes_and_their_resubmission_returns_to_the_queue(provider_case,  # type: ignore[no-untyped-def]
                                                                                      app_url) -> None:
    consumer, external, applicant = provider_case
    retry = FakeSumsub.reviewed(applicant, external, "RED", "RETRY", labels=["UNSATISFACTORY_PHOTOS"],
                                moderation="The photo of your document is blurry.", client_comment="internal only")
    assert FakeSumsub.deliver(app_url + WEBHOOK, retry).json()["status"] == "applied"
    mine = service.my_status(consumer)
    assert mine.status == "changes_requested" and mine.changes_requested == "The photo of your document is blurry."
    assert "internal only" not in str(mine)
    submit(consumer)
    assert service.my_status(consumer).status == "submitted"
    assert review.list_cases(reviewer()).items[0].id == case_of(consumer).id


def test_a_webhook_for_an_unknown_applicant_is_acknowledged_and_stored(provider_case, app_url) -> None:  # type: ignore[no-untyped-def]
    response = FakeSumsub.deliver(app_url + WEBHOOK, FakeSumsub.reviewed("nobody", "someone-else", "GREEN"))
    assert response.status_code == 200 and response.json()["status"] == "unknown_applicant" and _events() == 1


def test_an_unreachable_provider_leaves_the_case_in_the_reviewers_queue(configure, sumsub) -> None:  # type: ignore[no-untyped-def]
    configure(**_provider_env(sumsub) | {"SUMSUB_BASE_URL": f"http://127.0.0.1:{free_port()}"})
    consumer = make_user()
    assert submit(consumer).status == "submitted"
    assert case_of(consumer).provider_applicant_id == ""
    assert review.list_cases(reviewer()).items[0].id == case_of(consumer).id


def _receive(payload: dict) -> WebhookResult:
    """The service behind the webhook route, given a body signed as Sumsub signs it."""
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return receive_sumsub_webhook(raw, hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest(), None)


def _outcomes() -> list[str]:
    with session_scope() as session:
        return list(session.execute(select(KycProviderEvent.outcome).order_by(KycProviderEvent.id)).scalars())


def test_a_green_without_a_readable_time_does_not_undo_a_newer_retry(provider_case) -> None:  # type: ignore[no-untyped-def]
    consumer, external, applicant = provider_case
    retry = FakeSumsub.reviewed(applicant, external, "RED", "RETRY", moderation="Blurry.") | {"createdAtMs": 2000}
    assert _receive(retry).status == "applied"
    green = FakeSumsub.reviewed(applicant, external, "GREEN")
    del green["createdAtMs"]
    assert _receive(green).status == "stale"
    assert service.my_status(consumer).status == "changes_requested"
    assert _outcomes()[-1].startswith("stale:")


@pytest.mark.parametrize(("created_at", "status"), [("1970-01-01 00:00:01+0000", "stale"),
                                                    ("2021-02-21 13:23:19+0000", "applied")])
def test_a_created_at_with_a_utc_offset_orders_the_answers(provider_case, created_at: str, status: str) -> None:  # type: ignore[no-untyped-def]
    consumer, external, applicant = provider_case
    retry = FakeSumsub.reviewed(applicant, external, "RED", "RETRY", moderation="Blurry.") | {"createdAtMs": 2000}
    assert _receive(retry).status == "applied"
    green = FakeSumsub.reviewed(applicant, external, "GREEN")
    del green["createdAtMs"]
    assert created_at_ms(green | {"createdAt": created_at}) > 0
    assert _receive(green | {"createdAt": created_at}).status == status
    assert service.my_status(consumer).status == ("approved" if status == "applied" else "changes_requested")
