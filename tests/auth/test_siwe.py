"""Sign-In with Ethereum: a wallet signs this site's message and is let in once; reused nonces, other domains, other
chains, altered or expired messages and wrong signers are refused; contract wallets answer through EIP-1271."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from web3 import EthereumTesterProvider, Web3

from backend.auth import siwe
from backend.chain.client import use_web3
from backend.db import utcnow
from backend.errors import NotAuthenticated
from contracts.artifacts import load_artifact
from tests.chain.helpers import anvil_chain, evm_chain
from tests.contracts.conftest import Chain

KEY = "0x" + "11" * 32
ACCOUNT = Account.from_key(KEY)


@pytest.fixture(autouse=True)
def site(configure):  # type: ignore[no-untyped-def]
    configure(PRIMSELL_PUBLIC_URL="https://shop.example.com", CHAIN_ID=31337)


def _signed(message: siwe.SiweMessage, key: str = KEY) -> tuple[str, str]:
    text = message.text()
    return text, Account.sign_message(encode_defunct(text=text), private_key=key).signature.hex()


def _fresh(**changes) -> siwe.SiweMessage:  # type: ignore[no-untyped-def]
    nonce, _ = siwe.issue_nonce()
    message = siwe.build_message(ACCOUNT.address, nonce)
    return siwe.SiweMessage(**{**message.__dict__, **changes})


def test_message_round_trips_through_the_parser():
    message = _fresh(resources=("https://shop.example.com/terms",), request_id="42")
    text = message.text()
    assert text.startswith("https://shop.example.com wants you to sign in with your Ethereum account:\n"
                           f"{ACCOUNT.address}\n\n{siwe.STATEMENT}\n\nURI: https://shop.example.com/redeem\n")
    assert siwe.parse(text) == message
    bare = siwe.SiweMessage(domain="shop.example.com", address=ACCOUNT.address, uri="https://shop.example.com",
                            chain_id=1, nonce="abcdefgh12", issued_at="2026-12-05T10:00:00Z")
    assert "account:\n" + ACCOUNT.address + "\n\n\nURI:" in bare.text()
    assert siwe.parse(bare.text()) == bare


def test_a_signed_message_verifies_once():
    text, signature = _signed(_fresh())
    assert siwe.verify(text, signature) == ACCOUNT.address
    with pytest.raises(siwe.SiweError, match="already used"):
        siwe.verify(text, signature)


@pytest.mark.parametrize(("changes", "error"), [
    ({"domain": "evil.example.com"}, "not this site"),
    ({"scheme": "http"}, "scheme"),
    ({"uri": "https://evil.example.com/redeem"}, "URI"),
    ({"chain_id": 1}, "chain 1"),
    ({"expiration_time": (utcnow() - timedelta(seconds=1)).isoformat()}, "expired"),
    ({"issued_at": (utcnow() + timedelta(hours=1)).isoformat()}, "future"),
    ({"nonce": "neverissued1"}, "already used or has expired"),
])
def test_messages_for_another_site_chain_time_or_nonce_are_refused(changes, error):
    text, signature = _signed(_fresh(**changes))
    with pytest.raises(siwe.SiweError, match=error):
        siwe.verify(text, signature)


def test_an_altered_message_or_another_signer_is_refused_and_keeps_the_nonce():
    message = _fresh()
    text, signature = _signed(message)
    with pytest.raises(siwe.SiweError, match="does not match"):
        siwe.verify(text.replace(siwe.STATEMENT, "Send all my tokens away."), signature)
    _, other_signature = _signed(message, key="0x" + "22" * 32)
    with pytest.raises(siwe.SiweError, match="does not match"):
        siwe.verify(text, other_signature)
    assert siwe.verify(text, signature) == ACCOUNT.address  # failed tries did not burn the holder's nonce


def test_an_expired_nonce_is_refused():
    text, signature = _signed(_fresh(expiration_time=None))  # the message itself would never expire
    with pytest.raises(siwe.SiweError, match="already used or has expired"):
        siwe.verify(text, signature, now=utcnow() + timedelta(minutes=11))


@pytest.mark.parametrize("text", [
    "hello", "shop.example.com wants you to sign in with your Ethereum account:\n0xabc\n\n\nURI: x",
])
def test_garbage_is_refused(text):
    with pytest.raises(siwe.SiweError):
        siwe.parse(text)


def test_lowercase_address_is_refused():
    message = _fresh()
    with pytest.raises(siwe.SiweError, match="EIP-55"):
        siwe.parse(message.text().replace(ACCOUNT.address, ACCOUNT.address.lower()))


def _deploy(w3: Web3, runtime: str) -> str:
    init = f"60{len(runtime) // 2:02x}80600b6000396000f3" + runtime
    tx = w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": "0x" + init})
    return w3.eth.get_transaction_receipt(tx)["contractAddress"]


def test_contract_wallets_are_asked_through_eip1271(configure):
    w3 = Web3(EthereumTesterProvider())
    configure(CHAIN_ID=w3.eth.chain_id)
    # Runtime code answering every call with 0x1626ba7e (valid) or 0xffffffff (invalid), left-aligned in a word.
    accepting = _deploy(w3, "631626ba7e60e01b60005260206000f3")
    refusing = _deploy(w3, "63ffffffff60e01b60005260206000f3")
    with use_web3("local", w3):
        nonce, _ = siwe.issue_nonce()
        text = siwe.build_message(accepting, nonce).text()
        assert siwe.verify(text, "0x" + "ab" * 70) == accepting
        nonce, _ = siwe.issue_nonce()
        text = siwe.build_message(refusing, nonce).text()
        with pytest.raises(siwe.SiweError, match="does not match"):
            siwe.verify(text, "0x" + "ab" * 70)


def _erc6492(factory, owner: str, salt: bytes, inner: bytes) -> str:  # type: ignore[no-untyped-def]
    """A smart wallet's signature in ERC-6492's wrapping: the factory, the call that deploys the wallet, the wallet's
    own signature, and the suffix."""
    deploy = bytes.fromhex(factory.encode_abi("deploy", args=[owner, salt]).removeprefix("0x"))
    return "0x" + (abi_encode(["address", "bytes", "bytes"], [factory.address, deploy, inner])
                   + siwe.ERC6492_SUFFIX).hex()


@pytest.fixture(params=["evm", "anvil"])
def node(request: pytest.FixtureRequest) -> Iterator[Web3]:
    """A real chain: the in-process EVM, and anvil (a node's eth_call without `to`, as production makes it)."""
    under_test = evm_chain() if request.param == "evm" else anvil_chain()
    yield under_test.w3
    if under_test.node is not None:
        under_test.node.stop()


def test_a_smart_wallet_not_deployed_yet_signs_in_through_erc6492(configure, node: Web3):
    w3 = node
    configure(CHAIN_ID=w3.eth.chain_id)
    factory = Chain(w3).deploy("WalletFactory")
    salt = b"\x07" * 32
    wallet = factory.functions.addressOf(ACCOUNT.address, salt).call()
    assert w3.eth.get_code(wallet) == b""
    intruder = Account.from_key("0x" + "33" * 32)
    with use_web3("local", w3):
        nonce, _ = siwe.issue_nonce()
        text = siwe.build_message(wallet, nonce).text()
        signed = ACCOUNT.unsafe_sign_hash(defunct_hash_message(text=text)).signature
        assert siwe.verify(text, _erc6492(factory, ACCOUNT.address, salt, signed)) == wallet
        assert w3.eth.get_code(wallet) == b""  # the check deployed it inside an eth_call only: nothing was sent

        nonce, _ = siwe.issue_nonce()
        text = siwe.build_message(wallet, nonce).text()
        forged = intruder.unsafe_sign_hash(defunct_hash_message(text=text)).signature
        with pytest.raises(siwe.SiweError, match="does not match"):  # the wallet's owner did not sign it
            siwe.verify(text, _erc6492(factory, ACCOUNT.address, salt, forged))
        with pytest.raises(siwe.SiweError, match="does not match"):  # a wrapping that deploys another wallet
            siwe.verify(text, _erc6492(factory, intruder.address, salt, forged))
        with pytest.raises(siwe.SiweError, match="does not match"):  # not ERC-6492's encoding: the call reverts
            siwe.verify(text, "0x" + ("ab" * 40) + siwe.ERC6492_SUFFIX.hex())

        factory.functions.deploy(ACCOUNT.address, salt).transact({"from": w3.eth.accounts[0]})
        assert w3.eth.get_code(wallet) != b""  # deployed since: the same wrapping is answered by the wallet itself
        signed = ACCOUNT.unsafe_sign_hash(defunct_hash_message(text=text)).signature
        assert siwe.verify(text, _erc6492(factory, ACCOUNT.address, salt, signed)) == wallet


def test_a_deployed_smart_wallet_that_refuses_is_prepared_by_the_wrapping_then_asked_again(configure, node: Web3):
    """ERC-6492's "prepare": the wallet is on chain, but not up to date (its owner changed elsewhere); the wrapping's
    call brings it up to date inside the check, and the wallet is asked once more. Nothing is sent."""
    w3 = node
    configure(CHAIN_ID=w3.eth.chain_id)
    factory = Chain(w3).deploy("WalletFactory")
    salt = b"\x09" * 32
    wallet = factory.functions.addressOf(ACCOUNT.address, salt).call()
    factory.functions.deploy(ACCOUNT.address, salt).transact({"from": w3.eth.accounts[0]})
    new_owner, stranger = Account.from_key("0x" + "55" * 32), Account.from_key("0x" + "66" * 32)

    def handed_over(to: str, inner: bytes) -> str:
        call = bytes.fromhex(factory.encode_abi("handOver", args=[wallet, to]).removeprefix("0x"))
        return "0x" + (abi_encode(["address", "bytes", "bytes"], [factory.address, call, inner])
                       + siwe.ERC6492_SUFFIX).hex()

    with use_web3("local", w3):
        nonce, _ = siwe.issue_nonce()
        text = siwe.build_message(wallet, nonce).text()
        signed = new_owner.unsafe_sign_hash(defunct_hash_message(text=text)).signature
        with pytest.raises(siwe.SiweError, match="does not match"):  # a wrapping that prepares nothing useful
            siwe.verify(text, handed_over(stranger.address, signed))
        with pytest.raises(siwe.SiweError, match="does not match"):  # the plain wrapping: CREATE2 again fails
            siwe.verify(text, _erc6492(factory, ACCOUNT.address, salt, signed))
        assert siwe.verify(text, handed_over(new_owner.address, signed)) == wallet
    owner = w3.eth.contract(address=wallet, abi=load_artifact("OwnedWallet")["abi"]).functions.owner().call()
    assert owner == ACCOUNT.address  # the hand-over happened inside the eth_call only


def test_wallet_proofs_vouch_until_they_expire_and_cannot_be_altered():
    token, _ = siwe.wallet_proof(ACCOUNT.address)
    assert siwe.proven_address(token) == ACCOUNT.address
    other = Account.from_key("0x" + "22" * 32).address
    with pytest.raises(NotAuthenticated):
        siwe.proven_address(token.replace(ACCOUNT.address, other))
    expired, _ = siwe.wallet_proof(ACCOUNT.address, ttl_s=-1)
    with pytest.raises(NotAuthenticated, match="expired"):
        siwe.proven_address(expired)


class _CountingProvider(EthereumTesterProvider):
    """The in-process EVM, counting the calls made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def make_request(self, method, params):  # type: ignore[no-untyped-def]
        self.calls.append(str(method))
        return super().make_request(method, params)


def test_a_made_up_nonce_is_refused_before_the_node_is_asked_about_a_contract_wallet(configure):
    provider = _CountingProvider()
    w3 = Web3(provider)
    configure(CHAIN_ID=w3.eth.chain_id)
    accepting = _deploy(w3, "631626ba7e60e01b60005260206000f3")
    text = siwe.build_message(accepting, "neverissued1").text()
    with use_web3("local", w3):
        provider.calls.clear()
        with pytest.raises(siwe.SiweError, match="already used or has expired"):
            siwe.verify(text, "0x" + "ab" * 70)
    assert not [c for c in provider.calls if c in ("eth_getCode", "eth_call")]


@pytest.mark.parametrize("node", ["anvil"], indirect=True)  # the in-process EVM would spin 5M gas slowly
def test_a_factory_that_never_returns_costs_the_node_a_capped_call_and_is_refused(configure, monkeypatch, node: Web3):
    w3 = node
    calls: list[dict] = []
    make_request = w3.provider.make_request

    def recording(method, params):  # type: ignore[no-untyped-def]
        if method == "eth_call":
            calls.append(params[0])
        return make_request(method, params)

    monkeypatch.setattr(w3.provider, "make_request", recording)
    configure(CHAIN_ID=w3.eth.chain_id)
    spinning = _deploy(w3, "5b600056")  # JUMPDEST PUSH1 0 JUMP: loops until its gas runs out
    wallet = Account.from_key("0x" + "44" * 32).address  # no code: the factory would have to deploy it
    wrapped = "0x" + (abi_encode(["address", "bytes", "bytes"], [spinning, b"\x01", b"\x02" * 65])
                      + siwe.ERC6492_SUFFIX).hex()
    with use_web3("local", w3):
        nonce, _ = siwe.issue_nonce()
        with pytest.raises(siwe.SiweError, match="does not match"):
            siwe.verify(siwe.build_message(wallet, nonce).text(), wrapped)
    assert [int(call["gas"], 16) for call in calls] == [siwe.ERC6492_CALL_GAS]  # one call, its gas capped
