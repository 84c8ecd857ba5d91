"""One typed settings object, read from the environment and an optional `.env` file.

Secrets are `SecretStr` so they never print. In development, missing secrets are generated once and kept
in `var/secrets.json` (git-ignored); in production a missing secret stops start-up with a clear message.
"""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ALL_SURFACES = ("admin", "checkout", "redeem", "kyc")

# Secrets that development generates for itself and production must be given.
GENERATED_SECRETS = ("secret_key", "platform_signer_key", "custody_seed", "stripe_webhook_secret")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ConfigurationError(RuntimeError):
    """The configuration cannot work; the message says which setting to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    env: Environment = Field(Environment.DEVELOPMENT, alias="PRIMSELL_ENV")
    data_dir: Path = Field(PROJECT_ROOT / "var", alias="PRIMSELL_DATA_DIR")
    # URLs may carry passwords (and RPC URLs API keys): kept out of repr() so logs never show them.
    database_url: str = Field("", alias="DATABASE_URL", repr=False)
    redis_url: str = Field("", alias="REDIS_URL", repr=False)
    public_url: str = Field("http://localhost:3000", alias="PRIMSELL_PUBLIC_URL")
    surfaces: Annotated[tuple[str, ...], NoDecode] = Field(ALL_SURFACES, alias="PRIMSELL_SURFACES")

    secret_key: SecretStr | None = Field(None, alias="PRIMSELL_SECRET_KEY")
    access_token_ttl_s: int = Field(15 * 60, alias="ACCESS_TOKEN_TTL_S", gt=0)
    refresh_token_ttl_s: int = Field(14 * 24 * 3600, alias="REFRESH_TOKEN_TTL_S", gt=0)

    # Rate limits, in the `limits` library's notation ("5/minute", "100/hour").
    login_rate_per_ip: str = Field("20/minute", alias="RATE_LIMIT_LOGIN_PER_IP")
    login_rate_per_account: str = Field("5/minute", alias="RATE_LIMIT_LOGIN_PER_ACCOUNT")
    refresh_rate_per_ip: str = Field("60/minute", alias="RATE_LIMIT_REFRESH_PER_IP")
    api_rate_per_ip: str = Field("600/minute", alias="RATE_LIMIT_API_PER_IP")
    api_rate_per_account: str = Field("300/minute", alias="RATE_LIMIT_API_PER_ACCOUNT")
    max_body_bytes: int = Field(64 * 1024, alias="API_MAX_BODY_BYTES", gt=0)

    stripe_api_key: SecretStr | None = Field(None, alias="STRIPE_API_KEY")
    stripe_webhook_secret: SecretStr | None = Field(None, alias="STRIPE_WEBHOOK_SECRET")
    chain_rpc_url: str = Field("", alias="CHAIN_RPC_URL", repr=False)
    sentry_dsn: SecretStr | None = Field(None, alias="SENTRY_DSN")

    # Workflow engine and daemons (issue 3).
    job_lease_s: float = Field(60.0, alias="JOB_LEASE_SECONDS", gt=0)
    scheduler_heartbeat_s: float = Field(5.0, alias="SCHEDULER_HEARTBEAT_SECONDS", gt=0)
    # The job runner's CPU niceness (0-19): background work yields the CPU to the web process, so webhook
    # acknowledgements and page loads stay fast while a backlog is worked off. 0 leaves it as started.
    jobs_nice: int = Field(10, alias="JOBS_NICE", ge=0, le=19)
    outbox_batch_size: int = Field(500, alias="OUTBOX_BATCH_SIZE", gt=0)
    outbox_max_attempts: int = Field(8, alias="OUTBOX_MAX_ATTEMPTS", gt=0)
    outbox_backoff_base_s: float = Field(2.0, alias="OUTBOX_BACKOFF_BASE_SECONDS", ge=0)
    outbox_backoff_max_s: float = Field(3600.0, alias="OUTBOX_BACKOFF_MAX_SECONDS", ge=0)
    outbox_retention_days: float = Field(7, alias="OUTBOX_RETENTION_DAYS", gt=0)
    job_run_retention_days: float = Field(14, alias="JOB_RUN_RETENTION_DAYS", gt=0)
    error_log_retention_days: float = Field(30, alias="ERROR_LOG_RETENTION_DAYS", gt=0)
    email_retention_days: float = Field(30, alias="EMAIL_RETENTION_DAYS", gt=0)
    retention_batch_size: int = Field(1000, alias="RETENTION_BATCH_SIZE", gt=0)
    # FX: "static" (offline demo; rates from FX_STATIC_RATES, shown as static) or "binance".
    fx_mode: str = Field("static", alias="FX_MODE", pattern="^(static|binance)$")
    fx_static_rates: str = Field(
        "ETH/USD=2500,ETH/EUR=2300,POL/USD=0.25,POL/EUR=0.23,USDC/USD=1,USDC/EUR=0.92",
        alias="FX_STATIC_RATES",
    )
    fx_max_age_s: float = Field(600.0, alias="FX_MAX_AGE_SECONDS", gt=0)
    binance_base_url: str = Field("https://data-api.binance.vision", alias="BINANCE_BASE_URL")
    binance_weight_limit: int = Field(6000, alias="BINANCE_WEIGHT_LIMIT_1M", gt=0)
    binance_timeout_s: float = Field(10.0, alias="BINANCE_TIMEOUT_SECONDS", gt=0)

    # Checkout, payments and orders (issue 5). PAYMENTS_PROVIDER "auto" = Stripe when STRIPE_API_KEY is set,
    # else the embedded sandbox (no real money).
    payments_provider: str = Field("auto", alias="PAYMENTS_PROVIDER", pattern="^(auto|stripe|sandbox)$")
    stripe_api_base: str = Field("", alias="STRIPE_API_BASE")  # empty = Stripe's own (tests point it locally)
    stripe_timeout_s: float = Field(20.0, alias="STRIPE_TIMEOUT_SECONDS", gt=0)
    order_ttl_s: int = Field(30 * 60, alias="ORDER_TTL_SECONDS", gt=0)
    order_max_quantity: int = Field(10, alias="ORDER_MAX_QUANTITY", gt=0)
    order_quote_asset: str = Field("ETH", alias="ORDER_QUOTE_ASSET")
    order_expirer_batch_size: int = Field(100, alias="ORDER_EXPIRER_BATCH_SIZE", gt=0)
    refund_max_attempts: int = Field(8, alias="REFUND_MAX_ATTEMPTS", gt=0)

    # Email to consumers (receipts, account links). SMTP_URL: smtp://user:password@host:587 (STARTTLS) or
    # smtps://user:password@host:465; unset in development = kept in the local mailbox (/api/dev/mailbox).
    smtp_url: SecretStr | None = Field(None, alias="SMTP_URL")
    email_from: str = Field("Primsell <no-reply@primsell.localhost>", alias="EMAIL_FROM", max_length=200)
    smtp_timeout_s: float = Field(15.0, alias="SMTP_TIMEOUT_SECONDS", gt=0)
    email_batch_size: int = Field(50, alias="EMAIL_BATCH_SIZE", gt=0)
    email_max_attempts: int = Field(8, alias="EMAIL_MAX_ATTEMPTS", gt=0)
    # How long a "set your password" link in an email stays valid; one use (setting the password spends it).
    account_link_ttl_s: int = Field(3600, alias="ACCOUNT_LINK_TTL_SECONDS", gt=0)

    # Chain access and the transaction manager (issue 4). One chain configuration: CHAIN_KEY names it
    # (campaigns refer to it); "local" is an anvil node on 127.0.0.1:8545 unless CHAIN_RPC_URL says otherwise.
    chain_key: str = Field("local", alias="CHAIN_KEY", max_length=32)
    chain_id: int | None = Field(None, alias="CHAIN_ID", gt=0)  # None: asked from the node
    chain_confirmations: int = Field(1, alias="CHAIN_CONFIRMATIONS", ge=1)
    chain_explorer_url: str = Field("", alias="CHAIN_EXPLORER_URL")  # e.g. https://sepolia.etherscan.io
    chain_rpc_timeout_s: float = Field(10.0, alias="CHAIN_RPC_TIMEOUT_SECONDS", gt=0)
    # Dev funding of the platform signer from a prefunded node account; only ever on the "local" chain.
    chain_dev_funding: bool = Field(True, alias="CHAIN_DEV_FUNDING")
    # The platform signer: an eth-keyfile keystore (path + password) wins over PLATFORM_SIGNER_KEY.
    platform_signer_key: SecretStr | None = Field(None, alias="PLATFORM_SIGNER_KEY")
    signer_keystore_path: Path | None = Field(None, alias="SIGNER_KEYSTORE")
    signer_keystore_password: SecretStr | None = Field(None, alias="SIGNER_KEYSTORE_PASSWORD")
    # Seed of the custodial wallets (a BIP-39 mnemonic, or any random secret used as the BIP-32 seed).
    custody_seed: SecretStr | None = Field(None, alias="CUSTODY_SEED")
    custody_gas_topup_wei: int = Field(2 * 10**15, alias="CUSTODY_GAS_TOPUP_WEI", ge=0)
    signer_low_balance_wei: int = Field(10**17, alias="SIGNER_LOW_BALANCE_WEI", ge=0)
    tx_priority_fee_wei: int = Field(10**9, alias="TX_PRIORITY_FEE_WEI", ge=0)
    tx_replace_after_s: float = Field(120.0, alias="TX_REPLACE_AFTER_SECONDS", ge=0)
    tx_fee_bump_percent: int = Field(15, alias="TX_FEE_BUMP_PERCENT", ge=10)
    tx_batch_size: int = Field(200, alias="TX_BATCH_SIZE", gt=0)
    tx_backoff_base_s: float = Field(2.0, alias="TX_BACKOFF_BASE_SECONDS", ge=0)
    tx_backoff_max_s: float = Field(300.0, alias="TX_BACKOFF_MAX_SECONDS", ge=0)
    mint_batch_size: int = Field(250, alias="MINT_BATCH_SIZE", gt=0, le=1000)  # tokens per airdrop transaction
    mint_dispatch_max_requests: int = Field(2000, alias="MINT_DISPATCH_MAX_REQUESTS", gt=0)
    deploy_batch_size: int = Field(20, alias="DEPLOY_BATCH_SIZE", gt=0)

    @field_validator("surfaces", mode="before")
    @classmethod
    def _parse_surfaces(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        surfaces = tuple(dict.fromkeys(str(v).strip().lower() for v in value))  # type: ignore[union-attr]
        unknown = [s for s in surfaces if s not in ALL_SURFACES]
        if unknown:
            raise ValueError(f"unknown surface(s) {unknown}; choose from {', '.join(ALL_SURFACES)}")
        if not surfaces:
            raise ValueError("at least one surface must be enabled")
        return surfaces

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        return value

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'primsell.db'}"

    def serves(self, surface: str) -> bool:
        return surface in self.surfaces

    def require_secret(self, name: str) -> str:
        value: SecretStr | None = getattr(self, name)
        if value is None or not value.get_secret_value():
            raise ConfigurationError(f"setting {name} is not configured")
        return value.get_secret_value()


def _secrets_file(data_dir: Path) -> Path:
    return data_dir / "secrets.json"


def _secret_value(value: SecretStr | None) -> str:
    return "" if value is None else value.get_secret_value()


def _fill_generated_secrets(settings: Settings) -> Settings:
    """Give development a stable set of secrets; refuse to start production without them."""
    # An empty value (`PRIMSELL_SECRET_KEY=` in .env) counts as missing: an empty signing key is no key.
    missing = [name for name in GENERATED_SECRETS if not _secret_value(getattr(settings, name))]
    if settings.signer_keystore_path is not None and "platform_signer_key" in missing:
        missing.remove("platform_signer_key")  # the signer key comes from the encrypted keystore instead
    if not missing:
        return settings
    if settings.is_production:
        names = ", ".join(Settings.model_fields[name].alias or name for name in missing)
        raise ConfigurationError(
            f"PRIMSELL_ENV=production but {names} is not set. Set it in the environment or .env; "
            "production never generates secrets."
        )
    path = _secrets_file(settings.data_dir)
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for name in missing:
        if name not in stored:
            stored[name] = secrets.token_urlsafe(48)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written with owner-only permissions: it holds signing keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle, indent=2)
    return settings.model_copy(update={name: SecretStr(stored[name]) for name in missing})


def _check_stripe_webhook_secret(settings: Settings) -> None:
    """A Stripe key needs Stripe's own webhook secret: a generated one would reject every webhook Stripe sends.
    Checked before development fills in its generated secrets."""
    has_key = bool(_secret_value(settings.stripe_api_key))
    uses_stripe = settings.payments_provider == "stripe" or settings.payments_provider == "auto" and has_key
    if uses_stripe and not _secret_value(settings.stripe_webhook_secret):
        raise ConfigurationError(
            "STRIPE_API_KEY is set but STRIPE_WEBHOOK_SECRET is not: every webhook Stripe sends would be refused. "
            "Set it to the signing secret of your Stripe webhook endpoint (whsec_...).")


def _check_production(settings: Settings) -> None:
    """What production needs beyond its secrets: an SMTP server (receipts and account links go by email), and real
    payments. With no STRIPE_API_KEY it would fall back to the sandbox, where anyone can "pay" with a test card and
    receive tokens; only an explicit PAYMENTS_PROVIDER=sandbox (a staging site) may."""
    if not settings.is_production:
        return
    if not _secret_value(settings.smtp_url):
        raise ConfigurationError(
            "PRIMSELL_ENV=production but SMTP_URL is not set: buyers get their receipts and account links by email.")
    if settings.payments_provider == "auto" and not _secret_value(settings.stripe_api_key):
        raise ConfigurationError(
            "PRIMSELL_ENV=production but STRIPE_API_KEY is not set: production takes real payments. Set it, or set "
            "PAYMENTS_PROVIDER=sandbox explicitly for a staging site (anyone can pay there with a test card).")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and `.env`), fill development secrets, and refuse a set-up that would
    silently lose money or every payment."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    _check_stripe_webhook_secret(settings)
    settings = _fill_generated_secrets(settings)
    _check_production(settings)
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
