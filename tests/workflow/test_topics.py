"""The declared outbox topics agree with the code: every emit names a declared topic (as a literal, so the events
map can follow it), every declared topic is emitted, and every topic has a subscriber or is audit-only on purpose."""

from __future__ import annotations

import pytest

from backend.chain.models import CHAIN_TX
from backend.workflow import outbox
from backend.workflow.event_map import emit_sites, emit_sites_in
from backend.workflow.machines import MACHINES
from backend.workflow.topics import TOPICS
from jobs.registry import DAEMONS


@pytest.fixture(autouse=True)
def only_test_subscribers() -> None:
    """Overrides the workflow tests' empty registry: these tests read the application's own subscribers."""


def test_every_emit_in_the_code_names_a_declared_topic_literally() -> None:
    sites = emit_sites()
    assert sites, "the scan found no emit at all"
    dynamic = [f"{s.module}:{s.line}" for s in sites if s.topic is None]
    assert dynamic == [], "pass the topic as a string literal so docs/EVENTS.md can follow it"
    undeclared = sorted({f"{s.topic} ({s.where})" for s in sites if s.topic not in TOPICS})
    assert undeclared == [], "declare these topics in backend/workflow/topics.py"


def test_every_declared_topic_is_emitted_somewhere() -> None:
    assert set(TOPICS) - {s.topic for s in emit_sites()} == set()


def test_every_topic_has_a_subscriber_or_a_reason_to_have_none() -> None:
    subscribed = set(outbox.subscriptions())
    assert subscribed - set(TOPICS) == set(), "a subscriber listens to a topic nobody declared"
    for name, topic in TOPICS.items():
        if topic.audit_only:
            assert name not in subscribed, f"{name} has a subscriber now: drop its audit_only reason"
        else:
            assert name in subscribed, f"nobody consumes {name}: give it a subscriber or an audit_only reason"


def test_the_scan_finds_emits_by_name_through_the_module_and_in_batches() -> None:
    source = '''
from backend.workflow import outbox
from backend.workflow.outbox import NewEvent, emit as write_event


def pay(session, topic):
    write_event(session, "order.paid", {})
    outbox.emit(session, topic=topic, payload={})
    outbox.emit_many(session, [NewEvent("mint.failed", {}), outbox.NewEvent(topic="mint.completed", payload={})])


def emit(session):  # a function of the same name that is not the outbox's
    print("not.an_event")
'''
    sites = emit_sites_in(source, "example")
    assert [(s.topic, s.where, s.line) for s in sites] == [
        ("order.paid", "example.pay", 7), (None, "example.pay", 8), ("mint.failed", "example.pay", 9),
        ("mint.completed", "example.pay", 9),
    ]


def test_daemons_drive_known_machines() -> None:
    known = set(MACHINES) | {CHAIN_TX.name}
    assert {name for daemon in DAEMONS for name in daemon.drives} <= known
