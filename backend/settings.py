"""One typed settings object, read from the environment and an optional `.env` file.

Secrets are `SecretStr` so they never print. In development, missing secrets are generated once and kept
in `var/secrets.json` (git-ignored); in production a missing secret stops start-up with a clear message.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import ipaddress
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

# Secrets that development generates for itself. Production must be given each of them, except CUSTODY_SEED:
# only the job runner holds it (the web process derives custodial addresses from CUSTODY_XPUB).
GENERATED_SECRETS = ("secret_key", "platform_signer_key", "custody_seed", "stripe_webhook_secret",
                     "kyc_encryption_key")
RUNNER_ONLY_SECRETS = ("custody_seed",)

# Secrets production checks for strength (length and variety; a weak one stops start-up, naming the setting).
STRONG_SECRETS = ("secret_key", "custody_seed")
MIN_SECRET_BYTES = 32
MIN_SECRET_DISTINCT_CHARS = 10

# Chains on which production may run the sandbox payment provider (anyone can "pay" there with a test card, so
# its tokens must be worthless): local development nodes and public test networks, by EIP-155 chain id. Every
# other chain id, mainnets included (1, 10, 56, 137, 8453, 42161, ...), is refused.
SANDBOX_TEST_CHAIN_IDS: dict[int, str] = {
    31337: "anvil / Hardhat (local)",
    1337: "Geth dev / Ganache (local)",
    131277322940537: "eth-tester (in-process)",
    11155111: "Ethereum Sepolia",
    17000: "Ethereum Holesky",
    560048: "Ethereum Hoodi",
    80002: "Polygon Amoy",
    84532: "Base Sepolia",
    11155420: "OP Sepolia",
    421614: "Arbitrum Sepolia",
    97: "BNB Smart Chain testnet",
    43113: "Avalanche Fuji",
}


# The comprehensively sanctioned jurisdictions (UN/EU/US/UK programmes that ban nearly all dealings), as ISO 3166
# codes: Cuba, Iran, North Korea, Syria, and the occupied regions of Ukraine that have their own ISO 3166-2 codes:
# Crimea (UA-43), Sevastopol (UA-40), Donetsk (UA-14) and Luhansk (UA-09) oblasts (whole oblasts: ISO codes cannot
# tell occupied parts from the rest). The occupied parts of Zaporizhzhia (UA-23) and Kherson (UA-65) are not listed
# by default for that reason; add them if counsel says so. Review this list with counsel: sanctions programmes change.
DEFAULT_KYC_BLOCKLIST = "CU,IR,KP,SY,UA-43,UA-40,UA-14,UA-09"


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
    # Development answers from any address only when told (see backend/exposure.py): the dev mailbox and the sandbox
    # pay page serve loopback peers (or a signed-in platform admin), and the server binds 127.0.0.1.
    dev_allow_remote: bool = Field(False, alias="PRIMSELL_DEV_ALLOW_REMOTE")
    access_token_ttl_s: int = Field(15 * 60, alias="ACCESS_TOKEN_TTL_S", gt=0)
    refresh_token_ttl_s: int = Field(14 * 24 * 3600, alias="REFRESH_TOKEN_TTL_S", gt=0)

    # Web sessions (HttpOnly cookie): signed out after this long without a request; the cookie gets a new value
    # on the first page load after WEB_SESSION_ROTATE_S, and the old value stops working GRACE seconds later.
    web_session_idle_timeout_s: int = Field(8 * 3600, alias="WEB_SESSION_IDLE_TIMEOUT_S", gt=0)
    web_session_rotate_s: int = Field(3600, alias="WEB_SESSION_ROTATE_S", gt=0, le=24 * 3600)
    web_session_rotation_grace_s: int = Field(60, alias="WEB_SESSION_ROTATION_GRACE_S", ge=0, le=600)
    # Invitations to join a brand: how long a mailed link works, and at most one mail per this many seconds.
    invitation_ttl_s: int = Field(7 * 24 * 3600, alias="INVITATION_TTL_S", gt=0)
    invitation_resend_after_s: int = Field(60, alias="INVITATION_RESEND_AFTER_S", ge=0)
    # Proxies whose X-Forwarded-For is believed (IPs or CIDRs, comma-separated); none by default.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field((), alias="TRUSTED_PROXIES")

    # Rate limits, in the `limits` library's notation ("5/minute", "100/hour").
    # Sign-in attempts per client network (every attempt, counted before the password check).
    login_rate_per_ip: str = Field("20/minute", alias="RATE_LIMIT_LOGIN_PER_IP")
    # Failed sign-ins per account: the first LOGIN_BACKOFF_AFTER_FAILURES are free, then each further attempt waits
    # 1, 2, 4, ... seconds, at most LOGIN_BACKOFF_MAX_S; a success (or LOGIN_FAILURE_WINDOW_S) forgets them.
    login_backoff_after_failures: int = Field(5, alias="LOGIN_BACKOFF_AFTER_FAILURES", gt=0)
    login_backoff_max_s: int = Field(300, alias="LOGIN_BACKOFF_MAX_S", gt=0)
    login_failure_window_s: int = Field(24 * 3600, alias="LOGIN_FAILURE_WINDOW_S", gt=0)
    # "Email me a link" requests, per IP and per address.
    link_rate_per_ip: str = Field("20/minute", alias="RATE_LIMIT_LINK_PER_IP")
    link_rate_per_account: str = Field("5/minute", alias="RATE_LIMIT_LINK_PER_ACCOUNT")
    refresh_rate_per_ip: str = Field("60/minute", alias="RATE_LIMIT_REFRESH_PER_IP")
    api_rate_per_ip: str = Field("600/minute", alias="RATE_LIMIT_API_PER_IP")
    api_rate_per_account: str = Field("300/minute", alias="RATE_LIMIT_API_PER_ACCOUNT")
    max_body_bytes: int = Field(64 * 1024, alias="API_MAX_BODY_BYTES", gt=0)
    # Rewards: a perk's QR code lives REWARD_QR_TTL_S (the page draws a fresh one before); staff may still confirm a
    # code they scanned up to REWARD_QR_GRACE_S after it expired (POAP keeps the previous code valid as long).
    reward_qr_ttl_s: int = Field(60, alias="REWARD_QR_TTL_S", ge=10, le=600)
    reward_qr_grace_s: int = Field(30, alias="REWARD_QR_GRACE_S", ge=0, le=300)
    reward_qr_rate_per_ip: str = Field("60/minute", alias="RATE_LIMIT_REWARD_QR_PER_IP")
    reward_online_rate_per_ip: str = Field("20/minute", alias="RATE_LIMIT_REWARD_ONLINE_PER_IP")
    # Sign-In with Ethereum: a nonce is good for SIWE_NONCE_TTL_S; a verified wallet proof for WALLET_PROOF_TTL_S.
    siwe_nonce_ttl_s: int = Field(600, alias="SIWE_NONCE_TTL_S", ge=30, le=3600)
    siwe_nonce_rate_per_ip: str = Field("30/minute", alias="RATE_LIMIT_SIWE_NONCE_PER_IP")
    # A failed signature keeps its nonce (a holder may pick the wrong account) and costs a call to the node.
    siwe_verify_rate_per_ip: str = Field("30/minute", alias="RATE_LIMIT_SIWE_VERIFY_PER_IP")
    wallet_proof_ttl_s: int = Field(3600, alias="WALLET_PROOF_TTL_S", ge=60, le=24 * 3600)

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
    # A refund left "submitting" this long was abandoned by a runner that died during its provider call: it is sent
    # again (with the same idempotency key, so the provider returns the refund it made, if it made one).
    refund_submit_timeout_s: float = Field(300.0, alias="REFUND_SUBMIT_TIMEOUT_SECONDS", gt=0)
    # Supply squatting (issue 10). An order holds its supply only ORDER_UNPAID_HOLD_SECONDS until its payment page
    # is opened (through our own pay link); ORDER_TTL_SECONDS runs from then. Unpaid orders holding supply are
    # capped per email and per network (an IPv4 address or an IPv6 /64), and one network may hold at most
    # ORDER_MAX_UNPAID_SUPPLY_PERCENT_PER_IP of a campaign's supply unpaid (at least one token). Attempts to create
    # an order are rate-limited per network, per email and per campaign and network.
    order_unpaid_hold_s: int = Field(300, alias="ORDER_UNPAID_HOLD_SECONDS", gt=0)
    order_max_unpaid_per_email: int = Field(3, alias="ORDER_MAX_UNPAID_PER_EMAIL", gt=0)
    order_max_unpaid_per_ip: int = Field(10, alias="ORDER_MAX_UNPAID_PER_IP", gt=0)
    order_max_unpaid_supply_percent_per_ip: int = Field(20, alias="ORDER_MAX_UNPAID_SUPPLY_PERCENT_PER_IP", gt=0,
                                                        le=100)
    checkout_rate_per_ip: str = Field("30/hour", alias="RATE_LIMIT_CHECKOUT_PER_IP")
    checkout_rate_per_email: str = Field("10/hour", alias="RATE_LIMIT_CHECKOUT_PER_EMAIL")
    checkout_rate_per_campaign_ip: str = Field("15/hour", alias="RATE_LIMIT_CHECKOUT_PER_CAMPAIGN_IP")
    # Public reads that hit the database (order status, public campaign, quote; token metadata on its own, as
    # marketplaces fetch it in bursts from few addresses).
    public_read_rate_per_ip: str = Field("120/minute", alias="RATE_LIMIT_PUBLIC_PER_IP")
    metadata_rate_per_ip: str = Field("600/minute", alias="RATE_LIMIT_METADATA_PER_IP")

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
    # Seed of the custodial wallets (a BIP-39 mnemonic, or any random secret used as the BIP-32 seed). Only the job
    # runner needs it (it signs withdrawals); the web process derives addresses from CUSTODY_XPUB, the extended
    # public key of m/44'/60'/0'/0 (development derives it from the generated seed).
    custody_seed: SecretStr | None = Field(None, alias="CUSTODY_SEED")
    custody_xpub: str = Field("", alias="CUSTODY_XPUB", repr=False)  # public, but it links every custodial wallet
    custody_gas_topup_wei: int = Field(2 * 10**15, alias="CUSTODY_GAS_TOPUP_WEI", ge=0)
    signer_low_balance_wei: int = Field(10**17, alias="SIGNER_LOW_BALANCE_WEI", ge=0)
    tx_priority_fee_wei: int = Field(10**9, alias="TX_PRIORITY_FEE_WEI", ge=0)
    # Ceilings on what one transaction (first signing or any replacement) may offer per gas: a stuck transaction
    # waits at the ceiling (and alerts) rather than bidding without limit.
    tx_max_fee_per_gas_wei: int = Field(500 * 10**9, alias="TX_MAX_FEE_PER_GAS_WEI", gt=0)
    tx_max_priority_fee_per_gas_wei: int = Field(50 * 10**9, alias="TX_MAX_PRIORITY_FEE_PER_GAS_WEI", ge=0)
    tx_replace_after_s: float = Field(120.0, alias="TX_REPLACE_AFTER_SECONDS", ge=0)
    tx_fee_bump_percent: int = Field(15, alias="TX_FEE_BUMP_PERCENT", ge=10)
    tx_batch_size: int = Field(200, alias="TX_BATCH_SIZE", gt=0)
    tx_backoff_base_s: float = Field(2.0, alias="TX_BACKOFF_BASE_SECONDS", ge=0)
    tx_backoff_max_s: float = Field(300.0, alias="TX_BACKOFF_MAX_SECONDS", ge=0)
    mint_batch_size: int = Field(250, alias="MINT_BATCH_SIZE", gt=0, le=1000)  # tokens per airdrop transaction
    mint_dispatch_max_requests: int = Field(2000, alias="MINT_DISPATCH_MAX_REQUESTS", gt=0)
    deploy_batch_size: int = Field(20, alias="DEPLOY_BATCH_SIZE", gt=0)
    # Deploy and retry requests per brand: each deploy is paid by the platform's signer, and a draft can be deployed.
    deploy_rate_per_brand: str = Field("10/day", alias="RATE_LIMIT_DEPLOYS_PER_BRAND")
    # Reward payouts (issue 13, M14): holders per vault `allocate` transaction (a holder costs ~25k gas), and periods
    # one `reward_distributor` run snapshots and allocates at most.
    reward_allocation_batch_size: int = Field(100, alias="REWARD_ALLOCATION_BATCH_SIZE", gt=0, le=500)
    reward_periods_per_run: int = Field(20, alias="REWARD_PERIODS_PER_RUN", gt=0)
    reward_push_batch_size: int = Field(50, alias="REWARD_PUSH_BATCH_SIZE", gt=0, le=500)
    # Chain indexer and royalty calculator (issue 12; INDEXER_BLOCK_RANGE is with the sales settings below). Block
    # ranges one `chain_indexer` run reads at most; sales one `royalty_calculator` run looks at; the longest wait
    # between two checks of a sale the chain does not know yet (the wait doubles from SALES_RECHECK_SECONDS).
    indexer_max_ranges_per_run: int = Field(50, alias="INDEXER_MAX_RANGES_PER_RUN", gt=0)
    royalty_batch_size: int = Field(200, alias="ROYALTY_BATCH_SIZE", gt=0)
    royalty_recheck_max_s: int = Field(86400, alias="ROYALTY_RECHECK_MAX_SECONDS", gt=0)

    # Secondary sales and royalties (issue 12). A marketplace poller runs when its API key is set; the URLs can
    # point anywhere (tests point them at local fake servers). MARKETPLACE_CHAIN_NAME / RARIBLE_BLOCKCHAIN name the
    # configured chain in OpenSea's and Rarible's vocabularies (the local chain: "ethereum" / "ETHEREUM").
    opensea_api_url: str = Field("https://api.opensea.io", alias="OPENSEA_API_URL")
    opensea_api_key: SecretStr | None = Field(None, alias="OPENSEA_API_KEY")
    rarible_api_url: str = Field("https://api.rarible.org", alias="RARIBLE_API_URL")
    rarible_api_key: SecretStr | None = Field(None, alias="RARIBLE_API_KEY")
    marketplace_chain_name: str = Field("ethereum", alias="MARKETPLACE_CHAIN_NAME", max_length=32)
    rarible_blockchain: str = Field("ETHEREUM", alias="RARIBLE_BLOCKCHAIN", max_length=32)
    # Seaport deployments to index (comma list; the local deployment's address is recorded by the demo).
    seaport_addresses: Annotated[tuple[str, ...], NoDecode] = Field((), alias="SEAPORT_ADDRESSES")
    # Known marketplace fee recipients, JSON {address: marketplace}; default: OpenSea's fee recipient.
    marketplace_fee_recipients: dict[str, str] = Field(
        {"0x0000a26b00c1f0df003000390027140000faa719": "opensea"}, alias="MARKETPLACE_FEE_RECIPIENTS")
    # Each poller walk re-reads this far back before the newest event it has seen: late and dropped events.
    sales_lookback_s: int = Field(3600, alias="SALES_LOOKBACK_SECONDS", ge=0)
    sales_max_pages_per_run: int = Field(20, alias="SALES_MAX_PAGES_PER_RUN", gt=0)
    sales_page_size: int = Field(100, alias="SALES_PAGE_SIZE", gt=0, le=100)
    # Read budgets (token bucket per source; OpenSea allows about 120 reads/min per account, all keys shared).
    opensea_reads_per_minute: int = Field(100, alias="OPENSEA_READS_PER_MINUTE", gt=0)
    rarible_reads_per_minute: int = Field(60, alias="RARIBLE_READS_PER_MINUTE", gt=0)
    marketplace_timeout_s: float = Field(20.0, alias="MARKETPLACE_TIMEOUT_SECONDS", gt=0)
    # The longest a poller waits in one run for a Retry-After or an empty bucket; longer waits end the run.
    marketplace_max_wait_s: float = Field(10.0, alias="MARKETPLACE_MAX_WAIT_SECONDS", ge=0)
    # How soon the royalty calculator looks again at a sale only marketplaces reported (unverified).
    sales_recheck_s: int = Field(600, alias="SALES_RECHECK_SECONDS", gt=0)
    sales_ingest_batch_size: int = Field(2000, alias="SALES_INGEST_BATCH_SIZE", gt=0)
    indexer_block_range: int = Field(2000, alias="INDEXER_BLOCK_RANGE", gt=0)
    # Reconciliation (issue 15): a paid order with no mint and no refund after RECONCILE_MINT_GRACE_HOURS is an
    # exception (before that it is in flight); a run without --since looks back RECONCILE_LOOKBACK_DAYS.
    reconcile_mint_grace_h: float = Field(2.0, alias="RECONCILE_MINT_GRACE_HOURS", gt=0)
    reconcile_lookback_days: int = Field(35, alias="RECONCILE_LOOKBACK_DAYS", gt=0)
    # A mint no request accounts for counts for a wallet's order only if its block time is at or after the payment,
    # less this much: a block's timestamp comes from another machine's clock (its slot's start).
    reconcile_clock_skew_s: int = Field(120, alias="RECONCILE_CLOCK_SKEW_SECONDS", ge=0)

    # KYC (issue 14). KYC_ENCRYPTION_KEY: comma-separated Fernet keys, newest first (documents are encrypted with the
    # first and read with any, so a new key can be put in front and the old ones retired after `rotate_documents`).
    kyc_encryption_key: SecretStr | None = Field(None, alias="KYC_ENCRYPTION_KEY")
    kyc_storage_dir: Path | None = Field(None, alias="KYC_STORAGE_DIR")  # default: <data dir>/kyc-documents
    kyc_validity_days: int = Field(365, alias="KYC_VALIDITY_DAYS", gt=0)
    kyc_document_retention_days: float = Field(30, alias="KYC_DOCUMENT_RETENTION_DAYS", gt=0)
    kyc_four_eyes: bool = Field(True, alias="KYC_FOUR_EYES")  # a rejection needs a second reviewer's confirmation
    kyc_blocklist: str = Field(DEFAULT_KYC_BLOCKLIST, alias="KYC_JURISDICTION_BLOCKLIST")
    kyc_min_age: int = Field(18, alias="KYC_MIN_AGE", ge=0, le=120)
    kyc_claim_timeout_s: int = Field(30 * 60, alias="KYC_CLAIM_TIMEOUT_SECONDS", gt=0)
    kyc_sla_hours: float = Field(24, alias="KYC_SLA_HOURS", gt=0)
    kyc_max_file_bytes: int = Field(10 * 1024 * 1024, alias="KYC_MAX_FILE_BYTES", gt=0)
    kyc_max_image_pixels: int = Field(40_000_000, alias="KYC_MAX_IMAGE_PIXELS", gt=0)
    kyc_document_url_ttl_s: int = Field(300, alias="KYC_DOCUMENT_URL_TTL_SECONDS", gt=0)
    # Withdrawing a custodial token bought for more than this (minor units of its price's currency) needs KYC; 0: all.
    kyc_withdrawal_threshold_minor: int = Field(100_000, alias="KYC_WITHDRAWAL_THRESHOLD_MINOR", ge=0)
    kyc_submission_rate_per_account: str = Field("10/hour", alias="RATE_LIMIT_KYC_SUBMISSIONS_PER_ACCOUNT")
    kyc_upload_rate_per_account: str = Field("60/hour", alias="RATE_LIMIT_KYC_UPLOADS_PER_ACCOUNT")
    # Per network (orders.limits.client_network): free accounts from one address share it.
    kyc_upload_rate_per_ip: str = Field("120/hour", alias="RATE_LIMIT_KYC_UPLOADS_PER_IP")
    kyc_submission_rate_per_ip: str = Field("30/hour", alias="RATE_LIMIT_KYC_SUBMISSIONS_PER_IP")
    kyc_staged_upload_ttl_s: int = Field(24 * 3600, alias="KYC_STAGED_UPLOAD_TTL_SECONDS", gt=0)
    # "manual": reviewers decide every case. "sumsub": cases also go to Sumsub, whose applicantReviewed webhooks
    # (POST /api/kyc/webhooks/sumsub) land in the same machine and queue.
    kyc_provider: str = Field("manual", alias="KYC_PROVIDER", pattern="^(manual|sumsub)$")
    sumsub_base_url: str = Field("https://api.sumsub.com", alias="SUMSUB_BASE_URL")
    sumsub_app_token: SecretStr | None = Field(None, alias="SUMSUB_APP_TOKEN")
    sumsub_secret_key: SecretStr | None = Field(None, alias="SUMSUB_SECRET_KEY")
    sumsub_webhook_secret: SecretStr | None = Field(None, alias="SUMSUB_WEBHOOK_SECRET")
    sumsub_level_name: str = Field("basic-kyc-level", alias="SUMSUB_LEVEL_NAME")
    sumsub_timeout_s: float = Field(20.0, alias="SUMSUB_TIMEOUT_SECONDS", gt=0)

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

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_trusted_proxies(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        networks = []
        for raw in value:  # type: ignore[union-attr]
            try:
                networks.append(str(ipaddress.ip_network(str(raw).strip(), strict=False)))
            except ValueError as exc:
                raise ValueError(f"TRUSTED_PROXIES: {raw!r} is not an IP address or CIDR network") from exc
        return tuple(networks)

    @field_validator("checkout_rate_per_ip", "checkout_rate_per_email", "checkout_rate_per_campaign_ip",
                     "public_read_rate_per_ip", "metadata_rate_per_ip")
    @classmethod
    def _check_rate_rule(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate limit such as '30/hour' or '120/minute'") from exc
        return value

    @field_validator("seaport_addresses", mode="before")
    @classmethod
    def _parse_address_list(cls, value: object) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return tuple(str(v).strip() for v in value)  # type: ignore[union-attr]

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be a sqlite:// or postgresql+psycopg:// URL")
        return value

    @property
    def kyc_documents_dir(self) -> Path:
        return self.kyc_storage_dir or self.data_dir / "kyc-documents"

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
    if settings.is_production:
        missing = [name for name in missing if name not in RUNNER_ONLY_SECRETS]  # the job runner checks its own
    if not missing:
        return settings
    if settings.is_production:
        names = ", ".join(Settings.model_fields[name].alias or name for name in missing)
        raise ConfigurationError(
            f"PRIMSELL_ENV=production but {names} is not set. Set it in the environment or .env; "
            "production never generates secrets."
        )
    stored = _stored_secrets(_secrets_file(settings.data_dir), missing)
    return settings.model_copy(update={name: SecretStr(stored[name]) for name in missing})


def _stored_secrets(path: Path, missing: list[str]) -> dict[str, str]:
    """Read the development secrets file, adding a new secret for each of `missing` it lacks.

    Threads of one process and processes started together (the web app and a runner) all come here on first
    use: an exclusive lock on a side file makes the read-add-write one step, so they all end up with the same
    secrets, and the file is replaced atomically so a reader never sees it half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        added = {name: _new_secret(name) for name in missing if name not in stored}
        if added:
            stored |= added
            temporary = path.with_suffix(".tmp")
            # Written with owner-only permissions: it holds signing keys.
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(stored, handle, indent=2)
            os.replace(temporary, path)
        return stored


def _new_secret(name: str) -> str:
    if name == "kyc_encryption_key":  # a Fernet key: 32 random bytes, URL-safe base64
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(48)


def _check_kyc(settings: Settings) -> None:
    """KYC_ENCRYPTION_KEY must be Fernet keys (a typo would make every stored document unreadable), and the Sumsub
    provider needs its credentials."""
    for key in _secret_value(settings.kyc_encryption_key).split(","):
        try:
            valid = len(base64.urlsafe_b64decode(key.strip().encode())) == 32
        except (binascii.Error, ValueError):
            valid = False
        if key.strip() and not valid:
            raise ConfigurationError(
                "KYC_ENCRYPTION_KEY must be comma-separated Fernet keys (32 bytes, URL-safe base64), newest first; "
                "make one with: python -c \"from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())\"")
    if settings.kyc_provider == "sumsub":
        missing = [alias for name, alias in (("sumsub_app_token", "SUMSUB_APP_TOKEN"),
                                             ("sumsub_secret_key", "SUMSUB_SECRET_KEY"),
                                             ("sumsub_webhook_secret", "SUMSUB_WEBHOOK_SECRET"))
                   if not _secret_value(getattr(settings, name))]
        if missing:
            raise ConfigurationError(f"KYC_PROVIDER=sumsub needs {', '.join(missing)}.")


def _check_stripe_webhook_secret(settings: Settings) -> None:
    """A Stripe key needs Stripe's own webhook secret: a generated one would reject every webhook Stripe sends.
    Checked before development fills in its generated secrets."""
    has_key = bool(_secret_value(settings.stripe_api_key))
    uses_stripe = settings.payments_provider == "stripe" or (settings.payments_provider == "auto" and has_key)
    if uses_stripe and not _secret_value(settings.stripe_webhook_secret):
        raise ConfigurationError(
            "STRIPE_API_KEY is set but STRIPE_WEBHOOK_SECRET is not: every webhook Stripe sends would be refused. "
            "Set it to the signing secret of your Stripe webhook endpoint (whsec_...).")


def weak_secret_reason(value: str) -> str | None:
    """Why `value` is too weak to sign tokens or seed wallets, or None. Length alone lets `aaaa...` or a repeated
    word through, so a strong secret also needs variety and must not be one short piece repeated."""
    if len(value.encode()) < MIN_SECRET_BYTES:
        return f"is shorter than {MIN_SECRET_BYTES} bytes"
    if len(set(value)) < MIN_SECRET_DISTINCT_CHARS:
        return f"has fewer than {MIN_SECRET_DISTINCT_CHARS} different characters"
    for period in range(1, len(value) // 2 + 1):
        if len(value) % period == 0 and value[:period] * (len(value) // period) == value:
            return "is one short piece repeated"
    return None


def _check_secret_strength(settings: Settings) -> None:
    """Production refuses a weak PRIMSELL_SECRET_KEY or CUSTODY_SEED; the message names the setting, never the
    value. Generate one with `python -c "import secrets; print(secrets.token_urlsafe(48))"`."""
    for name in STRONG_SECRETS:
        value = _secret_value(getattr(settings, name))
        reason = weak_secret_reason(value) if value else None
        if reason is not None:
            alias = Settings.model_fields[name].alias or name
            raise ConfigurationError(
                f"{alias} {reason}: production needs a long random secret. Generate one with "
                "python -c \"import secrets; print(secrets.token_urlsafe(48))\" (a BIP-39 mnemonic works for "
                "CUSTODY_SEED).")


def _fill_custody_xpub(settings: Settings) -> Settings:
    """Check CUSTODY_XPUB, or derive it from the (generated) seed outside production. Production requires it: the
    web process shows custodial addresses without holding the seed."""
    from backend.chain import hd

    if settings.custody_xpub:
        try:
            hd.check_xpub(settings.custody_xpub)
        except hd.ExtendedKeyError as exc:
            raise ConfigurationError(f"CUSTODY_XPUB {exc}.") from None
        return settings
    if settings.is_production:
        raise ConfigurationError(
            "PRIMSELL_ENV=production but CUSTODY_XPUB is not set: the web process derives custodial addresses from "
            f"the extended public key of {hd.ACCOUNT_PATH} (`python -m backend custody-xpub` prints it from "
            "CUSTODY_SEED).")
    try:
        seed = hd.seed_from_secret(_secret_value(settings.custody_seed))
    except hd.SeedError as exc:
        raise ConfigurationError(f"CUSTODY_SEED {exc}.") from None
    return settings.model_copy(update={"custody_xpub": hd.account_xpub(seed)})


def _check_sandbox_chain(settings: Settings) -> None:
    """Production runs the sandbox provider (no real money) only on a test chain: its tokens are free for anyone.
    The chain id must be set explicitly (CHAIN_ID) and be one of SANDBOX_TEST_CHAIN_IDS."""
    if not settings.is_production or settings.payments_provider != "sandbox":
        return
    known = ", ".join(f"{chain_id} ({name})" for chain_id, name in SANDBOX_TEST_CHAIN_IDS.items())
    if settings.chain_id is None:
        raise ConfigurationError(
            "PAYMENTS_PROVIDER=sandbox in production needs CHAIN_ID set to a test chain (anyone can pay in the "
            f"sandbox, so its tokens must be worthless). Test chains: {known}.")
    if settings.chain_id not in SANDBOX_TEST_CHAIN_IDS:
        raise ConfigurationError(
            f"PAYMENTS_PROVIDER=sandbox is refused on CHAIN_ID={settings.chain_id}: it is not a test chain, and "
            f"anyone can pay in the sandbox. Use Stripe (STRIPE_API_KEY), or a test chain: {known}.")


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
            "PAYMENTS_PROVIDER=sandbox explicitly for a staging site on a test chain (anyone can pay there with a "
            "test card).")
    _check_secret_strength(settings)
    _check_sandbox_chain(settings)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and `.env`), fill development secrets, and refuse a set-up that would
    silently lose money or every payment."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    _check_stripe_webhook_secret(settings)
    settings = _fill_generated_secrets(settings)
    settings = _fill_custody_xpub(settings)
    _check_kyc(settings)
    _check_production(settings)
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
