"""Development is safe to expose by mistake: the dev mailbox and the sandbox pay page answer only loopback peers
(the real socket peer, never X-Forwarded-For) or a signed-in platform admin, and the server refuses a non-loopback
bind address unless told; the sandbox form needs the session's pay token and refuses cross-site posts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from backend.api.app import create_api
from backend.auth.acl import Role
from backend.auth.service import WEB_SESSION_COOKIE, begin_web_sign_in, complete_web_sign_in
from backend.db import session_scope
from backend.exposure import check_bind_host, check_web_process, is_loopback
from backend.notifications.service import queue_email, send_due
from backend.orders import service
from backend.payments import sandbox
from backend.serve import web_env
from backend.settings import ConfigurationError, get_settings
from tests.factories import PASSWORD, make_brand, make_campaign, make_user
from tests.payments.support import client_sender, order_by_public, settle

WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
REMOTE = ("203.0.113.7", 51000)
LOOPBACK = ("127.0.0.1", 51000)


@pytest.fixture
def clients() -> Iterator[dict[str, TestClient]]:
    app = create_api()
    with TestClient(app, client=REMOTE) as remote, TestClient(app, client=LOOPBACK) as local, \
            TestClient(app, client=("::1", 51000)) as local6:
        sandbox.set_sender(client_sender(local))
        yield {"remote": remote, "local": local, "local6": local6}
    sandbox.set_sender(None)


def _mail_with_a_password_link() -> None:
    with session_scope() as session:
        queue_email(session, key="test:password-link", to="victim@example.com", subject="Choose your password",
                    body="Set it here: http://localhost:3000/account/password?token=SECRET-LINK-123",
                    kind="account_link")
    assert send_due() == 1  # no SMTP server: kept in the development mailbox


def _signed_in_cookie(role: Role) -> str:
    user = make_user(role, make_brand() if role is Role.BRAND_ADMIN else None)
    code = begin_web_sign_in(user.email, PASSWORD, ip="203.0.113.7")
    return complete_web_sign_in(code)[0]


def test_the_dev_mailbox_answers_loopback_only(clients) -> None:
    _mail_with_a_password_link()
    refused = clients["remote"].get("/api/dev/mailbox")
    assert refused.status_code == 403 and "SECRET-LINK-123" not in refused.text
    # A forged header does not make a remote peer local.
    forged = clients["remote"].get("/api/dev/mailbox", headers={"X-Forwarded-For": "127.0.0.1",
                                                                "X-Real-IP": "127.0.0.1"})
    assert forged.status_code == 403 and "SECRET-LINK-123" not in forged.text
    for name in ("local", "local6"):
        page = clients[name].get("/api/dev/mailbox")
        assert page.status_code == 200 and "SECRET-LINK-123" in page.text


def test_a_signed_in_platform_admin_may_read_the_mailbox_from_anywhere(clients) -> None:
    _mail_with_a_password_link()
    remote = clients["remote"]
    remote.cookies.set(WEB_SESSION_COOKIE, _signed_in_cookie(Role.BRAND_ADMIN))
    assert remote.get("/api/dev/mailbox").status_code == 403  # a brand admin is not enough
    remote.cookies.set(WEB_SESSION_COOKIE, _signed_in_cookie(Role.PLATFORM_ADMIN))
    assert remote.get("/api/dev/mailbox").status_code == 200
    remote.cookies.clear()


def _checkout() -> tuple[str, str]:
    campaign = make_campaign(make_brand(), price_minor=2500)
    started = service.start_checkout(campaign.slug, 1, "buyer@example.com", WALLET, "127.0.0.1")
    # payment_url is the order's pay link; opening it leads to the sandbox pay page (the path returned here).
    pay_page = service.open_payment(started.public_id)
    return started.public_id, pay_page.removeprefix(get_settings().public_url.rstrip("/"))


def _form_token(page_html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page_html)
    assert found, "the pay form carries its token"
    return found.group(1)


def test_the_sandbox_pay_page_answers_loopback_only(clients) -> None:
    public_id, path = _checkout()
    assert clients["remote"].get(path).status_code == 403
    paid = clients["remote"].post(path.split("?")[0], data={"action": "pay", "token": path.split("token=")[1]})
    assert paid.status_code == 403
    settle()
    assert service.get_order_public(public_id).status == "awaiting_payment"
    assert clients["local"].get(path).status_code == 200


def test_the_sandbox_form_needs_the_orders_pay_token(clients) -> None:
    public_id, path = _checkout()
    local = clients["local"]
    bare = path.split("?")[0]
    assert local.get(bare).status_code == 403  # the session id alone does not open the page
    assert local.get(bare + "?token=forged").status_code == 403
    page = local.get(path)
    assert page.status_code == 200
    token = _form_token(page.text)
    # A cross-site form that knows the session id but not the token cannot cancel or pay.
    for data in ({"action": "cancel"}, {"action": "cancel", "token": "guess"}, {"action": "pay"}):
        assert local.post(bare, data=data, follow_redirects=False).status_code == 403
    # A post from another site's page is refused even with the token (Origin says where the form was).
    evil = local.post(bare, data={"action": "cancel", "token": token}, headers={"Origin": "https://evil.example"},
                      follow_redirects=False)
    assert evil.status_code == 403
    settle()
    assert sandbox.page(order_by_public(public_id).payment_session_id).status == "open"
    # The buyer's own page, with its token, pays.
    paid = local.post(bare, data={"action": "pay", "card": "4242424242424242", "token": token},
                      follow_redirects=False)
    assert paid.status_code == 303
    settle()
    assert service.get_order_public(public_id).status == "minting"


def test_a_token_is_bound_to_its_session(clients) -> None:
    _, first = _checkout()
    _, second = _checkout()
    other_token = first.split("token=")[1]
    assert clients["local"].get(second.split("?")[0] + "?token=" + other_token).status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "localhost", "::ffff:127.0.0.1"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.5", "203.0.113.7", "testclient", "", None,
                                  "localhost.evil.example"])
def test_not_loopback(host: str | None) -> None:
    assert not is_loopback(host)


def test_development_refuses_to_bind_a_public_address_unless_told(configure) -> None:
    for env in ("development", "test"):
        configure(PRIMSELL_ENV=env)
        check_bind_host("127.0.0.1")
        for host in ("0.0.0.0", "::", "192.168.1.20"):
            with pytest.raises(ConfigurationError, match="PRIMSELL_DEV_ALLOW_REMOTE"):
                check_bind_host(host)
            with pytest.raises(ConfigurationError):
                check_web_process(host)  # the web app checks the address it was given when it starts
    configure(PRIMSELL_ENV="development", PRIMSELL_DEV_ALLOW_REMOTE="1")
    check_bind_host("0.0.0.0")


def test_serve_refuses_a_public_address_in_development_before_starting_anything(configure) -> None:
    from backend.__main__ import main

    configure(PRIMSELL_ENV="development")
    assert main(["serve", "--host", "0.0.0.0", "--no-demo", "--no-jobs"]) == 2


def test_the_reflex_config_binds_loopback_in_development(configure) -> None:
    import importlib

    import rxconfig

    configure(PRIMSELL_ENV="development")
    assert importlib.reload(rxconfig).config.backend_host == "127.0.0.1"
    configure(PRIMSELL_ENV="development", PRIMSELL_DEV_ALLOW_REMOTE="1")
    assert importlib.reload(rxconfig).config.backend_host == "0.0.0.0"
    configure(PRIMSELL_ENV="test")
    importlib.reload(rxconfig)


def test_production_binds_anywhere_but_its_web_process_never_holds_the_custody_seed(production) -> None:
    production()
    check_bind_host("0.0.0.0")
    with pytest.raises(ConfigurationError, match="CUSTODY_SEED"):
        check_web_process("0.0.0.0")
    production(CUSTODY_SEED=None)
    check_web_process("0.0.0.0")
    assert web_env({"CUSTODY_SEED": "x", "OTHER": "y"}) == {"CUSTODY_SEED": "", "OTHER": "y"}
