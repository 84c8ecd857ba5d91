"""Decodes a contract revert to its ABI error name and arguments, whichever way the node reported it.

Two shapes exist (see /work/shared/TOOLCHAIN.md): the in-process EVM (eth-tester) raises
`TransactionFailed("execution reverted: b'...'")` with the revert bytes only inside the message, while a
real node such as anvil makes web3 raise `ContractCustomError` / `ContractLogicError` / `ContractPanicError`
with the hex revert data in `.data`. `decode_revert(exc, abi)` handles both.

Needs eth-abi and eth-utils, which come with web3.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string), from require/revert("...")
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256), from assert/overflow/division by zero

_BUILTINS: dict[bytes, dict] = {
    ERROR_STRING_SELECTOR: {"type": "error", "name": "Error", "inputs": [{"name": "message", "type": "string"}]},
    PANIC_SELECTOR: {"type": "error", "name": "Panic", "inputs": [{"name": "code", "type": "uint256"}]},
}
_REVERTED = "execution reverted:"
_HEX = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")

Abi = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class DecodedRevert:
    """A revert decoded against an ABI.

    `name` is the error name ("CollectionSoldOut", or "Error"/"Panic" for the built-ins), or None when the
    selector is not in the ABI. `data` is the raw revert data (None when the node only gave a reason text).
    """

    name: str | None
    args: dict[str, Any] = field(default_factory=dict)
    data: bytes | None = None

    @property
    def selector(self) -> str | None:
        """The 4-byte error selector as 0x-hex, if the data carried one."""
        return "0x" + self.data[:4].hex() if self.data and len(self.data) >= 4 else None


def _type_string(param: Mapping[str, Any]) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param.get("components", []))
        return f"({inner}){kind[len('tuple'):]}"
    return kind


def error_selectors(abi: Abi | Iterable[Abi]) -> dict[bytes, dict]:
    """Maps each 4-byte selector to its ABI error entry, for one ABI or several (plus Error/Panic)."""
    abis: list[Abi] = [abi] if _is_abi(abi) else list(abi)  # type: ignore[list-item]
    selectors = dict(_BUILTINS)
    for one in abis:
        for entry in one:
            if entry.get("type") != "error":
                continue
            signature = f"{entry['name']}({','.join(_type_string(p) for p in entry.get('inputs', []))})"
            selectors.setdefault(keccak(text=signature)[:4], dict(entry))
    return selectors


def _is_abi(value: Any) -> bool:
    return isinstance(value, Sequence) and (len(value) == 0 or isinstance(value[0], Mapping))


def revert_data(exc: BaseException) -> bytes | None:
    """The raw revert bytes carried by `exc` (web3's `.data` or eth-tester's message), or None."""
    data = getattr(exc, "data", None)
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str) and _HEX.match(data):
        return bytes.fromhex(data[2:])
    if isinstance(data, Mapping):  # some nodes nest it: {"data": "0x..."}
        inner = data.get("data")
        if isinstance(inner, str) and _HEX.match(inner):
            return bytes.fromhex(inner[2:])
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, (bytes, bytearray)):
            return bytes(arg)
        if isinstance(arg, BaseException):
            nested = revert_data(arg)
            if nested is not None:
                return nested
        if isinstance(arg, str):
            literal = _bytes_in_message(arg)
            if literal is not None:
                return literal
    return None


def _bytes_in_message(message: str) -> bytes | None:
    """Parses eth-tester's "execution reverted: b'...'" (a Python bytes literal) or a 0x-hex payload."""
    text = message.split(_REVERTED, 1)[1].strip() if _REVERTED in message else message.strip()
    if text[:2] in ("b'", 'b"'):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None
    if _HEX.match(text):
        return bytes.fromhex(text[2:])
    return None


def _reason_text(exc: BaseException) -> str | None:
    """eth-tester decodes Error(string) itself and keeps only the text: recover it."""
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, str) and _REVERTED in arg:
            return arg.split(_REVERTED, 1)[1].strip()
    return None


def decode_revert(error: BaseException | bytes | str, abi: Abi | Iterable[Abi]) -> DecodedRevert:
    """Decodes a revert (an exception, raw bytes, or 0x-hex) against `abi` (one ABI or a list of ABIs)."""
    if isinstance(error, BaseException):
        data = revert_data(error)
        if data is None:
            reason = _reason_text(error)
            if reason:
                return DecodedRevert(name="Error", args={"message": reason})
            return DecodedRevert(name=None)
    elif isinstance(error, str):
        if not _HEX.match(error):
            raise ValueError(f"not 0x-hex revert data: {error!r}")
        data = bytes.fromhex(error[2:])
    else:
        data = bytes(error)

    if len(data) < 4:
        return DecodedRevert(name=None, data=data)
    entry = error_selectors(abi).get(data[:4])
    if entry is None:
        return DecodedRevert(name=None, data=data)
    inputs = entry.get("inputs", [])
    try:
        values = abi_decode([_type_string(p) for p in inputs], data[4:]) if inputs else ()
    except Exception:  # noqa: BLE001 - untrusted bytes: whatever fails to decode, the name is still right
        return DecodedRevert(name=entry["name"], data=data)
    names = [p.get("name") or f"arg{i}" for i, p in enumerate(inputs)]
    values = [_checksummed(p, v) for p, v in zip(inputs, values, strict=True)]
    return DecodedRevert(name=entry["name"], args=dict(zip(names, values, strict=True)), data=data)


def _checksummed(param: Mapping[str, Any], value: Any) -> Any:
    """eth-abi returns lowercase addresses; give them the checksummed form web3 uses everywhere else."""
    kind = param["type"]
    if kind.endswith("]"):
        inner = dict(param, type=kind[: kind.rindex("[")])
        return tuple(_checksummed(inner, v) for v in value)
    if kind == "address":
        return to_checksum_address(value)
    if kind == "tuple":
        return tuple(_checksummed(c, v) for c, v in zip(param.get("components", []), value, strict=True))
    return value


def revert_name(error: BaseException | bytes | str, abi: Abi | Iterable[Abi]) -> str | None:
    """Just the error name of `decode_revert`, e.g. "CollectionSoldOut"."""
    return decode_revert(error, abi).name
