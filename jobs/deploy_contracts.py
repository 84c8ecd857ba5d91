"""contract_deployer: queue the deploy transaction of every campaign whose deployment was requested."""

from __future__ import annotations

from backend.chain.deployments import deploy_pass
from backend.settings import get_settings
from jobs.runner import RunContext


def run(ctx: RunContext) -> int:
    return deploy_pass(get_settings().deploy_batch_size)
