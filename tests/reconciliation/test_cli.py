"""`python -m backend reconcile [--since DATE]` and the reconciler daemon: a summary, non-zero when there are
exceptions, a clear error for a bad date; the daemon runs under its lease and records the run."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.__main__ import main
from backend.db import session_scope
from backend.operations.models import JobRun, RunOutcome
from backend.reconciliation.models import ReconciliationRun, RunTrigger
from jobs.registry import BY_NAME
from jobs.runner import run_once
from tests.chain.helpers import ChainUnderTest, People
from tests.reconciliation.support import open_shop


def test_the_command_prints_a_summary_and_fails_on_exceptions(client, anvil: ChainUnderTest, people: People,
                                                              configure, capsys) -> None:  # type: ignore[no-untyped-def]
    shop = open_shop(anvil, people, configure)
    order = shop.buy(2)
    shop.mint_all()
    assert main(["reconcile", "--since", "2020-01-01"]) == 0
    out = capsys.readouterr().out
    assert "clean" in out and "orders: 1 paid, 1 minted, 0 refunded, 0 in flight, 0 exception(s)" in out
    assert "USD: money in $50.00 (orders say $50.00)" in out and "tokens sold 2, minted 2, on chain 2" in out

    shop.direct_mint(order.wallet_address)
    assert main(["reconcile"]) == 1
    out = capsys.readouterr().out
    assert f"EXCEPTION minted_twice [order {order.id}]: 3 tokens on chain for an order of 2" in out


def test_a_date_that_is_not_one_is_refused(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exited:
        main(["reconcile", "--since", "last tuesday"])
    assert exited.value.code == 2
    assert "not a date: 'last tuesday'" in capsys.readouterr().err


def test_a_window_starting_in_the_future_is_refused(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["reconcile", "--since", "2999-01-01"]) == 2
    assert "in the future" in capsys.readouterr().err


def test_the_reconciler_daemon_runs_under_its_lease_and_records_the_run(client, anvil: ChainUnderTest,
                                                                         people: People, configure) -> None:  # type: ignore[no-untyped-def]
    shop = open_shop(anvil, people, configure)
    shop.buy(1)
    shop.mint_all()
    daemon = BY_NAME["reconciler"]
    assert daemon.schedule == "every 24 h"
    result = run_once(daemon.name, daemon.run, holder="test-runner", lease_s=60, every_s=daemon.every_s)
    assert result.ran and result.outcome is RunOutcome.OK and result.items == 1
    with session_scope() as session:
        run = session.execute(select(ReconciliationRun)).scalars().one()
        assert run.trigger is RunTrigger.NIGHTLY and run.orders_checked == 1
        assert session.execute(select(JobRun.job_name)).scalars().all() == ["reconciler"]
