"""Secondary sales and royalties: one deduplicated, reorg-safe ledger fed by the chain indexer and the marketplace
pollers (OpenSea, Rarible), each behind the `SalesSource` interface of `reports.py`."""
