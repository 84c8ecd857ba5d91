"""The finish-hook table says, for every kind of chain transaction, what its end does (or why nothing does)."""

from __future__ import annotations

from backend.chain.finish_hooks import FINISH_HOOKS, WITHOUT_FINISH_STEP
from backend.chain.models import TxPurpose


def test_every_transaction_purpose_has_a_finish_step_or_a_reason_for_none() -> None:
    assert not set(FINISH_HOOKS) & set(WITHOUT_FINISH_STEP)
    assert set(FINISH_HOOKS) | set(WITHOUT_FINISH_STEP) == set(TxPurpose)
    assert all(reason.strip() for reason in WITHOUT_FINISH_STEP.values())
