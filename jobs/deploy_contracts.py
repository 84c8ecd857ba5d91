"""contract_deployer: queue the deploy transaction of every campaign whose deployment was requested, and of every
brand's reward vault requested on first use."""

from __future__ import annotations

from backend.chain.deployments import deploy_pass
from backend.rewards.vault import vault_deploy_pass
from backend.settings import get_settings
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    batch = get_settings().deploy_batch_size
    return deploy_pass(batch) + vault_deploy_pass(batch)
