"""Bulk chain reads for the indexer and the royalty calculator: logs, block headers, `eth_call`s and receipts, in the
node's own JSON (hex strings), batched where the provider allows.

Over HTTP the raw JSON-RPC answer is used as it comes (web3's result formatters cost several times the read itself:
README, "Measurements behind the code"), and a JSON-RPC batch saves a round trip per header or call. The in-process
EVM has neither raw JSON nor batches: it goes through web3's methods and is converted to the same shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.providers import JSONBaseProvider

BATCH_SIZE = 200  # requests per JSON-RPC batch


class ChainReadError(RuntimeError):
    """The node answered a read with an error (the message is the node's)."""


def _hex(value: Any) -> str:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, int):
        return hex(value)
    return "0x" + bytes(value).hex()


def _raw_log(log: Any) -> dict[str, Any]:
    return {
        "address": str(log["address"]).lower(),
        "topics": [_hex(t) for t in log["topics"]],
        "data": _hex(log["data"]),
        "blockNumber": int(log["blockNumber"]),
        "blockHash": _hex(log["blockHash"]),
        "transactionHash": _hex(log["transactionHash"]),
        "logIndex": int(log["logIndex"]),
    }


def _cooked_log(log: dict[str, Any]) -> dict[str, Any]:
    """A raw JSON log with its numbers as ints and its address in lower case (what every reader returns)."""
    log["address"] = log["address"].lower()
    log["blockNumber"] = int(log["blockNumber"], 16)
    log["logIndex"] = int(log["logIndex"], 16)
    return log


class ChainReader:
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3
        self.raw = isinstance(w3.provider, JSONBaseProvider)

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _request(self, method: str, params: list[Any]) -> Any:
        response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in response:
            raise ChainReadError(f"{method}: {response['error']}")
        return response.get("result")

    def _batch(self, requests: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Results in request order; an entry is a ChainReadError where that request failed."""
        out: list[Any] = []
        provider = self.w3.provider
        for start in range(0, len(requests), BATCH_SIZE):
            chunk = list(requests[start:start + BATCH_SIZE])
            responses = provider.make_batch_request(chunk)  # type: ignore[attr-defined, arg-type]
            if isinstance(responses, dict):  # the whole batch was refused
                raise ChainReadError(f"batch: {responses.get('error')}")
            by_id = {r.get("id"): r for r in responses}
            ordered = by_id.values() if None in by_id else [by_id[k] for k in sorted(by_id, key=_id_key)]
            for response in ordered:
                out.append(ChainReadError(str(response["error"])) if "error" in response else response.get("result"))
        return out

    # -- reads ----------------------------------------------------------------------------------------------------

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    def get_logs(self, addresses: Sequence[str], topic0: str, from_block: int, to_block: int) -> list[dict[str, Any]]:
        """Logs of `addresses` with first topic `topic0` in [from_block, to_block], in chain order. A node that refuses
        a range as too large gets it in halves."""
        if not addresses or from_block > to_block:
            return []
        try:
            if self.raw:
                result = self._request("eth_getLogs", [{
                    "address": list(addresses), "topics": [topic0],
                    "fromBlock": hex(from_block), "toBlock": hex(to_block)}])
                return [_cooked_log(log) for log in result]
            logs = self.w3.eth.get_logs({
                "address": [Web3.to_checksum_address(a) for a in addresses], "topics": [topic0],  # type: ignore[list-item]
                "fromBlock": from_block, "toBlock": to_block})
            return [_raw_log(log) for log in logs]
        except ChainReadError:
            if from_block == to_block:
                raise
            middle = (from_block + to_block) // 2
            return (self.get_logs(addresses, topic0, from_block, middle)
                    + self.get_logs(addresses, topic0, middle + 1, to_block))

    def headers(self, numbers: Sequence[int]) -> dict[int, tuple[str, int]]:
        """{number: (block hash, timestamp)}; a number beyond the head is left out."""
        numbers = sorted(set(numbers))
        out: dict[int, tuple[str, int]] = {}
        if self.raw:
            results = self._batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
            for number, block in zip(numbers, results, strict=True):
                if isinstance(block, Exception):
                    raise block
                if block is not None:
                    out[number] = (block["hash"].lower(), int(block["timestamp"], 16))
            return out
        head = self.block_number()
        for number in numbers:
            if number > head:
                continue
            block = self.w3.eth.get_block(number)
            out[number] = (_hex(block["hash"]), int(block["timestamp"]))
        return out

    def calls(self, calls: Sequence[tuple[str, bytes, int]]) -> list[bytes | ChainReadError]:
        """`eth_call` of each (to, data, block number): the return data, or the error for a call that failed."""
        if self.raw:
            results = self._batch([("eth_call", [{"to": to, "data": "0x" + data.hex()}, hex(block)])
                                   for to, data, block in calls])
            return [r if isinstance(r, Exception) else bytes.fromhex(r[2:]) for r in results]
        out: list[bytes | ChainReadError] = []
        for to, data, block in calls:
            try:
                out.append(bytes(self.w3.eth.call({"to": Web3.to_checksum_address(to), "data": data}, block)))
            except Exception as exc:  # noqa: BLE001  (a revert: the caller decides what a failed call means)
                out.append(ChainReadError(str(exc)))
        return out

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        """The receipt as {blockNumber, blockHash, status, logs (as get_logs returns them)}, None if not mined."""
        if self.raw:
            receipt = self._request("eth_getTransactionReceipt", [tx_hash])
            if receipt is None or receipt.get("blockNumber") is None:
                return None
            return {"blockNumber": int(receipt["blockNumber"], 16), "blockHash": receipt["blockHash"].lower(),
                    "status": int(receipt["status"], 16), "logs": [_cooked_log(log) for log in receipt["logs"]]}
        try:
            receipt = self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        if receipt.get("blockNumber") is None:  # pending
            return None
        return {"blockNumber": int(receipt["blockNumber"]), "blockHash": _hex(receipt["blockHash"]),
                "status": int(receipt["status"]), "logs": [_raw_log(log) for log in receipt["logs"]]}


def _id_key(value: Any) -> Any:
    return (0, value) if isinstance(value, int) else (1, str(value))
