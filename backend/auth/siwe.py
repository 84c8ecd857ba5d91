"""Sign-In with Ethereum (EIP-4361): build and parse the message, verify its signature (EIP-191 `personal_sign`
recovery with eth-account; EIP-1271 `isValidSignature` on chain for contract wallets; ERC-6492 for smart wallets not
deployed yet), and the server's single-use nonces. A verified message yields a short signed *wallet proof* that later
requests carry instead of signing again.

Why not the `siwe` package: siwe 4.4 pins web3 < 8 and its abnf dependency breaks on current releases (FORMATS.md
§5.2); the format is small enough to own here. The checks follow EIP-4361's verification steps: the message's
domain (and scheme, if given) must be this site's (PRIMSELL_PUBLIC_URL, never the request's Host header), its URI on
this site, version 1, the chain id ours; the nonce one we issued, unused and unexpired, and it is consumed atomically
(an UPDATE that only one request can win); the times (issued-at not in the future, not-before, expiration) hold.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from eth_utils import is_checksum_address, is_hex_address, to_checksum_address
from sqlalchemy import delete, select, update
from sqlmodel import Session

from backend.auth.ratelimit import limit_per_network
from backend.db import session_scope, utcnow
from backend.errors import DomainError, NotAuthenticated
from backend.rewards.models import SiweNonce
from backend.settings import get_settings
from contracts.artifacts import load_artifact

HEADER = " wants you to sign in with your Ethereum account:"
STATEMENT = "Sign in to see and use the rewards of your Primsell tokens."
ERC1271_MAGIC = bytes.fromhex("1626ba7e")
ERC1271_ABI = [{"type": "function", "name": "isValidSignature", "stateMutability": "view",
                "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
                "outputs": [{"name": "", "type": "bytes4"}]}]
ERC6492_SUFFIX = bytes.fromhex("6492" * 16)
# The node's work for one ERC-6492 check, whatever factory a signature names: a smart wallet's deployment and its
# EIP-1271 answer take well under a million gas (Coinbase's Smart Wallet ~300k).
ERC6492_CALL_GAS = 5_000_000
_NONCE_RE = re.compile(r"^[A-Za-z0-9]{8,32}$")
_CLOCK_SKEW = timedelta(minutes=2)
NONCE_SPENT = "This sign-in request was already used or has expired: sign a new one."


class SiweError(DomainError):
    """The message or its signature does not hold; the message says which part."""

    code = "siwe_invalid"
    status = 401


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: str
    version: str = "1"
    statement: str | None = None
    scheme: str | None = None
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = ()

    def text(self) -> str:
        """The message exactly as EIP-4361 lays it out (what the wallet shows and signs)."""
        prefix = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [prefix + HEADER, self.address, ""]
        if self.statement is not None:
            lines.append(self.statement)
        lines += ["", f"URI: {self.uri}", f"Version: {self.version}", f"Chain ID: {self.chain_id}",
                  f"Nonce: {self.nonce}", f"Issued At: {self.issued_at}"]
        for label, value in (("Expiration Time", self.expiration_time), ("Not Before", self.not_before),
                             ("Request ID", self.request_id)):
            if value is not None:
                lines.append(f"{label}: {value}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {resource}" for resource in self.resources]
        return "\n".join(lines)


def _time(value: str, label: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SiweError(f"The message's {label} is not an RFC 3339 time.") from None
    if parsed.tzinfo is None:
        raise SiweError(f"The message's {label} has no time zone.")
    return parsed


def parse(text: str) -> SiweMessage:
    """Parse an EIP-4361 message; SiweError naming what is wrong."""
    if len(text) > 4096:
        raise SiweError("The message is too long.")
    lines = text.split("\n")
    if len(lines) < 9 or not lines[0].endswith(HEADER):
        raise SiweError("This is not a Sign-In with Ethereum message.")
    origin = lines[0][: -len(HEADER)]
    scheme, _, domain = origin.rpartition("://") if "://" in origin else (None, "", origin)
    if not domain or any(c in domain for c in " /?#"):
        raise SiweError("The message's domain is malformed.")
    address = lines[1]
    if not is_hex_address(address) or not is_checksum_address(address):
        raise SiweError("The message's address must be an EIP-55 checksummed address.")
    if lines[2] != "":
        raise SiweError("The message is malformed after the address.")
    index = 3
    statement = None
    if lines[index] != "":
        statement = lines[index]
        index += 1
    if lines[index] != "":
        raise SiweError("The message is malformed after the statement.")
    index += 1
    fields: dict[str, str] = {}
    order = ["URI", "Version", "Chain ID", "Nonce", "Issued At"]
    for label in order:
        if index >= len(lines) or not lines[index].startswith(f"{label}: "):
            raise SiweError(f"The message lacks its {label} line.")
        fields[label] = lines[index][len(label) + 2:]
        index += 1
    optional: dict[str, str] = {}
    for label in ("Expiration Time", "Not Before", "Request ID"):
        if index < len(lines) and lines[index].startswith(f"{label}: "):
            optional[label] = lines[index][len(label) + 2:]
            index += 1
    resources: list[str] = []
    if index < len(lines) and lines[index] == "Resources:":
        index += 1
        while index < len(lines) and lines[index].startswith("- "):
            resources.append(lines[index][2:])
            index += 1
    if index != len(lines):
        raise SiweError("The message has unexpected lines at its end.")
    if fields["Version"] != "1":
        raise SiweError("Only version 1 of Sign-In with Ethereum is supported.")
    if not fields["Chain ID"].isdigit():
        raise SiweError("The message's chain id is not a number.")
    if not _NONCE_RE.match(fields["Nonce"]):
        raise SiweError("The message's nonce is malformed.")
    _time(fields["Issued At"], "issued-at time")
    for label in ("Expiration Time", "Not Before"):
        if label in optional:
            _time(optional[label], label.lower())
    if not urlsplit(fields["URI"]).scheme:
        raise SiweError("The message's URI is not absolute.")
    return SiweMessage(domain=domain, address=address, uri=fields["URI"], chain_id=int(fields["Chain ID"]),
                       nonce=fields["Nonce"], issued_at=fields["Issued At"], version="1", statement=statement,
                       scheme=scheme or None, expiration_time=optional.get("Expiration Time"),
                       not_before=optional.get("Not Before"), request_id=optional.get("Request ID"),
                       resources=tuple(resources))


# -- what this site expects --------------------------------------------------------------------------------------

def site() -> tuple[str, str]:
    """(scheme, domain) of this site, from PRIMSELL_PUBLIC_URL."""
    parts = urlsplit(get_settings().public_url)
    return parts.scheme, parts.netloc


def expected_chain_id() -> int:
    """The chain holders sign for: CHAIN_ID, else asked from the node (503 while it does not answer)."""
    from backend.chain.client import chain_id, node_unavailable

    try:
        return chain_id(get_settings().chain_key)
    except (OSError, ValueError) as exc:  # requests' and the socket's connection errors are OSErrors
        raise node_unavailable() from exc


def limit_nonces(ip: str) -> None:
    """Count a nonce asked for from `ip`'s network: each one is a siwe_nonce row, so the API and the redeem page
    draw from this one budget (RateLimited when it is spent)."""
    limit_per_network(get_settings().siwe_nonce_rate_per_ip, "siwe:nonce", ip)


def limit_verifications(ip: str) -> None:
    """Count a signed message checked for `ip`'s network (a failed signature may cost a call to the node)."""
    limit_per_network(get_settings().siwe_verify_rate_per_ip, "siwe:verify", ip)


def issue_nonce() -> tuple[str, datetime]:
    """A fresh single-use nonce and when it expires (a row: callers limit who asks with `limit_nonces`)."""
    nonce = secrets.token_hex(8)  # 16 alphanumerics
    expires = utcnow() + timedelta(seconds=get_settings().siwe_nonce_ttl_s)
    with session_scope() as session:
        session.add(SiweNonce(nonce=nonce, expires_at=expires))
    return nonce, expires


def purge_expired_nonces(session: Session, older_than: timedelta, limit: int, now: datetime | None = None) -> int:
    """Retention: nonces expired more than `older_than` ago, used or not (a replayed message then finds no nonce and
    is refused as it would be expired). Returns rows deleted."""
    cutoff = (now or utcnow()) - older_than
    ids = session.execute(select(SiweNonce.nonce).where(SiweNonce.expires_at < cutoff)  # type: ignore[arg-type]
                          .order_by(SiweNonce.expires_at).limit(limit)).scalars().all()
    if ids:
        session.execute(delete(SiweNonce).where(SiweNonce.nonce.in_(ids)))  # type: ignore[attr-defined]
    return len(ids)


def build_message(address: str, nonce: str, *, chain_id: int | None = None, now: datetime | None = None,
                  ttl_s: int | None = None) -> SiweMessage:
    """The message this site asks a wallet to sign."""
    scheme, domain = site()
    now = (now or utcnow()).replace(microsecond=0)
    ttl = ttl_s if ttl_s is not None else get_settings().siwe_nonce_ttl_s
    return SiweMessage(domain=domain, scheme=scheme, address=to_checksum_address(address), statement=STATEMENT,
                       uri=f"{scheme}://{domain}/redeem", chain_id=chain_id or expected_chain_id(), nonce=nonce,
                       issued_at=now.isoformat().replace("+00:00", "Z"),
                       expiration_time=(now + timedelta(seconds=ttl)).isoformat().replace("+00:00", "Z"))


# -- verification -----------------------------------------------------------------------------------------------

def _signature_bytes(signature: str) -> bytes:
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        raise SiweError("The signature is not hex.") from None
    if not raw or len(raw) > 4096:
        raise SiweError("The signature is empty or too long.")
    return raw


def _eip1271_valid(address: str, digest: bytes, signature: bytes, chain: str) -> bool:
    """Ask a contract wallet whether it signed `digest` (EIP-1271). False when the address has no code."""
    from backend.chain.client import get_web3

    try:
        w3 = get_web3(chain)
        if not w3.eth.get_code(address):
            return False
    except Exception:  # noqa: BLE001 - no chain to ask: an address we cannot show to be a contract is not one
        return False
    contract = w3.eth.contract(address=address, abi=ERC1271_ABI)
    try:
        answer = contract.functions.isValidSignature(digest, signature).call()
    except Exception:  # noqa: BLE001 - a revert means "not valid"
        return False
    return bytes(answer) == ERC1271_MAGIC


@lru_cache(maxsize=1)
def _erc6492_check_code() -> bytes:
    """Erc6492Check's creation code, read from its artifact once."""
    return bytes.fromhex(load_artifact("Erc6492Check")["bytecode"].removeprefix("0x"))


def _erc6492_valid(address: str, digest: bytes, signature: bytes, chain: str) -> bool:
    """Ask the chain, in one eth_call that sends nothing, whether a smart wallet signed `digest` (ERC-6492): the
    call runs contracts/src/Erc6492Check.sol's creation code, which deploys a wallet that has no code yet through the
    factory the signature names, asks it through EIP-1271, and answers 0x01 (valid) or 0x00."""
    from eth_abi import encode

    from backend.chain.client import get_web3

    call = _erc6492_check_code() + encode(["address", "bytes32", "bytes"], [address, digest, signature])
    try:
        answer = get_web3(chain).eth.call({"data": "0x" + call.hex(), "gas": ERC6492_CALL_GAS})
    except Exception:  # noqa: BLE001 - a revert (a malformed wrapping) or no chain to ask: not shown to be valid
        return False
    return bytes(answer) == b"\x01"


def check_signature(message: SiweMessage, text: str, signature: str) -> None:
    """EIP-191 recovery must give the message's address; otherwise a contract wallet at that address must accept the
    signature through EIP-1271, or, for a signature in ERC-6492's wrapping, once deployed by its factory (a network
    call: never inside a transaction)."""
    raw = _signature_bytes(signature)
    digest = bytes(defunct_hash_message(text=text))
    if raw.endswith(ERC6492_SUFFIX):
        if _erc6492_valid(message.address, digest, raw, get_settings().chain_key):
            return
        raise SiweError("The signature does not match the message's address.")
    signable = encode_defunct(text=text)
    if len(raw) == 65:
        try:
            if Account.recover_message(signable, signature=raw) == message.address:
                return
        except Exception:  # noqa: BLE001 - malformed v/r/s: maybe a contract wallet's signature
            pass
    if _eip1271_valid(message.address, digest, raw, get_settings().chain_key):
        return
    raise SiweError("The signature does not match the message's address.")


def _check_nonce_open(nonce: str, now: datetime) -> None:
    """Refuse a nonce we did not issue, or one used or expired, before any work on the signature: checking a contract
    wallet's signature costs a call to the node, which nobody may make us do with a made-up message."""
    with session_scope() as session:
        open_ = session.execute(select(SiweNonce.nonce).where(
            SiweNonce.nonce == nonce, SiweNonce.used_at.is_(None),  # type: ignore[union-attr]
            SiweNonce.expires_at > now)).first()  # type: ignore[arg-type]
    if open_ is None:
        raise SiweError(NONCE_SPENT)


def _consume_nonce(nonce: str, address: str, now: datetime) -> None:
    with session_scope() as session:
        won = session.execute(update(SiweNonce).where(
            SiweNonce.nonce == nonce, SiweNonce.used_at.is_(None),  # type: ignore[union-attr]
            SiweNonce.expires_at > now).values(used_at=now, address=address)  # type: ignore[arg-type]
            .execution_options(synchronize_session=False)).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise SiweError(NONCE_SPENT)


def verify(text: str, signature: str, *, now: datetime | None = None) -> str:
    """Verify a signed message for this site; consume its nonce; return the signer's checksummed address."""
    now = now or utcnow()
    message = parse(text)
    scheme, domain = site()
    if message.domain.lower() != domain.lower():
        raise SiweError(f"This message is for {message.domain}, not this site.")
    if message.scheme is not None and message.scheme.lower() != scheme.lower():
        raise SiweError("This message is for another scheme than this site's.")
    uri = urlsplit(message.uri)
    if f"{uri.scheme}://{uri.netloc}".lower() != f"{scheme}://{domain}".lower():
        raise SiweError("The message's URI is not on this site.")
    if message.chain_id != expected_chain_id():
        raise SiweError(f"This message is for chain {message.chain_id}, not this site's chain.")
    if _time(message.issued_at, "issued-at time") > now + _CLOCK_SKEW:
        raise SiweError("The message is issued in the future.")
    if message.expiration_time is not None and _time(message.expiration_time, "expiration time") <= now:
        raise SiweError("The message has expired: sign a new one.")
    if message.not_before is not None and _time(message.not_before, "not-before time") > now + _CLOCK_SKEW:
        raise SiweError("The message is not valid yet.")
    _check_nonce_open(message.nonce, now)
    check_signature(message, text, signature)
    _consume_nonce(message.nonce, message.address, now)
    return message.address


# -- wallet proofs -----------------------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _proof_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"primsell:wallet-proof:v1", hashlib.sha256).digest()


def _proof_sig(body: str) -> str:
    settings = get_settings()
    key = _proof_key(settings.secret_key.get_secret_value() if settings.secret_key else "")
    return base64.urlsafe_b64encode(hmac.new(key, body.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()


def wallet_proof(address: str, *, ttl_s: int | None = None) -> tuple[str, int]:
    """A token saying "this client proved it controls `address`" for WALLET_PROOF_TTL_S; (token, seconds)."""
    ttl = ttl_s if ttl_s is not None else get_settings().wallet_proof_ttl_s
    body = f"W1.{to_checksum_address(address)}.{int(time.time()) + ttl}"
    return f"{body}.{_proof_sig(body)}", ttl


def proven_address(token: str) -> str:
    """The address a wallet proof vouches for; NotAuthenticated when it is altered or expired."""
    parts = token.strip().split(".")
    if len(parts) != 4 or parts[0] != "W1":
        raise NotAuthenticated("Connect your wallet and sign in again.")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3].encode(), _proof_sig(body).encode()):
        raise NotAuthenticated("Connect your wallet and sign in again.")
    if not parts[2].isdigit() or int(parts[2]) < time.time():
        raise NotAuthenticated("Your wallet sign-in has expired: sign in again.")
    return to_checksum_address(parts[1])


def utc_from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
