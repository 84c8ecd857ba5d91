"""20 reviewers claim the same case at the same moment: exactly one holds it, the others are told it is held
(run on SQLite and on PostgreSQL by the suite's two passes)."""

from __future__ import annotations

import threading

from backend.errors import Conflict
from backend.kyc import review
from backend.workflow.transitions import history
from tests.factories import make_user
from tests.kyc.support import case_of, reviewer, submit

REVIEWERS = 20


def test_twenty_reviewers_claim_at_once_and_exactly_one_holds_the_case() -> None:
    consumer = make_user()
    submit(consumer)
    case_id = case_of(consumer).id
    reviewers = [reviewer() for _ in range(REVIEWERS)]
    start = threading.Barrier(REVIEWERS)
    winners: list[str] = []
    refused: list[str] = []
    failures: list[BaseException] = []

    def attempt(actor) -> None:  # type: ignore[no-untyped-def]
        start.wait()
        try:
            winners.append(review.claim(actor, case_id).held_by)  # type: ignore[arg-type]
        except Conflict as exc:
            refused.append(exc.code)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=attempt, args=(r,)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(winners) == 1 and len(refused) == REVIEWERS - 1
    assert set(refused) <= {"kyc_case_held", "concurrent_transition"}
    assert case_of(consumer).claimed_by_email == winners[0]
    assert [h.trigger for h in history(reviewer(), "kyc_case", case_id)] == ["start_review"]  # type: ignore[arg-type]
