"""contracts.errors decodes reverts to ABI error names from both node shapes: eth-tester and anvil."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from eth_abi import encode
from web3 import Web3
from web3.exceptions import ContractCustomError

from contracts.artifacts import load_artifact
from contracts.errors import decode_revert, error_selectors, revert_data, revert_name

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
COLLECTION_ABI = load_artifact("PrimsellCollection")["abi"]
VAULT_ABI = load_artifact("RewardVault")["abi"]


def selector(signature: str) -> bytes:
    return bytes(Web3.keccak(text=signature)[:4])


def test_in_process_evm_revert_decodes_to_the_custom_error(chain, accounts):
    small = chain.deploy_collection(max_supply=2)
    err = chain.expect_revert(small.functions.mintTo(accounts.alice, 3), accounts.minter, small.abi)
    assert err.name == "CollectionSoldOut"
    assert err.args == {"requested": 3, "remaining": 2}
    assert err.selector == "0x" + selector("CollectionSoldOut(uint256,uint256)").hex()


def test_errors_without_arguments_and_view_calls_decode_too(chain, collection, accounts):
    from eth_tester.exceptions import TransactionFailed

    with pytest.raises(TransactionFailed) as info:
        collection.functions.unpause().call({"from": accounts.admin})
    assert revert_name(info.value, COLLECTION_ABI) == "CollectionNotPaused"
    with pytest.raises(TransactionFailed) as info:
        collection.functions.ownerOf(99).call()
    decoded = decode_revert(info.value, COLLECTION_ABI)
    assert (decoded.name, decoded.args) == ("ERC721NonexistentToken", {"tokenId": 99})


def test_raw_bytes_hex_and_several_abis():
    data = selector("VaultNothingToClaim(address,address)") + encode(
        ["address", "address"], ["0x" + "00" * 20, "0x" + "ab" * 20]
    )
    both = [COLLECTION_ABI, VAULT_ABI]
    decoded = decode_revert(data, both)
    assert decoded.name == "VaultNothingToClaim"
    assert decoded.args["holder"] == Web3.to_checksum_address("0x" + "ab" * 20)
    assert decode_revert("0x" + data.hex(), both).name == "VaultNothingToClaim"
    assert decode_revert(data, COLLECTION_ABI).name is None  # not this contract's error
    assert decode_revert(b"", COLLECTION_ABI).name is None  # bare revert()
    assert selector("CollectionPaused()") in error_selectors(both)


def test_builtin_error_string_and_panic_decode():
    message = selector("Error(string)") + encode(["string"], ["nope"])
    assert decode_revert(message, []).args == {"message": "nope"}
    panic = decode_revert(selector("Panic(uint256)") + encode(["uint256"], [0x11]), [])
    assert (panic.name, panic.args) == ("Panic", {"code": 0x11})


def test_revert_data_reads_both_exception_shapes():
    data = selector("CollectionPaused()")
    web3_style = ContractCustomError("0x" + data.hex(), data="0x" + data.hex())
    assert revert_data(web3_style) == data
    tester_style = Exception(f"execution reverted: {data!r}")
    assert revert_data(tester_style) == data
    assert revert_name(web3_style, COLLECTION_ABI) == revert_name(tester_style, COLLECTION_ABI) == "CollectionPaused"
    assert decode_revert(Exception("execution reverted: out of stock"), []).args == {"message": "out of stock"}
    assert decode_revert(Exception("connection refused"), []).name is None


@pytest.fixture
def anvil_w3():
    if not ANVIL.exists():
        pytest.skip(f"anvil binary missing at {ANVIL} (run `npm ci`)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [str(ANVIL), "--port", str(port), "--host", "127.0.0.1", "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}", request_kwargs={"timeout": 10}))
        deadline = time.monotonic() + 10
        while True:
            try:
                if w3.is_connected():
                    break
            except Exception:  # noqa: BLE001 - anvil is still starting: poll again until the deadline
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("anvil did not start")
            time.sleep(0.02)
        yield w3
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_anvil_custom_error_decodes_to_the_same_name(anvil_w3):
    w3 = anvil_w3
    admin, minter, royalty, alice = w3.eth.accounts[:4]
    artifact = load_artifact("PrimsellCollection")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(
        factory.constructor("C", "C", 2, admin, minter, royalty, 250, "").transact({"from": admin})
    )
    collection = w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])

    with pytest.raises(ContractCustomError) as info:
        collection.functions.mintTo(alice, 3).transact({"from": minter})
    decoded = decode_revert(info.value, COLLECTION_ABI)
    assert (decoded.name, decoded.args) == ("CollectionSoldOut", {"requested": 3, "remaining": 2})

    with pytest.raises(ContractCustomError) as info:
        collection.functions.mintTo(alice, 1).call({"from": alice})
    decoded = decode_revert(info.value, COLLECTION_ABI)
    assert decoded.name == "AccessControlUnauthorizedAccount"
    assert decoded.args["account"] == alice
