"""Typed settings: defaults, surface parsing, URL validation, generated development secrets, production refusal."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from backend.chain.hd import account_xpub, seed_from_secret
from backend.settings import (
    ALL_SURFACES,
    GENERATED_SECRETS,
    PROJECT_ROOT,
    ConfigurationError,
    Environment,
    Settings,
    load_settings,
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No Primsell variable from the test process leaks in, no `.env` is read, and data goes to a tmp dir."""
    for field in Settings.model_fields.values():
        if field.alias:
            monkeypatch.delenv(field.alias, raising=False)
    monkeypatch.chdir(tmp_path)  # `.env` is looked up in the working directory
    monkeypatch.setenv("PRIMSELL_DATA_DIR", str(tmp_path / "data"))
    return monkeypatch


def test_defaults_serve_every_surface_on_sqlite_in_development(env: pytest.MonkeyPatch, tmp_path: Path):
    settings = load_settings()
    assert settings.env is Environment.DEVELOPMENT
    assert settings.is_production is False
    assert settings.surfaces == ALL_SURFACES
    assert all(settings.serves(s) for s in ("admin", "checkout", "redeem", "kyc"))
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'data' / 'primsell.db'}"
    assert settings.access_token_ttl_s == 900
    assert settings.refresh_token_ttl_s == 14 * 24 * 3600
    assert settings.login_rate_per_ip == "20/minute"
    assert (settings.login_backoff_after_failures, settings.login_backoff_max_s) == (5, 300)
    assert settings.web_session_idle_timeout_s == 8 * 3600
    assert settings.trusted_proxies == ()
    assert settings.redis_url == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("admin", ("admin",)),
        ("checkout,redeem", ("checkout", "redeem")),
        (" Admin , KYC ", ("admin", "kyc")),
        ("admin,admin,checkout,admin", ("admin", "checkout")),
        ("kyc,,admin,", ("kyc", "admin")),
    ],
)
def test_surfaces_are_parsed_from_a_comma_list(env: pytest.MonkeyPatch, raw: str, expected: tuple[str, ...]):
    env.setenv("PRIMSELL_SURFACES", raw)
    settings = load_settings()
    assert settings.surfaces == expected
    assert not settings.serves("storefront")


def test_unknown_surface_is_refused_with_the_valid_choices(env: pytest.MonkeyPatch):
    env.setenv("PRIMSELL_SURFACES", "admin,storefront")
    with pytest.raises(ValidationError) as caught:
        load_settings()
    message = str(caught.value)
    assert "storefront" in message
    assert "admin, checkout, redeem, kyc" in message


@pytest.mark.parametrize("raw", ["", " , ,"])
def test_empty_surface_list_is_refused(env: pytest.MonkeyPatch, raw: str):
    env.setenv("PRIMSELL_SURFACES", raw)
    with pytest.raises(ValidationError, match="at least one surface"):
        load_settings()


@pytest.mark.parametrize(
    "url", ["sqlite:////tmp/x.db", "postgresql+psycopg://postgres@127.0.0.1:5432/test", "postgresql://u@h/db"]
)
def test_sqlite_and_postgresql_urls_are_accepted(env: pytest.MonkeyPatch, url: str):
    env.setenv("DATABASE_URL", url)
    settings = load_settings()
    assert settings.database_url == url
    assert settings.effective_database_url == url


@pytest.mark.parametrize("url", ["mysql://root@localhost/primsell", "primsell.db", "http://db"])
def test_other_database_urls_are_refused(env: pytest.MonkeyPatch, url: str):
    env.setenv("DATABASE_URL", url)
    with pytest.raises(ValidationError, match="DATABASE_URL must be a sqlite"):
        load_settings()


def test_development_generates_each_secret_once_with_owner_only_permissions(env: pytest.MonkeyPatch, tmp_path: Path):
    first = load_settings()
    secrets_file = tmp_path / "data" / "secrets.json"
    assert secrets_file.exists()
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    generated = {name: first.require_secret(name) for name in GENERATED_SECRETS}
    assert set(generated) >= {"secret_key", "platform_signer_key", "custody_seed", "stripe_webhook_secret"}
    assert all(len(value) >= 40 for value in generated.values())
    assert len(set(generated.values())) == len(generated)  # each secret is its own
    assert json.loads(secrets_file.read_text()) == generated
    second = load_settings()
    assert {name: second.require_secret(name) for name in GENERATED_SECRETS} == generated  # stable across restarts


def test_processes_and_threads_started_together_share_one_set_of_generated_secrets(env: pytest.MonkeyPatch,
                                                                                    tmp_path: Path):
    """The web app and a runner started at once (and a fresh process's request threads) all generate the missing
    secrets on first use: they must end up with the same ones, and none may read the file half written."""
    # Every process imports first, then waits for one shared moment, so the first uses overlap however slowly each
    # process starts; generating a secret is slowed down as on a busy machine, so unlocked writers would clash.
    script = ("import sys, threading, time\n"
              "from backend import settings\n"
              "from backend.settings import load_settings\n"
              "generate = settings._new_secret\n"
              "settings._new_secret = lambda name: time.sleep(0.02) or generate(name)  # a slow, busy machine\n"
              "time.sleep(max(0.0, float(sys.argv[1]) - time.time()))\n"
              "seen = []\n"
              "def read():\n"
              "    seen.append(load_settings().require_secret('secret_key'))\n"
              "threads = [threading.Thread(target=read) for _ in range(6)]\n"
              "[t.start() for t in threads]\n"
              "[t.join() for t in threads]\n"
              "print(' '.join(seen))\n")
    environment = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    start_at = str(time.time() + 5)
    processes = [subprocess.Popen([sys.executable, "-c", script, start_at], env=environment, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, [err[-2000:] for _, err in outputs]
    keys = {key for out, _ in outputs for key in out.split()}
    assert len(keys) == 1
    assert json.loads((tmp_path / "data" / "secrets.json").read_text())["secret_key"] == keys.pop()


def test_a_configured_secret_wins_and_only_the_others_are_generated(env: pytest.MonkeyPatch, tmp_path: Path):
    env.setenv("PRIMSELL_SECRET_KEY", "configured-secret-value-0123456789")
    settings = load_settings()
    assert settings.require_secret("secret_key") == "configured-secret-value-0123456789"
    stored = json.loads((tmp_path / "data" / "secrets.json").read_text())
    assert "secret_key" not in stored
    assert set(stored) == set(GENERATED_SECRETS) - {"secret_key"}


def _configure_all_production_secrets(env: pytest.MonkeyPatch) -> None:
    env.setenv("PRIMSELL_ENV", "production")
    env.setenv("PRIMSELL_SECRET_KEY", "production-secret-0123456789abcdef")
    env.setenv("PLATFORM_SIGNER_KEY", "0x" + "11" * 32)
    env.setenv("CUSTODY_SEED", "custody-seed-production-0123456789abcdef")
    env.setenv("CUSTODY_XPUB", account_xpub(seed_from_secret("custody-seed-production-0123456789abcdef")))
    env.setenv("STRIPE_WEBHOOK_SECRET", "whsec_production_0123456789")
    env.setenv("STRIPE_API_KEY", "sk_live_production_0123456789")
    env.setenv("SMTP_URL", "smtps://mailer:mail-password@smtp.example.com:465")
    env.setenv("KYC_ENCRYPTION_KEY", "q2Pj0yJ4bWtDxL5sN8vR1cF6hT9kZ3aE7uG0iY2wB4M=")


def test_production_without_a_secret_key_refuses_to_start(env: pytest.MonkeyPatch, tmp_path: Path):
    env.setenv("PRIMSELL_ENV", "production")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "PRIMSELL_SECRET_KEY" in str(caught.value)
    assert "production" in str(caught.value)
    assert not (tmp_path / "data" / "secrets.json").exists()


def test_production_with_an_empty_secret_key_refuses_to_start(env: pytest.MonkeyPatch):
    env.setenv("PRIMSELL_ENV", "production")
    env.setenv("PRIMSELL_SECRET_KEY", "")
    with pytest.raises(ConfigurationError, match="PRIMSELL_SECRET_KEY"):
        load_settings()


@pytest.mark.parametrize("name", ["PLATFORM_SIGNER_KEY", "CUSTODY_XPUB", "STRIPE_WEBHOOK_SECRET",
                                  "KYC_ENCRYPTION_KEY"])
def test_production_names_every_missing_secret(env: pytest.MonkeyPatch, name: str):
    _configure_all_production_secrets(env)
    env.delenv(name)
    with pytest.raises(ConfigurationError, match=name):
        load_settings()


def test_production_with_a_signer_keystore_needs_no_signer_key(env: pytest.MonkeyPatch, tmp_path: Path):
    _configure_all_production_secrets(env)
    env.delenv("PLATFORM_SIGNER_KEY")
    env.setenv("SIGNER_KEYSTORE", str(tmp_path / "signer.json"))
    assert load_settings().platform_signer_key is None


def test_production_with_all_secrets_starts(env: pytest.MonkeyPatch):
    _configure_all_production_secrets(env)
    settings = load_settings()
    assert settings.is_production
    assert settings.require_secret("secret_key") == "production-secret-0123456789abcdef"


def test_production_without_stripe_refuses_to_fall_back_to_the_sandbox(env: pytest.MonkeyPatch):
    _configure_all_production_secrets(env)
    env.delenv("STRIPE_API_KEY")
    with pytest.raises(ConfigurationError, match="STRIPE_API_KEY is not set"):
        load_settings()
    env.setenv("PAYMENTS_PROVIDER", "sandbox")  # a staging site says so explicitly, on a test chain
    env.setenv("CHAIN_ID", "11155111")
    assert load_settings().payments_provider == "sandbox"


@pytest.mark.parametrize("provider", ["auto", "stripe"])
def test_a_stripe_key_without_stripes_webhook_secret_is_refused(env: pytest.MonkeyPatch, provider: str):
    env.setenv("STRIPE_API_KEY", "sk_test_0123456789abcdef")
    env.setenv("PAYMENTS_PROVIDER", provider)
    with pytest.raises(ConfigurationError, match="STRIPE_WEBHOOK_SECRET"):
        load_settings()
    env.setenv("STRIPE_WEBHOOK_SECRET", "whsec_from_the_dashboard_0123")
    assert load_settings().require_secret("stripe_webhook_secret") == "whsec_from_the_dashboard_0123"


def test_production_without_an_smtp_server_refuses_to_start(env: pytest.MonkeyPatch):
    _configure_all_production_secrets(env)
    env.delenv("SMTP_URL")
    with pytest.raises(ConfigurationError, match="SMTP_URL"):
        load_settings()


def test_require_secret_names_an_unconfigured_setting(env: pytest.MonkeyPatch):
    settings = load_settings()
    with pytest.raises(ConfigurationError, match="stripe_api_key"):
        settings.require_secret("stripe_api_key")


def test_secrets_never_appear_in_repr_or_str(env: pytest.MonkeyPatch):
    values = {
        "PRIMSELL_SECRET_KEY": "sekrit-signing-key-aaaaaaaaaaaaaaaa",
        "STRIPE_API_KEY": "sk_test_sekrit_bbbbbbbbbbbbbbbb",
        "STRIPE_WEBHOOK_SECRET": "whsec_sekrit_cccccccccccccccc",
        "SENTRY_DSN": "https://sekritdsn@o0.ingest.example.com/1",
        "DATABASE_URL": "postgresql+psycopg://primsell:dbpassword-sekrit@db.example.com/primsell",
        "REDIS_URL": "redis://:redispassword-sekrit@cache.example.com:6379/0",
        "SMTP_URL": "smtp://mailer:smtppassword-sekrit@smtp.example.com:587",
    }
    for name, value in values.items():
        env.setenv(name, value)
    settings = load_settings()
    for text in (repr(settings), str(settings), f"{settings}"):
        assert "sekrit" not in text, text
    assert settings.require_secret("stripe_api_key") == values["STRIPE_API_KEY"]
    assert settings.effective_database_url == values["DATABASE_URL"]


def test_env_file_in_the_working_directory_is_read(env: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / ".env").write_text("PRIMSELL_SURFACES=kyc\nACCESS_TOKEN_TTL_S=60\n")
    settings = load_settings()
    assert settings.surfaces == ("kyc",)
    assert settings.access_token_ttl_s == 60


def test_non_positive_token_lifetime_is_refused(env: pytest.MonkeyPatch):
    env.setenv("ACCESS_TOKEN_TTL_S", "0")
    with pytest.raises(ValidationError):
        load_settings()
