"""API fuzzing: schemathesis runs over `/api/openapi.json` exactly as a person would run it by hand
(`schemathesis run <url>/api/openapi.json --checks all`, with the repository's schemathesis.toml), once signed in
as a brand admin and once anonymous. Every check must pass: no 5xx, every response as the document says
(status, content type, body, headers), schema-valid requests accepted and schema-invalid ones refused.

Why the command line against a real server rather than schemathesis' pytest plugin in this process: it is the very
check the issue asks for and a developer repeats by hand (all four phases: examples, coverage, fuzzing, stateful
links; the same config file), and the API runs as in production, served by granian over a socket with its whole
ASGI stack, including the Stripe webhook's fast path in front of FastAPI (`WebhookFastPath`), which only a real
request reaches as Stripe's would. The rate limits are raised for the server so that the fuzzer reaches the logic
behind them instead of 429s. Known ids (the admin's brand, a campaign, an order) are offered to the fuzzer through
schemathesis dictionaries, so that it gets past 404s to the services.

PRIMSELL_FUZZ_EXAMPLES (default 12) and PRIMSELL_FUZZ_SEED (default fixed, for a run that repeats) widen or vary it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.auth.acl import Role
from backend.orders import service as orders
from tests.api_server import api_server
from tests.factories import PASSWORD, make_brand, make_campaign, make_user

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("PRIMSELL_FUZZ_EXAMPLES", "12"))
SEED = os.environ.get("PRIMSELL_FUZZ_SEED", "20261205")
RAISED = "100000/minute"
SERVER_ENV = {
    "RATE_LIMIT_API_PER_IP": RAISED, "RATE_LIMIT_API_PER_ACCOUNT": RAISED, "RATE_LIMIT_LOGIN_PER_IP": RAISED,
    "RATE_LIMIT_LOGIN_PER_ACCOUNT": RAISED, "RATE_LIMIT_REFRESH_PER_IP": RAISED,
    "RATE_LIMIT_SIWE_NONCE_PER_IP": RAISED, "RATE_LIMIT_SIWE_VERIFY_PER_IP": RAISED,
    # No chain node runs beside this server: the chain id SIWE messages carry is configured, not asked for.
    "CHAIN_ID": "31337",
}
WALLET = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


@pytest.fixture
def served_api(migrated_database: str) -> Iterator[str]:
    """The API over a socket against the test database, with the settings the fuzzer needs."""
    with api_server(SERVER_ENV) as url:
        yield url


def _config_with_known_ids(tmp_path: Path, ids: dict[str, list[object]]) -> Path:
    """The repository's schemathesis.toml plus dictionaries of ids that exist, offered half of the time."""
    lines = [(ROOT / "schemathesis.toml").read_text(), ""]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {_toml_list(values)}", ""]
    lines.append("[parameters]")
    for name in ids:
        for location in ("path", "query", "body"):
            lines.append(f'"{location}.{name}" = {{ dictionary = "{name}", probability = 0.5 }}')
    path = tmp_path / "schemathesis.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _toml_list(values: list[object]) -> str:
    return "[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in values) + "]"


def _schemathesis(url: str, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run",
        f"{url}/api/openapi.json", "--checks", "all", "--max-examples", str(EXAMPLES), "--seed", SEED,
        "--generation-database", "none", *extra,
    ]
    # cwd: schemathesis keeps a cache (.schemathesis/) in the working directory.
    return subprocess.run(command, cwd=config.parent, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SCHEMATHESIS_TELEMETRY": "false"})


def _verdict(result: subprocess.CompletedProcess[str]) -> str:
    # The report from its failures on: each with a curl line to reproduce it, then the summary.
    start = max(result.stdout.find("FAILURES"), 0)
    return f"schemathesis exited {result.returncode}:\n{result.stdout[start:start + 40000]}\n{result.stderr[-2000:]}"


def test_the_api_keeps_to_its_openapi_document_signed_in_and_anonymous(served_api: str, tmp_path: Path) -> None:
    brand = make_brand()
    admin = make_user(Role.BRAND_ADMIN, brand)
    campaign = make_campaign(brand)
    started = orders.start_checkout(campaign.slug, 1, "buyer@example.com", WALLET, "127.0.0.1")
    from tests.payments.support import order_by_public

    order = order_by_public(started.public_id)
    config = _config_with_known_ids(tmp_path, {
        "brand_id": [brand.id], "campaign_id": [campaign.id], "order_id": [order.id],
        "campaign_slug": [campaign.slug], "slug": [campaign.slug], "public_id": [started.public_id],
    })
    login = httpx.post(f"{served_api}/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]

    signed_in = _schemathesis(served_api, config, "--header", f"Authorization: Bearer {token}")
    anonymous = _schemathesis(served_api, config)

    for result in (signed_in, anonymous):
        assert result.returncode == 0, _verdict(result)
        # Exit 0 with nothing tested would prove nothing: every documented operation was exercised.
        tested = re.search(r"Tested:\s+(\d+)", result.stdout)
        assert tested and int(tested.group(1)) >= 30, _verdict(result)
