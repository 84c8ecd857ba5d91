"""The loop at the service layer: submit -> the queue -> claim -> changes requested -> resubmit -> approve, with
history rows, emails, four eyes, automatic checks and withdrawal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from backend.auth.acl import Actor, Role
from backend.db import session_scope, utcnow
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.kyc import review, service
from backend.kyc.errors import CaseHeld, FourEyes
from backend.kyc.gates import kyc_status_for
from backend.kyc.models import KycCase
from backend.notifications.models import OutboundEmail
from backend.workflow.machines import KycState
from backend.workflow.transitions import history
from tests.factories import make_brand, make_user
from tests.kyc.support import case_of, document_rows, jpeg, reviewer, stored_files, submit


def _emails(to: str) -> list[str]:
    with session_scope() as session:
        return list(session.execute(select(OutboundEmail.subject).where(OutboundEmail.to_address == to)
                                    .order_by(OutboundEmail.id)).scalars())


def test_submit_review_request_changes_resubmit_approve() -> None:
    consumer = make_user()
    assert service.my_status(consumer).status == "none"
    status = submit(consumer)
    assert status.status == "submitted" and status.can_withdraw
    case = case_of(consumer)
    queue = review.list_cases(reviewer("kim@example.com"))
    assert [r.id for r in queue.items] == [case.id] and queue.items[0].sla == "green"

    kim = reviewer()
    claimed = review.claim(kim, case.id)  # type: ignore[arg-type]
    assert claimed.held_by == kim.email and service.my_status(consumer).status == "in_review"
    review.request_changes(kim, case.id, "The photo of the back is blurred: take it again in good light.")  # type: ignore[arg-type]
    mine = service.my_status(consumer)
    assert mine.status == "changes_requested" and "blurred" in mine.changes_requested and mine.can_resubmit
    assert mine.previous["document_number"] == "AB 123456"

    submit(consumer, files={"front": jpeg((1, 2, 3)), "back": jpeg((4, 5, 6)), "selfie": jpeg((7, 8, 9))})
    assert service.my_status(consumer).status == "submitted"
    assert review.list_cases(kim).items[0].id == case.id  # back in the queue
    review.claim(kim, case.id)  # type: ignore[arg-type]
    detail = review.get_case(kim, case.id)  # type: ignore[arg-type]
    assert [s.number for s in detail.submissions] == [2, 1] and detail.can_decide
    assert all(d.url.startswith("/api/v1/kyc/documents/") for s in detail.submissions for d in s.documents)
    review.approve(kim, case.id)  # type: ignore[arg-type]

    mine = service.my_status(consumer)
    assert mine.status == "approved" and mine.valid_until is not None
    assert mine.valid_until.date() == (utcnow() + timedelta(days=365)).date()
    assert kyc_status_for(consumer.user_id).verified
    steps = [(h.from_state, h.trigger, h.to_state) for h in history(reviewer(), "kyc_case", case.id)]  # type: ignore[arg-type]
    assert steps == [("submitted", "start_review", "in_review"), ("in_review", "request_info", "needs_more_info"),
                     ("needs_more_info", "resubmit", "submitted"), ("submitted", "start_review", "in_review"),
                     ("in_review", "approve", "approved")]
    assert all(h.actor.startswith("user:") for h in history(reviewer(), "kyc_case", case.id))  # type: ignore[arg-type]
    assert _emails(consumer.email) == ["Your identity check needs a change", "Your identity is verified"]


def test_a_second_reviewer_sees_who_holds_the_case_and_cannot_claim_or_decide_it() -> None:
    submit(make_user())
    case = review.list_cases(reviewer()).items[0]
    kim, ray = reviewer(), reviewer()
    review.claim(kim, case.id)
    with pytest.raises(CaseHeld, match=kim.email):
        review.claim(ray, case.id)
    with pytest.raises(CaseHeld, match=kim.email):
        review.approve(ray, case.id)
    assert review.list_cases(ray).items[0].held_by == kim.email
    assert not review.get_case(ray, case.id).can_claim


def test_a_claim_lapses_after_inactivity_and_another_reviewer_takes_it_over(configure) -> None:  # type: ignore[no-untyped-def]
    submit(make_user())
    case_id = review.list_cases(reviewer()).items[0].id
    kim, ray = reviewer(), reviewer()
    review.claim(kim, case_id)
    with session_scope() as session:  # 31 minutes without activity
        session.get(KycCase, case_id).claim_expires_at = utcnow() - timedelta(minutes=1)  # type: ignore[union-attr]
    assert review.list_cases(ray).items[0].held_by == ""
    review.claim(ray, case_id)
    with pytest.raises(CaseHeld, match=ray.email):
        review.approve(kim, case_id)
    assert [h.trigger for h in history(reviewer(), "kyc_case", case_id)] == ["start_review", "take_over"]


def test_a_rejection_waits_for_a_second_reviewer() -> None:
    consumer = make_user()
    submit(consumer)
    case_id = case_of(consumer).id
    kim, ray = reviewer(), reviewer()
    review.claim(kim, case_id)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed):
        review.reject(kim, case_id, "made_up_reason", "")  # type: ignore[arg-type]
    assert review.reject(kim, case_id, "selfie_mismatch", "Face does not match the card") == "rejection_pending"  # type: ignore[arg-type]
    assert service.my_status(consumer).status == "in_review"  # nothing final yet, nothing emailed
    assert _emails(consumer.email) == []
    with pytest.raises(FourEyes):
        review.claim(kim, case_id)  # type: ignore[arg-type]
    review.claim(ray, case_id)  # type: ignore[arg-type]
    review.confirm_rejection(ray, case_id)  # type: ignore[arg-type]
    mine = service.my_status(consumer)
    assert mine.status == "rejected" and mine.reject_reason == "The selfie does not match the document."
    assert "Face does not match" not in str(mine)  # the internal note stays internal
    assert _emails(consumer.email) == ["Your identity check was not approved"]
    steps = [(h.trigger, h.actor) for h in history(reviewer(), "kyc_case", case_id)]  # type: ignore[arg-type]
    assert steps[-3:] == [("propose_rejection", f"user:{kim.user_id}"),
                          ("claim_for_confirmation", f"user:{ray.user_id}"),
                          ("confirm_rejection", f"user:{ray.user_id}")]


def test_the_second_reviewer_may_send_a_rejection_back_to_review() -> None:
    consumer = make_user()
    submit(consumer)
    case_id = case_of(consumer).id
    kim, ray = reviewer(), reviewer()
    review.claim(kim, case_id)  # type: ignore[arg-type]
    review.reject(kim, case_id, "document_expired", "Expired in 2020")  # type: ignore[arg-type]
    review.claim(ray, case_id)  # type: ignore[arg-type]
    review.dismiss_rejection(ray, case_id, "It expires in 2030, not 2020")  # type: ignore[arg-type]
    review.approve(ray, case_id)  # type: ignore[arg-type]
    assert service.my_status(consumer).status == "approved"


def test_without_four_eyes_one_reviewer_rejects(configure) -> None:  # type: ignore[no-untyped-def]
    configure(KYC_FOUR_EYES="false")
    consumer = make_user()
    submit(consumer)
    kim = reviewer()
    review.claim(kim, case_of(consumer).id)  # type: ignore[arg-type]
    assert review.reject(kim, case_of(consumer).id, "data_mismatch", "Name differs") == "rejected"  # type: ignore[arg-type]


def _renewing(kim) -> Actor:  # type: ignore[no-untyped-def]
    """A consumer approved once, ten days before the approval runs out, with a renewal claimed by `kim`."""
    consumer = make_user()
    submit(consumer)
    review.claim(kim, case_of(consumer).id)  # type: ignore[arg-type]
    review.approve(kim, case_of(consumer).id)  # type: ignore[arg-type]
    with session_scope() as session:
        session.get(KycCase, case_of(consumer).id).valid_until = utcnow() + timedelta(days=10)  # type: ignore[union-attr]
    submit(consumer)
    assert kyc_status_for(consumer.user_id).verified  # a renewal waiting for review keeps the approval
    review.claim(kim, case_of(consumer).id)  # type: ignore[arg-type]
    return consumer


def test_a_rejected_renewal_ends_the_approval_it_would_have_renewed(configure) -> None:  # type: ignore[no-untyped-def]
    configure(KYC_FOUR_EYES="false")
    kim = reviewer()
    consumer = _renewing(kim)
    review.reject(kim, case_of(consumer).id, "data_mismatch", "The new document is not the same person")  # type: ignore[arg-type]
    standing = kyc_status_for(consumer.user_id)
    assert (standing.verified, standing.status) == (False, "rejected")
    submit(consumer)  # neither a new check nor withdrawing it brings the old approval back
    assert not kyc_status_for(consumer.user_id).verified
    service.withdraw(consumer)
    assert not kyc_status_for(consumer.user_id).verified


def test_a_renewal_refused_for_its_document_alone_keeps_the_approval(configure) -> None:  # type: ignore[no-untyped-def]
    configure(KYC_FOUR_EYES="false")
    kim = reviewer()
    consumer = _renewing(kim)
    review.reject(kim, case_of(consumer).id, "document_unreadable", "Blurred")  # type: ignore[arg-type]
    assert kyc_status_for(consumer.user_id).verified


@pytest.mark.parametrize(("fields", "reason"), [
    ({"country": "IR"}, "We cannot serve residents of your country or region."),
    ({"country": "UA", "region": "UA-43"}, "We cannot serve residents of your country or region."),
    ({"date_of_birth": (utcnow().date() - timedelta(days=17 * 365)).isoformat()},
     "You must be of legal age to be verified."),
], ids=["sanctioned_country", "occupied_region", "under_18"])
def test_automatic_checks_reject_before_a_human_looks(fields: dict, reason: str) -> None:
    consumer = make_user()
    submit(consumer, **fields)
    mine = service.my_status(consumer)
    assert mine.status == "rejected" and mine.reject_reason == reason
    assert history(reviewer(), "kyc_case", case_of(consumer).id)[-1].actor == "system:kyc-checks"  # type: ignore[arg-type]
    assert review.list_cases(reviewer()).total == 0  # nothing left for a human


def test_a_listed_country_with_listed_regions_must_say_the_region() -> None:
    with pytest.raises(ValidationFailed) as refused:
        submit(make_user(), country="UA")
    assert "region" in refused.value.fields and document_rows() == 0


def test_an_unlisted_region_of_the_same_country_is_reviewed() -> None:
    consumer = make_user()
    submit(consumer, country="UA", region="UA-30")  # Kyiv
    assert service.my_status(consumer).status == "submitted"


def test_the_same_document_number_on_another_account_flags_both_cases() -> None:
    first, second = make_user(), make_user()
    submit(first)
    submit(second, document_number="ab-123456")
    assert case_of(first).flag_list == ["duplicate_document"] and case_of(second).flag_list == ["duplicate_document"]
    flagged = review.list_cases(reviewer(), flag="duplicate_document")
    assert flagged.total == 2
    detail = review.get_case(reviewer(), case_of(second).id)  # type: ignore[arg-type]
    assert f"#{case_of(first).id}" in detail.flags[0]["detail"]


def test_withdrawing_deletes_the_documents_at_once() -> None:
    consumer = make_user()
    submit(consumer)
    assert len(stored_files()) == 3
    assert service.withdraw(consumer).status == "withdrawn"
    assert stored_files() == [] and case_of(consumer).documents_deleted_at is not None
    with pytest.raises(Exception, match="no pending"):
        service.withdraw(consumer)


def test_one_pending_check_at_a_time_and_no_new_one_while_verified() -> None:
    consumer = make_user()
    submit(consumer)
    with pytest.raises(Conflict, match="already waiting"):
        submit(consumer)
    kim = reviewer()
    review.claim(kim, case_of(consumer).id)  # type: ignore[arg-type]
    review.approve(kim, case_of(consumer).id)  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="already verified"):
        submit(consumer)


def test_bad_fields_are_named() -> None:
    with pytest.raises(ValidationFailed) as refused:
        submit(make_user(), country="XX", date_of_birth=date(2999, 1, 1).isoformat(), consent=False,
               document_number="!!")
    assert set(refused.value.fields) >= {"country", "date_of_birth", "consent", "document_number"}


def test_only_reviewers_reach_the_queue_and_cases() -> None:
    consumer = make_user()
    submit(consumer)
    case_id = case_of(consumer).id
    brand = make_brand()
    for outsider in (make_user(Role.BRAND_ADMIN, brand), make_user(Role.BRAND_STAFF, brand), make_user(),
                     make_user(Role.KYC_REVIEWER, brand)):  # a brand-scoped reviewer is not a platform reviewer
        for call in (lambda a: review.list_cases(a), lambda a: review.get_case(a, case_id),
                     lambda a: review.claim(a, case_id)):
            with pytest.raises(Forbidden):
                call(outsider)
    assert review.get_case(make_user(Role.PLATFORM_ADMIN), case_id).id == case_id  # type: ignore[arg-type]


def test_a_brand_admin_sees_only_whether_their_buyer_is_verified() -> None:
    from backend.orders import admin as admin_orders
    from backend.orders import service as orders
    from backend.orders.models import Order
    from tests.factories import make_campaign

    brand = make_brand()
    campaign = make_campaign(brand)
    consumer = make_user()
    started = orders.start_checkout(campaign.slug, 1, consumer.email, None, "10.0.0.1")
    admin = make_user(Role.BRAND_ADMIN, brand)
    with session_scope() as session:
        order_id = session.execute(select(Order.id).where(Order.public_id == started.public_id)).scalar_one()
    assert admin_orders.order_detail(admin, order_id).buyer_verified is False
    submit(consumer)
    kim = reviewer()
    review.claim(kim, case_of(consumer).id)  # type: ignore[arg-type]
    review.approve(kim, case_of(consumer).id)  # type: ignore[arg-type]
    assert admin_orders.order_detail(admin, order_id).buyer_verified is True
    other_brand_admin = make_user(Role.BRAND_ADMIN, make_brand())
    with pytest.raises(NotFound):  # another brand's order does not exist for them
        admin_orders.order_detail(other_brand_admin, order_id)


@pytest.mark.parametrize("subject_role", [Role.KYC_REVIEWER, Role.PLATFORM_ADMIN])
def test_a_reviewer_can_never_decide_their_own_identity_check(subject_role: Role) -> None:
    kim = reviewer() if subject_role is Role.KYC_REVIEWER else make_user(Role.PLATFORM_ADMIN)
    submit(kim)
    case_id = case_of(kim).id
    with pytest.raises(FourEyes, match="your own identity check"):
        review.claim(kim, case_id)  # type: ignore[arg-type]
    assert case_of(kim).state.value == "submitted" and case_of(kim).claimed_by is None
    ray = reviewer()
    assert review.list_cases(kim).total == 0  # the queue does not offer it to them
    assert [r.id for r in review.list_cases(ray).items] == [case_id]
    own = review.get_case(kim, case_id)  # type: ignore[arg-type]
    assert own.own_case and not (own.can_claim or own.can_decide or own.can_confirm_rejection)

    # Even holding it (a claim made before this rule, or by a race) they cannot decide it; they may hand it back.
    with session_scope() as session:
        case = session.get(KycCase, case_id)
        case.state, case.claimed_by, case.claimed_by_email = KycState.IN_REVIEW, kim.user_id, kim.email  # type: ignore[union-attr]
        case.claim_expires_at = utcnow() + timedelta(minutes=30)  # type: ignore[union-attr]
    for decide in (lambda: review.approve(kim, case_id), lambda: review.reject(kim, case_id, "other", "not me"),
                   lambda: review.request_changes(kim, case_id, "Take the photo again please.")):
        with pytest.raises(FourEyes, match="your own identity check"):
            decide()  # type: ignore[no-untyped-call]
    assert case_of(kim).state.value == "in_review"
    review.release(kim, case_id)  # type: ignore[arg-type]

    # Another reviewer proposes a rejection: its subject can neither claim, confirm nor dismiss it.
    review.claim(ray, case_id)  # type: ignore[arg-type]
    review.reject(ray, case_id, "document_expired", "Expired in 2020")  # type: ignore[arg-type]
    with pytest.raises(FourEyes, match="your own identity check"):
        review.claim(kim, case_id)  # type: ignore[arg-type]
    with session_scope() as session:
        case = session.get(KycCase, case_id)
        case.claimed_by, case.claimed_by_email = kim.user_id, kim.email  # type: ignore[union-attr]
        case.claim_expires_at = utcnow() - timedelta(minutes=1)  # type: ignore[union-attr]
    for decide in (lambda: review.confirm_rejection(kim, case_id),
                   lambda: review.dismiss_rejection(kim, case_id, "It is valid, trust me")):
        with pytest.raises(FourEyes, match="your own identity check"):
            decide()  # type: ignore[no-untyped-call]
    assert case_of(kim).state.value == "rejection_pending"

    # A third reviewer still decides it.
    sam = reviewer()
    review.claim(sam, case_id)  # type: ignore[arg-type]
    review.dismiss_rejection(sam, case_id, "It expires in 2030, not 2020")  # type: ignore[arg-type]
    review.approve(sam, case_id)  # type: ignore[arg-type]
    assert service.my_status(kim).status == "approved"
    kims = {h.trigger for h in history(reviewer(), "kyc_case", case_id) if h.actor == f"user:{kim.user_id}"}  # type: ignore[arg-type]
    assert kims == {"release"}  # handing it back is all they did


def test_a_reviewer_sees_their_own_identity_check_only_as_its_subject_does() -> None:
    """The subject of a case may not decide it, nor read what other reviewers wrote about it: a proposed rejection's
    internal note, the flags ("same document number as case #12"), the history with its reviewers and comments."""
    kim, ray = reviewer(), reviewer()
    submit(make_user())
    submit(kim)  # the same document number: flagged as a duplicate
    case_id = case_of(kim).id
    review.claim(ray, case_id)  # type: ignore[arg-type]
    review.reject(ray, case_id, "suspected_forgery", "Hologram missing; same doc number as #12")  # type: ignore[arg-type]
    assert review.get_case(ray, case_id).reject_note.startswith("Hologram missing")  # type: ignore[arg-type]

    own = review.get_case(kim, case_id)  # type: ignore[arg-type]
    assert own.own_case and (own.state, own.state_label) == ("in_review", service.my_status(kim).label)
    assert own.reject_note == own.reject_reason == own.reject_reason_text == own.rejection_proposed_by == ""
    assert own.flags == [] and own.history == [] and own.submissions == [] and own.other_cases == []
    assert not (own.can_claim or own.can_decide or own.can_confirm_rejection)

    sam = reviewer()
    review.claim(sam, case_id)  # type: ignore[arg-type]
    review.confirm_rejection(sam, case_id)  # type: ignore[arg-type]
    own = review.get_case(kim, case_id)  # type: ignore[arg-type]
    assert own.reject_reason_text == service.my_status(kim).reject_reason != "" and own.reject_note == ""
