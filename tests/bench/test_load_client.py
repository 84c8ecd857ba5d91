"""The benches' webhook load generator (bench/webhooks.py `post_all`) against a local server that answers in the
ways a real one may: split across packets, chunked, closing, silent, or not HTTP at all. A delivery counts as
acknowledged only on a whole 200 answer; anything else is 0 or its status, never a 200 it did not get."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bench import webhooks

OK_BODY = b'{"received":true,"duplicate":false}'
Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # False: close the connection afterwards


async def _serve(answer: Answer, bodies: list[bytes], concurrency: int = 2) -> tuple[list[int], list[bytes]]:
    """Run `post_all` against a server that reads each request whole and lets `answer` reply; returns the statuses
    and the request bodies the server received."""
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.lower().split(b"\r\n")
                                  if line.startswith(b"content-length:")))
                body = await reader.readexactly(length)
                received.append(body)
                assert b"\r\nstripe-signature: t=" in head.lower()
                if not await answer(body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        _, statuses = await webhooks.post_all(f"http://127.0.0.1:{port}", bodies, concurrency)
    return statuses, received


def _bodies(n: int) -> list[bytes]:
    return [b'{"id":"evt_%d"}' % i for i in range(n)]


def _plain(status: int, body: bytes = OK_BODY) -> bytes:
    head = b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % (status, len(body))
    return head + body


def test_whole_answers_on_kept_alive_connections_are_counted_with_their_status():
    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(_plain(400 if body.endswith(b'3"}') else 200))
        return True

    statuses, received = asyncio.run(_serve(answer, _bodies(10)))
    assert sorted(received) == sorted(_bodies(10))
    assert statuses == [400 if i == 3 else 200 for i in range(10)]


def test_an_answer_split_across_packets_is_read_whole():
    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        whole = _plain(200)
        for piece in (whole[:5], whole[5:40], whole[40:-3], whole[-3:]):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)
        return True

    assert asyncio.run(_serve(answer, _bodies(4)))[0] == [200] * 4


def test_a_chunked_answer_is_read_to_its_last_chunk():
    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\n" + OK_BODY[:16] + b"\r\n")
        await writer.drain()
        rest = OK_BODY[16:]
        writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(rest), rest))
        return True

    assert asyncio.run(_serve(answer, _bodies(4)))[0] == [200] * 4


def test_a_server_that_closes_after_answering_gets_the_next_request_on_a_new_connection():
    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(_plain(200).replace(b"\r\n\r\n", b"\r\nconnection: close\r\n\r\n", 1))
        await writer.drain()
        return False

    statuses, received = asyncio.run(_serve(answer, _bodies(6), concurrency=1))
    assert statuses == [200] * 6 and len(received) == 6


def test_a_connection_closed_before_the_answer_counts_as_no_answer():
    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        if body.endswith(b'1"}'):
            writer.write(_plain(200)[:20])  # half an answer, then gone
            await writer.drain()
            return False
        writer.write(_plain(200))
        return True

    statuses, _ = asyncio.run(_serve(answer, _bodies(4), concurrency=1))
    assert statuses == [200, 0, 200, 200]


def test_silence_times_out_as_no_answer(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(webhooks, "REQUEST_TIMEOUT_S", 0.3)

    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        if not body.endswith(b'0"}'):
            writer.write(_plain(200))
        return True  # evt_0 is never answered

    statuses, _ = asyncio.run(_serve(answer, _bodies(3), concurrency=1))
    assert statuses == [0, 200, 200]


def test_an_answer_that_is_not_http_counts_as_no_answer():
    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n" if body.endswith(b'0"}') else _plain(200))
        return True

    statuses, _ = asyncio.run(_serve(answer, _bodies(3), concurrency=1))
    assert statuses == [0, 200, 200]


def test_nobody_listening_counts_as_no_answer():
    from backend.chain.anvil import free_port

    _, statuses = asyncio.run(webhooks.post_all(f"http://127.0.0.1:{free_port()}", _bodies(3), 2))
    assert statuses == [0, 0, 0]
