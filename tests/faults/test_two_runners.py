"""Two processes dispatching mints and signing, sending and confirming transactions with the same platform signer at
the same time, on one database and one anvil: no nonce used twice or skipped, nothing minted twice, every request
minted. tests/chain/test_faults.py does this with two threads of one process; here they are two processes (each its
own connection pool and web3 client), running the passes back to back without the daemons' leases, which is what
two runners do when a lease lapses under a slow holder; and then as two real `python -m jobs` runners.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select

from backend.db import session_scope
from backend.operations.models import JobRun
from tests.chain.helpers import (
    ChainUnderTest,
    People,
    add_mints,
    all_settled,
    assert_each_minted_once,
    deploy_campaign,
    mint_txs,
    new_address,
    transactions,
)
from tests.faults.support import ROOT, mints_on_chain, total_supply, wait_for

PASS_RUNNER = Path(__file__).with_name("pass_runner.py")
REQUESTS = 40
RUNNER_REQUESTS = 21  # 7 airdrops of 3: real runners take a turn per tick, so fewer than the lease-less processes
TIMEOUT_S = 180


def _assert_nonces_and_chain(chain: ChainUnderTest, contract: str, wallets: list[str]) -> None:
    """Each wallet's one token minted once (rows and chain agree), and the signer's nonces 0..n-1 each used once."""
    assert_each_minted_once(chain, contract, {f"order:{i}": (w, 1) for i, w in enumerate(wallets)})
    nonces = sorted(t.nonce for t in transactions())  # type: ignore[type-var]
    assert nonces == list(range(len(nonces))), f"nonces reused or skipped: {nonces}"
    on_chain = mints_on_chain(chain.w3, contract)
    assert {w: len(t) for w, t in on_chain.items()} == {w: 1 for w in wallets}
    assert total_supply(chain.w3, contract) == len(wallets)
    # Every signed transaction went to the chain with its own nonce: the node's count for the signer is ours.
    signer = transactions()[0].from_address
    assert chain.w3.eth.get_transaction_count(signer) == len(nonces)  # type: ignore[arg-type]


def test_two_processes_share_one_signer_without_nonce_reuse_or_double_mint(
        chain_env: ChainUnderTest, people: People, configure, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    campaign, contract = deploy_campaign(chain_env, people)
    wallets = [new_address(chain_env.w3) for _ in range(REQUESTS)]
    add_mints(campaign.id, [(f"order:{i}", w, 1) for i, w in enumerate(wallets)])
    go = tmp_path / "go"
    runners = [subprocess.Popen([sys.executable, str(PASS_RUNNER), str(go), str(TIMEOUT_S)], cwd=ROOT,
                                env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    outputs: list[str] = []
    try:
        for runner in runners:  # both imported, then both go at once
            assert runner.stdout is not None
            assert runner.stdout.readline().strip() == "ready", runner.stdout.read()
        go.touch()
        for runner in runners:
            out, _ = runner.communicate(timeout=TIMEOUT_S + 60)
            outputs.append(out)
    finally:
        for runner in runners:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
    assert [r.returncode for r in runners] == [0, 0], outputs
    print("passes dispatched signed confirmed per process:", [o.strip().splitlines()[-1] for o in outputs])
    assert all(int(o.strip().splitlines()[-1].split()[2]) > 0 for o in outputs), f"one process did nothing: {outputs}"
    _assert_nonces_and_chain(chain_env, contract, wallets)
    assert len(mint_txs()) == 14  # 40 requests, 3 per transaction


def test_two_job_runners_mint_each_request_once(chain_env: ChainUnderTest, people: People, configure,  # type: ignore[no-untyped-def]
                                                tmp_path: Path) -> None:
    campaign, contract = deploy_campaign(chain_env, people)
    configure(MINT_BATCH_SIZE=3, MINT_DISPATCH_MAX_REQUESTS=3)
    wallets = [new_address(chain_env.w3) for _ in range(RUNNER_REQUESTS)]
    add_mints(campaign.id, [(f"order:{i}", w, 1) for i, w in enumerate(wallets)])
    log = tmp_path / "runners.log"
    command = [sys.executable, "-m", "jobs", "--only", "mint_dispatcher,tx_monitor", "--every", "0.2",
               "--lease-seconds", "10"]
    runners = []
    with log.open("ab") as out:
        for _ in range(2):
            runners.append(subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stdout=out,
                                            stderr=subprocess.STDOUT))
    try:
        # Both runners up as well: on a loaded machine one runner can mint everything while the other is still
        # importing, and a SIGTERM before its handler is installed ends it with -15 instead of a clean stop.
        wait_for(lambda: log.read_text().count(" started: ") == 2 and all_settled()
                 and all(t.state.value == "confirmed" for t in transactions()), TIMEOUT_S,
                 "both runners started and every mint request settled", log, poll=0.2)
    finally:
        for runner in runners:
            if runner.poll() is None:
                runner.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        for runner in runners:
            try:
                runner.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                runner.kill()
                runner.wait()
    assert [r.returncode for r in runners] == [0, 0], log.read_text()[-4000:]
    _assert_nonces_and_chain(chain_env, contract, wallets)
    with session_scope() as session:
        runs = session.execute(select(JobRun.job_name, JobRun.holder, JobRun.started_at, JobRun.finished_at)
                               .order_by(JobRun.job_name, JobRun.started_at, JobRun.id)).all()
    print(f"{len(runs)} runs by {len({r[1] for r in runs})} runners")
    for earlier, later in pairwise(runs):  # each daemon in one runner at a time
        if earlier[0] == later[0]:
            assert earlier[3] is not None and later[2] >= earlier[3], f"overlap: {earlier} / {later}"
