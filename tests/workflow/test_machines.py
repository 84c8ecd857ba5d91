"""Every (state, trigger) pair of every machine is allowed or refused exactly as the expected tables say."""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

import pytest

from backend.workflow.machine import IllegalTransition, Machine, MachineDefinitionError
from backend.workflow.machines import MACHINES


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    """Overrides the suite's per-test table emptying: these tests touch no database (and are ~300)."""
    yield


# Written out independently of the machines' own tables: a change to a machine must change this too.
EXPECTED = {
    "order": """
        created request_payment awaiting_payment
        created pay paid
        created refuse_payment refund_pending
        created expire expired
        awaiting_payment pay paid
        awaiting_payment fail_payment payment_failed
        awaiting_payment refuse_payment refund_pending
        awaiting_payment expire expired
        payment_failed request_payment awaiting_payment
        payment_failed pay paid
        payment_failed refuse_payment refund_pending
        payment_failed expire expired
        expired refuse_payment refund_pending
        paid start_mint minting
        paid request_refund refund_pending
        paid dispute disputed
        minting confirm_mint minted
        minting request_refund refund_pending
        minting dispute disputed
        minted fulfil fulfilled
        minted request_refund refund_pending
        minted dispute disputed
        fulfilled request_refund refund_pending
        fulfilled dispute disputed
        refund_pending confirm_refund refunded
        refund_pending dispute disputed
        disputed win_dispute fulfilled
        disputed win_dispute_unminted paid
        disputed win_dispute_refund refund_pending
        disputed lose_dispute refunded
    """,
    "contract": """
        draft request_deploy deploy_requested
        deploy_requested start_deploy deploying
        deploy_requested cancel draft
        deploying confirm_deploy deployed
        deploying fail_deploy failed
        failed retry deploy_requested
        failed edit draft
    """,
    "reward": """
        active end ended
    """,
    "reward_vault": """
        requested start_deploy deploying
        deploying confirm_deploy deployed
        deploying fail_deploy failed
        failed retry requested
    """,
    "reward_period": """
        due allocate allocating
        due close_empty empty
        allocating confirm allocated
        allocating fail failed
        failed retry allocating
    """,
    "kyc_case": """
        submitted start_review in_review
        submitted withdraw withdrawn
        submitted reject rejected
        submitted propose_rejection rejection_pending
        submitted provider_approve approved
        submitted provider_request_changes needs_more_info
        in_review take_over in_review
        in_review approve approved
        in_review reject rejected
        in_review propose_rejection rejection_pending
        in_review request_info needs_more_info
        in_review release submitted
        in_review withdraw withdrawn
        in_review provider_approve approved
        in_review provider_request_changes needs_more_info
        rejection_pending claim_for_confirmation rejection_pending
        rejection_pending confirm_rejection rejected
        rejection_pending dismiss_rejection in_review
        needs_more_info resubmit submitted
        needs_more_info withdraw withdrawn
        needs_more_info provider_approve approved
        needs_more_info propose_rejection rejection_pending
        needs_more_info reject rejected
        approved revoke rejected
    """,
}


def _expected(name: str) -> dict[tuple[str, str], str]:
    rows = [line.split() for line in EXPECTED[name].strip().splitlines()]
    return {(s, t): to for s, t, to in rows}


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for name, machine in MACHINES.items():
        triggers = sorted({t for (_, t) in _expected(name)} | set(machine.triggers) | {"bogus"})
        cases += [(name, state.value, trigger) for state in machine.states for trigger in triggers]
    return cases


def test_every_machine_has_an_expected_table() -> None:
    assert set(MACHINES) == set(EXPECTED)


@pytest.mark.parametrize(("machine_name", "state", "trigger"), _cases())
def test_transition_allowed_or_refused_as_the_table_says(machine_name: str, state: str, trigger: str) -> None:
    machine = MACHINES[machine_name]
    expected = _expected(machine_name).get((state, trigger))
    if expected is None:
        with pytest.raises(IllegalTransition) as info:
            machine.next_state(state, trigger)
        assert machine_name in info.value.message and state in info.value.message and trigger in info.value.message
        assert not machine.allowed(state, trigger)
    else:
        assert machine.next_state(state, trigger).value == expected
        assert machine.allowed(state, trigger)


class _S(StrEnum):
    A = "a"
    B = "b"
    C = "c"


@pytest.mark.parametrize(
    ("transitions", "final", "problem"),
    [
        ({(_S.A, "go"): _S.B}, [_S.B], "unreachable state(s): c"),
        ({(_S.A, "go"): _S.B, (_S.B, "go"): _S.C, (_S.C, "back"): _S.A}, [_S.C], "final state 'c' has an exit"),
        ({(_S.A, "go"): _S.B, (_S.A, "skip"): _S.C}, [_S.C], "non-final state(s) without exits: b"),
    ],
)
def test_inconsistent_machine_is_refused_when_defined(transitions, final, problem) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MachineDefinitionError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        Machine("broken", _S, initial=_S.A, transitions=transitions, final=final)


def test_docs_table_is_generated_from_the_machine() -> None:
    markdown = MACHINES["kyc_case"].as_markdown()
    assert "| in_review | approve | approved |" in markdown
