"""Reconciliation: every paid order minted exactly once or refunded, checked against the payment provider and the
chain."""
