"""The command line, run in-process against the test database: seed-demo, create-admin and their errors."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlmodel import select

from backend.__main__ import main
from backend.auth.acl import Role
from backend.auth.models import Membership, User
from backend.auth.service import authenticate_access_token, login
from backend.brands.models import Brand
from backend.campaigns.models import Campaign
from backend.campaigns.service import get_public_campaign
from backend.db import session_scope
from backend.demo import DEMO_ACCOUNTS, DEMO_BRAND_SLUG
from tests.factories import make_brand

ADMIN_PASSWORD = "Platform-keeper-2031!"


def _counts() -> tuple[int, int, int, int]:
    with session_scope() as session:
        return tuple(session.exec(select(func.count()).select_from(model)).one()  # type: ignore[return-value]
                     for model in (Brand, User, Membership, Campaign))


def test_seed_demo_twice_is_idempotent_and_prints_the_credentials(capsys: pytest.CaptureFixture[str]):
    assert main(["seed-demo"]) == 0
    first_output = capsys.readouterr().out
    first = _counts()
    assert main(["seed-demo"]) == 0
    second_output = capsys.readouterr().out
    assert _counts() == first == (1, len(DEMO_ACCOUNTS), len(DEMO_ACCOUNTS) - 1, 2)
    assert first_output == second_output
    for account in DEMO_ACCOUNTS:
        assert account.email in first_output and account.password in first_output


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda a: a.role.value)
def test_every_printed_demo_account_can_sign_in_with_its_role(account):
    main(["seed-demo"])
    actor = authenticate_access_token(login(account.email, account.password, ip="127.0.0.1").access_token)
    if account.role is Role.CONSUMER:
        assert actor.roles == {}
    elif account.brand is None:
        assert actor.roles == {None: account.role}
    else:
        with session_scope() as session:
            brand = session.exec(select(Brand).where(Brand.slug == DEMO_BRAND_SLUG)).one()
        assert actor.roles == {brand.id: account.role}


def test_demo_campaigns_are_public_and_valid():
    main(["seed-demo"])
    founders = get_public_campaign("aurora-founders")
    assert founders.brand_name == "Aurora Coffee" and founders.phase.value == "on_sale"
    assert get_public_campaign("aurora-winter-roast").phase.value == "not_started"


def test_create_admin_makes_a_platform_admin_who_can_log_in(capsys: pytest.CaptureFixture[str]):
    code = main(["create-admin", "--email", "Root@Example.com", "--password", ADMIN_PASSWORD, "--name", "Root"])
    assert code == 0
    assert "platform_admin" in capsys.readouterr().out
    actor = authenticate_access_token(login("root@example.com", ADMIN_PASSWORD, ip="127.0.0.1").access_token)
    assert actor.is_platform_admin


def test_create_admin_with_a_brand_makes_a_brand_admin():
    brand = make_brand(slug="nova")
    assert main(["create-admin", "--email", "boss@example.com", "--password", ADMIN_PASSWORD, "--brand", "nova"]) == 0
    actor = authenticate_access_token(login("boss@example.com", ADMIN_PASSWORD, ip="127.0.0.1").access_token)
    assert actor.roles == {brand.id: Role.BRAND_ADMIN}


def test_create_admin_reads_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PRIMSELL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    assert main(["create-admin", "--email", "env@example.com"]) == 0
    login("env@example.com", ADMIN_PASSWORD, ip="127.0.0.1")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["create-admin", "--email", "not-an-email", "--password", ADMIN_PASSWORD], "valid email"),
        (["create-admin", "--email", "weak@example.com", "--password", "short"], "stronger password"),
        (["create-admin", "--email", "x@example.com", "--password", ADMIN_PASSWORD, "--brand", "nope"], "nope"),
    ],
    ids=["bad-email", "weak-password", "unknown-brand"],
)
def test_create_admin_errors_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and needle in lines[0]
    assert "Traceback" not in captured.err
    assert _counts()[1] == 0  # no user was created


def test_create_admin_twice_for_one_email_is_refused(capsys: pytest.CaptureFixture[str]):
    assert main(["create-admin", "--email", "root@example.com", "--password", ADMIN_PASSWORD]) == 0
    assert main(["create-admin", "--email", "ROOT@example.com", "--password", ADMIN_PASSWORD]) == 2
    assert "already exists" in capsys.readouterr().err
    assert _counts()[1:3] == (1, 1)


def test_unknown_command_exits_2():
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2


def test_demo_deploys_are_queued_once_per_demo_campaign_even_when_asked_twice():
    from backend.chain.models import ContractDeployment
    from backend.demo import request_demo_deploys
    from backend.workflow.machines import ContractState

    main(["seed-demo"])
    with session_scope() as session:
        assert session.exec(select(ContractDeployment)).all() == []  # the seed itself is data only
    request_demo_deploys()
    request_demo_deploys()
    with session_scope() as session:
        deployments = session.exec(select(ContractDeployment)).all()
        slugs = {session.get(Campaign, d.campaign_id).slug for d in deployments}  # type: ignore[union-attr]
    assert slugs == {"aurora-founders", "aurora-winter-roast"}
    assert len(deployments) == 2
    assert {d.state for d in deployments} == {ContractState.DEPLOY_REQUESTED}


def test_state_machine_docs_match_the_machines():
    """docs/STATE_MACHINES.md is generated; a machine changed without regenerating it fails here."""
    from backend.__main__ import machines_markdown
    from backend.settings import PROJECT_ROOT

    committed = (PROJECT_ROOT / "docs" / "STATE_MACHINES.md").read_text()
    assert committed == machines_markdown(), "run `python -m backend machines --write` and commit the result"


def test_events_map_matches_the_code():
    """docs/EVENTS.md is generated; a topic, emitter, subscriber, finish step or daemon changed without regenerating
    it fails here."""
    from backend.settings import PROJECT_ROOT
    from backend.workflow.event_map import events_markdown

    committed = (PROJECT_ROOT / "docs" / "EVENTS.md").read_text()
    assert committed == events_markdown(), "run `python -m backend events --write` and commit the result"
