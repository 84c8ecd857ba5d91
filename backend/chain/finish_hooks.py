"""What happens when a chain transaction is final, by purpose: the one table the transaction monitor's callers hand
to `txmanager.monitor_pass`. A new kind of transaction adds a row here (and its step beside its models), so the
transaction manager never imports the modules that use it."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from sqlmodel import Session

from backend.chain.custody import transfer_finished
from backend.chain.deployments import deploy_finished
from backend.chain.mints import mint_batch_finished
from backend.chain.models import ChainTransaction, TxPurpose
from backend.chain.txmanager import FinishHooks
from backend.rewards.payouts import payout_tx_finished
from backend.rewards.vault import vault_deploy_finished


def deployed(session: Session, tx: ChainTransaction, receipt: Any) -> None:
    """A deploy transaction is a campaign's collection or a brand's reward vault (`meta.vault_id`)."""
    if tx.meta.get("vault_id") is not None:
        vault_deploy_finished(session, tx, receipt)
    else:
        deploy_finished(session, tx, receipt)


FINISH_HOOKS: FinishHooks = MappingProxyType({
    # store the contract address (contract, or reward_vault: deploying -> deployed / failed)
    TxPurpose.DEPLOY: deployed,
    TxPurpose.MINT_BATCH: mint_batch_finished,  # each request minted (token ids from the receipt) or failed
    TxPurpose.TRANSFER: transfer_finished,  # a custodial withdrawal moves the token's recorded owner
    # an allocation batch records its logs and moves its period (reward_period: allocating -> allocated / failed);
    # funding and pushed payouts are their own outcome (the claim reader reads the payout's event)
    TxPurpose.REWARD_PAYOUT: payout_tx_finished,
})

# Purposes whose transaction is its own outcome: nothing else changes when it is final.
WITHOUT_FINISH_STEP: dict[TxPurpose, str] = {
    TxPurpose.GAS_TOPUP: "the transfer it pays for waits on it (after_tx_id) and fails with it",
}
