"""KYC review queue: the first queue page and a case page (server side: the service functions behind them) on a
database of N cases, and a 20-way claim race.

Usage: python bench/kyc_queue.py [-n 100000] [--database-url URL] [--samples 300] [--racers 20]
Default database: a temp SQLite file. A PostgreSQL URL names the server: a scratch database
`primsell_bench_kyc_<pid>` is created there, migrated, and dropped at the end.

The data is a realistic mix: ~80% of people with one check, the rest with two or three; states weighted like a
running service (most checks decided: 62% approved, 9% rejected, 5% withdrawn; open: 14% waiting, 3% in review,
1% rejection to confirm; 6% changes requested), one submission per case (two after changes were requested), three
document rows each, two to four history rows and some audit rows, a few duplicate-document flags. Rows are written
with Core bulk inserts (no files: the pages read rows and sign links, they never open a file).
Timed: `review.list_cases` (open cases, oldest first, 20 a page, with the total) and `review.get_case` of random
cases (submissions, documents with signed links, the person's other checks, history with reviewer names).
Last line: queue_page_p99_ms=<n> case_page_p99_ms=<n> claim_winners=<n>
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.scratch import drop_scratch_database, use_scratch_database

SCRATCH_DB = f"primsell_bench_kyc_{os.getpid()}"
BATCH = 5000
STATES = [("approved", 62), ("rejected", 9), ("withdrawn", 5), ("submitted", 14), ("in_review", 3),
          ("rejection_pending", 1), ("needs_more_info", 6)]
COUNTRIES = ["FR", "DE", "ES", "IT", "NL", "PL", "PT", "GB", "US", "BR", "IN", "JP", "SE", "BE", "AT", "IE"]


def _insert(table, rows: list[dict]) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import insert

    from backend.db import get_engine

    for start in range(0, len(rows), BATCH):
        with get_engine().begin() as conn:
            conn.execute(insert(table), rows[start:start + BATCH])


def fill(n: int, rng: random.Random) -> list[int]:
    """N cases with their people, submissions, documents, history and audit rows; returns the reviewers' ids."""
    from backend.auth.acl import Role
    from backend.auth.models import Membership, User
    from backend.kyc.models import KycAuditEntry, KycCase, KycDocument, KycSubmission
    from backend.workflow.models import StateTransition

    now = datetime.now(UTC)
    people = max(1, int(n * 0.8))
    users = [{"id": i, "email": f"person{i}@example.com", "display_name": "", "password_hash": None,
              "is_active": True, "created_at": now} for i in range(1, people + 1)]
    reviewers = list(range(people + 1, people + 31))
    users += [{"id": i, "email": f"reviewer{i}@primsell.example.com", "display_name": "", "password_hash": None,
               "is_active": True, "created_at": now} for i in reviewers]
    _insert(User.__table__, users)
    _insert(Membership.__table__, [{"user_id": i, "brand_id": None, "role": Role.KYC_REVIEWER, "created_at": now}
                                   for i in reviewers])
    states = [s for s, _ in STATES]
    weights = [w for _, w in STATES]
    cases, submissions, documents, history, audit = [], [], [], [], []
    submission_id = document_id = 0
    for case_id in range(1, n + 1):
        user_id = case_id if case_id <= people else rng.randint(1, people)
        state = rng.choices(states, weights)[0]
        queued = now - timedelta(minutes=rng.randint(1, 90 * 24 * 60))
        number = f"D{rng.randint(0, n * 4):08d}"
        reviewer = rng.choice(reviewers)
        decided = state in ("approved", "rejected", "withdrawn")
        held = state in ("in_review", "rejection_pending")
        cases.append({
            "id": case_id, "user_id": user_id, "state": state, "version": 2, "email": f"person{user_id}@example.com",
            "legal_name": f"Person {user_id} Example", "country": rng.choice(COUNTRIES),
            "document_number_norm": number, "flags": "duplicate_document" if rng.random() < 0.02 else "",
            "queued_at": queued, "claimed_by": reviewer if held else None,
            "claimed_by_email": f"reviewer{reviewer}@primsell.example.com" if held else "",
            "claim_expires_at": now + timedelta(minutes=20) if held else None,
            "changes_requested": "Take the photo again" if state == "needs_more_info" else "",
            "reject_reason": "document_expired" if state in ("rejected", "rejection_pending") else "",
            "reject_note": "expired" if state in ("rejected", "rejection_pending") else "",
            "rejection_proposed_by": reviewer if state == "rejection_pending" else None,
            "rejection_proposed_by_email": "", "decided_by": f"user:{reviewer}" if decided else "",
            "decided_at": queued + timedelta(hours=5) if decided else None,
            "valid_until": queued + timedelta(days=365) if state == "approved" else None,
            "documents_deleted_at": None, "provider": "manual", "provider_applicant_id": "",
            "provider_reviewed_ms": 0, "created_at": queued, "updated_at": queued})
        for number_of in range(1, (3 if state == "needs_more_info" and rng.random() < 0.3 else 2)):
            submission_id += 1
            submissions.append({
                "id": submission_id, "case_id": case_id, "number": number_of, "legal_name": f"Person {user_id} Example",
                "date_of_birth": date(1970 + rng.randint(0, 35), rng.randint(1, 12), rng.randint(1, 28)),
                "country": cases[-1]["country"], "region": "", "address": f"{rng.randint(1, 200)} Main Street",
                "document_type": "id_card", "document_number": number, "consent_text": "I agree (bench)",
                "consent_at": queued, "ip": "10.0.0.1", "submitted_at": queued})
            for kind in ("front", "back", "selfie"):
                document_id += 1
                documents.append({
                    "id": document_id, "submission_id": submission_id, "user_id": user_id, "kind": kind,
                    "content_type": "image/jpeg", "size_bytes": 250_000, "width": 1600, "height": 1200,
                    "sha256": f"{document_id:064x}", "storage_key": f"{document_id:040x}", "created_at": queued,
                    "deleted_at": None})
        steps = {"submitted": [], "in_review": [("submitted", "start_review", "in_review")],
                 "approved": [("submitted", "start_review", "in_review"), ("in_review", "approve", "approved")],
                 "rejected": [("submitted", "start_review", "in_review"),
                              ("in_review", "propose_rejection", "rejection_pending"),
                              ("rejection_pending", "claim_for_confirmation", "rejection_pending"),
                              ("rejection_pending", "confirm_rejection", "rejected")],
                 "rejection_pending": [("submitted", "start_review", "in_review"),
                                       ("in_review", "propose_rejection", "rejection_pending")],
                 "withdrawn": [("submitted", "withdraw", "withdrawn")],
                 "needs_more_info": [("submitted", "start_review", "in_review"),
                                     ("in_review", "request_info", "needs_more_info")]}[state]
        for i, (src, trigger, dst) in enumerate(steps):
            history.append({"entity_type": "kyc_case", "entity_id": str(case_id), "from_state": src,
                            "to_state": dst, "trigger": trigger, "actor": f"user:{reviewer}", "reason": "",
                            "created_at": queued + timedelta(minutes=i + 1)})
        if state != "submitted" and rng.random() < 0.5:
            audit.append({"case_id": case_id, "actor": f"user:{reviewer}", "action": "document_viewed",
                          "detail": "viewed the front of submission 1", "created_at": queued + timedelta(minutes=2)})
    _insert(KycCase.__table__, cases)
    _insert(KycSubmission.__table__, submissions)
    _insert(KycDocument.__table__, documents)
    _insert(StateTransition.__table__, history)
    _insert(KycAuditEntry.__table__, audit)
    return reviewers


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--cases", type=int, default=100_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--samples", type=int, default=300, help="timed calls of each page")
    parser.add_argument("--racers", type=int, default=20, help="reviewers claiming one case at once")
    args = parser.parse_args()

    url = use_scratch_database(args.database_url, SCRATCH_DB)
    from sqlalchemy import select, text

    from backend import db
    from backend.auth.acl import Actor, Role
    from backend.errors import Conflict
    from backend.kyc import review
    from backend.kyc.models import KycCase

    backend = db.get_engine().dialect.name
    rng = random.Random(14)
    started = time.perf_counter()
    reviewer_ids = fill(args.cases, rng)
    if backend == "postgresql":
        with db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    else:
        with db.get_engine().begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"filled {args.cases} cases in {time.perf_counter() - started:.1f} s on {backend}")

    def actor(user_id: int) -> Actor:
        return Actor(user_id=user_id, email=f"reviewer{user_id}@primsell.example.com",
                     roles={None: Role.KYC_REVIEWER}, session_id=f"bench-session-{user_id}")

    kim = actor(reviewer_ids[0])
    with db.session_scope() as session:
        case_ids = list(session.execute(select(KycCase.id)).scalars())
        open_count = session.execute(select(KycCase.id).where(text("state IN ('submitted', 'in_review', "
                                                                   "'rejection_pending')"))).scalars().all()
    first = review.list_cases(kim)
    print(f"open cases: {len(open_count)} (the page says {first.total}); first page oldest "
          f"{first.items[0].age if first.items else '-'}")

    for case_id in case_ids[:5]:  # a running server is warm (imports, the country table, prepared statements)
        review.get_case(kim, case_id)
    queue_ms: list[float] = []
    for _ in range(args.samples):
        t0 = time.perf_counter()
        review.list_cases(kim, status="open", limit=20, offset=0)
        queue_ms.append((time.perf_counter() - t0) * 1000)
    case_ms: list[float] = []
    for _ in range(args.samples):
        case_id = rng.choice(case_ids)
        t0 = time.perf_counter()
        detail = review.get_case(kim, case_id)
        case_ms.append((time.perf_counter() - t0) * 1000)
    print(f"queue page: p50={statistics.median(queue_ms):.1f} ms p99={p99(queue_ms):.1f} ms max={max(queue_ms):.1f}")
    print(f"case page:  p50={statistics.median(case_ms):.1f} ms p99={p99(case_ms):.1f} ms max={max(case_ms):.1f} "
          f"(last: {len(detail.submissions)} submission(s), {len(detail.history)} history rows)")

    # The claim race: one waiting case, N reviewers released at once.
    with db.session_scope() as session:
        target = session.execute(select(KycCase.id).where(KycCase.state == "submitted").limit(1)).scalar_one()
    barrier = threading.Barrier(args.racers)
    winners: list[int] = []
    lost: list[str] = []
    errors: list[str] = []

    def race(user_id: int) -> None:
        barrier.wait()
        try:
            review.claim(actor(user_id), target)
            winners.append(user_id)
        except Conflict as exc:
            lost.append(exc.code)
        except Exception as exc:  # noqa: BLE001 - counted and printed
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=race, args=(uid,)) for uid in reviewer_ids[:args.racers]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with db.session_scope() as session:
        holder = session.get(KycCase, target).claimed_by  # type: ignore[union-attr]
    print(f"claim race on case {target}: {len(winners)} winner(s), {len(lost)} refused, {len(errors)} errors "
          f"{errors[:1]}; holder {holder} (winner {winners[0] if winners else '-'})")
    db.set_engine(None)
    drop_scratch_database(url, SCRATCH_DB)
    print(f"queue_page_p99_ms={p99(queue_ms):.1f} case_page_p99_ms={p99(case_ms):.1f} claim_winners={len(winners)}")
    return 0 if len(winners) == 1 and not errors and holder == winners[0] else 1


if __name__ == "__main__":
    sys.exit(main())
