"""The Stripe webhook intake: verify the signature on the raw body, store each event id once, emit one outbox
event, acknowledge. The work happens in the `payment.event_received` subscriber, never in the request.

Group commit. The request thread verifies and parses (no database); the writes go to this process's one
intake thread, which stores every delivery that is waiting in ONE short transaction (a multi-row insert of
payment events, their outbox events and deliveries), commits, then answers each request: an acknowledgement
still means "committed". Under a burst the transaction count, the commits (fsyncs on PostgreSQL) and the time
SQLite's single write lock is held per webhook all drop with the group size; alone, a webhook waits for
nothing extra but the hand-over to the intake thread. One kick per group: the relaying itself is the daemon's
(backend.workflow.outbox). What grouping gains and costs, measured: the README's "Measurements behind the code".
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Any

import stripe
from sqlalchemy.dialects import postgresql, sqlite

from backend.db import get_engine, utcnow
from backend.errors import DomainError
from backend.faults import crash_point
from backend.payments.models import PaymentEvent
from backend.payments.signing import webhook_secret
from backend.workflow import kick, outbox

log = logging.getLogger(__name__)

TOLERANCE_S = 300  # Stripe's default: a signature older than this is a replay


class InvalidWebhook(DomainError):
    code = "invalid_webhook"
    status = 400


class UnsignedWebhook(InvalidWebhook):
    """No signature, a forged one or a stale one: the delivery is not shown to come from Stripe. 401, as for
    any missing or bad credential of the API (the signature is this endpoint's credential)."""

    status = 401


@dataclass(frozen=True)
class WebhookAck:
    event_id: str
    type: str
    duplicate: bool


def _refs(kind: str, obj: dict[str, Any]) -> tuple[int | None, str | None]:
    """(order id from our metadata, payment intent id) of an event's object, where it carries them."""
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    raw_order = str(metadata.get("order_id") or "")
    order_id = int(raw_order) if raw_order.isdigit() and len(raw_order) < 12 else None
    if kind.startswith("payment_intent."):
        payment_intent = obj.get("id")
    else:
        payment_intent = obj.get("payment_intent")
        if isinstance(payment_intent, dict):
            payment_intent = payment_intent.get("id")
    return order_id, payment_intent if isinstance(payment_intent, str) else None


def receive(raw_body: bytes, signature: str | None) -> WebhookAck:
    """Verify and record one delivery. Raises InvalidWebhook (nothing stored) for a bad signature or body.
    Returns once the delivery is committed (with the others that were waiting: see the module docstring)."""
    return _intake.submit(_verified(raw_body, signature)).result(timeout=INTAKE_TIMEOUT_S)


async def receive_async(raw_body: bytes, signature: str | None) -> WebhookAck:
    """`receive` for an event loop: the check runs inline (an HMAC and a JSON parse, well under a millisecond),
    then the request awaits its group's commit without holding a worker thread."""
    future = _intake.submit(_verified(raw_body, signature))
    return await asyncio.wait_for(asyncio.wrap_future(future), INTAKE_TIMEOUT_S)


def _verified(raw_body: bytes, signature: str | None) -> _Pending:
    try:
        # stripe-python's own check (what Webhook.construct_event runs first): HMAC-SHA256 over "{t}.{raw body}"
        # with any v1 signature matching, and t no older than the tolerance. We parse the JSON ourselves
        # below: building a StripeObject we would not use costs a third of the request.
        stripe.WebhookSignature.verify_header(raw_body.decode("utf-8"), signature or "", webhook_secret(),
                                              tolerance=TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        raise UnsignedWebhook("Invalid Stripe signature.") from exc
    except UnicodeDecodeError as exc:
        raise InvalidWebhook("The body is not UTF-8 JSON.") from exc
    try:
        event = json.loads(raw_body)
        event_id, kind = str(event["id"]), str(event["type"])
        obj = event.get("data", {}).get("object") or {}
        if not isinstance(obj, dict):
            raise TypeError("data.object is not an object")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidWebhook("The body is not a Stripe event.") from exc
    order_id, payment_intent = _refs(kind, obj)
    row = {
        "event_id": event_id[:255], "type": kind[:80], "livemode": bool(event.get("livemode")), "order_id": order_id,
        "payment_intent_id": payment_intent[:255] if payment_intent else None, "payload": event, "outcome": "",
        "received_at": utcnow(), "processed_at": None,
    }
    return _Pending(row, event_id, kind)


INTAKE_TIMEOUT_S = 60.0  # a request gives up (500: Stripe retries) if its group has not committed by then
MAX_GROUP = 200  # deliveries stored in one transaction at most


@dataclass
class _Pending:
    row: dict[str, Any]
    event_id: str
    kind: str
    future: Future[WebhookAck] | None = None


def _insert_events(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id: built once per dialect and run with
    a list of rows, so SQLAlchemy batches it (insertmanyvalues) from a cached compiled form. (A multi-row
    `.values([...])` is compiled afresh for every group: a third of the intake's CPU per webhook.)"""
    if dialect not in _INSERTS:
        table = PaymentEvent.__table__
        insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
        _INSERTS[dialect] = insert.on_conflict_do_nothing(index_elements=["event_id"]).returning(
            table.c.id, table.c.event_id)
    return _INSERTS[dialect]


_INSERTS: dict[str, Any] = {}


def _store(pending: list[_Pending]) -> list[WebhookAck]:
    """Store a group in one transaction: each new event id once, with its outbox event; the acks, in order.

    On a Core connection, not an ORM session: the session's set-up, flush and commit machinery cost ~0.4 ms of CPU
    per group for nothing here (README, "Measurements behind the code"), and under a storm the groups are small."""
    acks: list[WebhookAck] = []
    with get_engine().begin() as connection:
        first: dict[str, _Pending] = {}
        for item in pending:  # the same event twice in one group: the later one is a duplicate
            first.setdefault(item.row["event_id"], item)
        rows = [item.row for item in first.values()]
        stored = {event_id: row_id for row_id, event_id in
                  connection.execute(_insert_events(connection.dialect.name), rows)}
        events: list[outbox.NewEvent] = []
        for item in pending:
            stored_id = stored.get(item.row["event_id"]) if first[item.row["event_id"]] is item else None
            acks.append(WebhookAck(item.event_id, item.kind, duplicate=stored_id is None))
            if stored_id is not None:
                order_id = item.row["order_id"]
                events.append(outbox.NewEvent(
                    "payment.event_received", {"payment_event_id": stored_id, "event_id": item.event_id,
                                               "type": item.kind},
                    entity=("order", order_id) if order_id else None))
        outbox.emit_many(connection, events)
    return acks


class _Intake:
    """This process's intake thread: takes the waiting deliveries, stores them together, answers them."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, item: _Pending) -> Future[WebhookAck]:
        item.future = Future()
        self._queue.put(item)
        if self._thread is None or not self._thread.is_alive():  # first use, or after a fork
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="webhook-intake", daemon=True)
                    self._thread.start()
        return item.future

    def _run(self) -> None:
        try:  # load the subscribers now: the first group's transaction must not import them (slow: README)
            outbox.load_subscribers()
        except Exception:  # the first emit will load them, or fail visibly
            log.exception("loading the outbox subscribers failed")
        while True:
            group = [self._queue.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit(group)
            except Exception:  # this thread serves every later delivery: it must not die
                log.exception("the webhook intake failed on a group of %d", len(group))
                for item in group:
                    _answer(item, exc=RuntimeError("webhook intake failed"))

    def _commit(self, group: list[_Pending]) -> None:
        try:
            acks = _store(group)
        except Exception as exc:  # handed to the request(s), which answer 500 (Stripe retries)
            if len(group) > 1:  # redo one by one: one bad delivery must not fail the others
                for item in group:
                    self._commit([item])
                return
            log.exception("storing webhook %s failed", group[0].event_id)
            _answer(group[0], exc=exc)
            return
        crash_point("webhook.stored")
        if any(not ack.duplicate for ack in acks):
            kick.kick()
        for item, ack in zip(group, acks, strict=True):
            _answer(item, ack=ack)


def _answer(item: _Pending, *, ack: WebhookAck | None = None, exc: BaseException | None = None) -> None:
    """Hand the outcome to the waiting request, unless it gave up already (its wait timed out and cancelled the
    future: the delivery is committed all the same, and Stripe's retry of it will be a duplicate)."""
    future = item.future
    if future is None or future.done():
        return
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(ack)  # type: ignore[arg-type]
    except InvalidStateError:  # cancelled between the check and the set
        pass


_intake = _Intake()
