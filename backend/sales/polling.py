"""The marketplace pollers' work (the `opensea_sales_poller` and `rarible_sales_poller` daemons): for each deployed
Primsell collection, fetch a bounded number of pages from the source, record them in the ledger, then move the
source's cursor. A source runs only when its API key is set."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from backend.campaigns.models import Campaign
from backend.chain.client import chain_id
from backend.chain.models import ChainTransaction, ContractDeployment
from backend.db import session_scope, utcnow
from backend.monitoring.errors import record_error
from backend.sales.cursors import note_failed_run
from backend.sales.ledger import IngestResult, record_reports, revalue_missing
from backend.sales.models import SalesCursor
from backend.sales.normalise import checksum_address
from backend.sales.opensea import OpenSeaClient, OpenSeaSource
from backend.sales.rarible import RaribleClient, RaribleSource
from backend.sales.reports import CollectionRef, SalesSource
from backend.settings import get_settings
from backend.workflow.machines import ContractState

log = logging.getLogger(__name__)

SOURCES = ("opensea", "rarible")


@dataclass
class PollResult:
    collections: int = 0
    reports: int = 0
    ingest: IngestResult = field(default_factory=IngestResult)
    errors: list[str] = field(default_factory=list)


def collection_refs(source: str | None = None) -> list[CollectionRef]:
    """Every deployed Primsell collection, least recently polled by `source` first (each gets its turn)."""
    with session_scope() as session:
        rows = session.execute(
            select(Campaign.id, Campaign.brand_id, ContractDeployment.chain, ContractDeployment.contract_address,
                   ChainTransaction.block_number)
            .join(ContractDeployment, ContractDeployment.campaign_id == Campaign.id)  # type: ignore[arg-type]
            .outerjoin(ChainTransaction, ChainTransaction.id == ContractDeployment.tx_id)  # type: ignore[arg-type]
            .where(ContractDeployment.state == ContractState.DEPLOYED,
                   ContractDeployment.contract_address.is_not(None))  # type: ignore[union-attr]
            .order_by(Campaign.id)
        ).all()
        cursors = session.execute(select(SalesCursor.source, SalesCursor.collection, SalesCursor.last_run_at,
                                         SalesCursor.source_ref)).all()
    polled = {collection: run_at for name, collection, run_at, _ in cursors if name == source}
    slugs = {collection: ref for name, collection, _, ref in cursors if name == "opensea" and ref}
    refs: list[CollectionRef] = []
    for campaign_id, brand_id, chain, address, deploy_block in rows:
        try:
            address = checksum_address(address)
            refs.append(CollectionRef(campaign_id=campaign_id, brand_id=brand_id, chain_id=chain_id(chain),
                                      contract_address=address, deploy_block=deploy_block,
                                      opensea_slug=slugs.get(address)))
        except Exception as exc:  # noqa: BLE001  a chain we cannot name (node down, no CHAIN_ID): the others go on
            record_error("sales:collections", exc, {"campaign_id": campaign_id}, report=False)
    refs.sort(key=lambda ref: (polled.get(ref.contract_address) is not None,
                               polled.get(ref.contract_address) or datetime.min.replace(tzinfo=UTC)))
    return refs


def source_enabled(name: str) -> bool:
    settings = get_settings()
    key = settings.opensea_api_key if name == "opensea" else settings.rarible_api_key
    return key is not None and bool(key.get_secret_value())


def build_source(name: str, http: httpx.Client | None = None) -> SalesSource:
    if name == "opensea":
        return OpenSeaSource(OpenSeaClient(http))
    if name == "rarible":
        return RaribleSource(RaribleClient(http))
    raise ValueError(f"unknown sales source {name!r}")


def poll(name: str, *, http: httpx.Client | None = None, source: SalesSource | None = None,
         max_pages: int | None = None, keep_going: Callable[[], bool] = lambda: True) -> PollResult:
    """One run of a marketplace poller over every collection; a failing collection never stops the others."""
    result = PollResult()
    if source is None and not source_enabled(name):
        return result
    source = source or build_source(name, http)
    pages = max_pages or get_settings().sales_max_pages_per_run
    for ref in collection_refs(name):
        if not keep_going():
            break
        result.collections += 1
        try:
            _poll_collection(source, ref, pages, result)
        except Exception as exc:  # noqa: BLE001  one collection's failure is recorded; the others are still polled
            message = f"{type(exc).__name__}: {exc}"[:300]
            result.errors.append(f"collection {ref.contract_address} (campaign {ref.campaign_id}) failed: {message}")
            record_error(f"sales:{name}", exc, {"campaign_id": ref.campaign_id})
            note_failed_run(name, ref.contract_address, utcnow(), message)
    if keep_going():
        revalue_missing()
    return result


def _poll_collection(source: SalesSource, ref: CollectionRef, pages: int, result: PollResult) -> None:
    fetched = source.fetch(ref, pages)
    result.errors.extend(fetched.errors)
    if fetched.reports:
        result.ingest.add(record_reports(fetched.reports))
        result.reports += len(fetched.reports)
    if fetched.commit is not None:  # only once the reports are stored: a failure above leaves the walk to redo
        fetched.commit()
