"""What happens when a chain transaction is final, by purpose: the one table the transaction monitor's callers hand
to `txmanager.monitor_pass`. A new kind of transaction adds a row here (and its step beside its models), so the
transaction manager never imports the modules that use it."""

from __future__ import annotations

from types import MappingProxyType

from backend.chain.custody import transfer_finished
from backend.chain.deployments import deploy_finished
from backend.chain.mints import mint_batch_finished
from backend.chain.models import TxPurpose
from backend.chain.txmanager import FinishHooks

FINISH_HOOKS: FinishHooks = MappingProxyType({
    TxPurpose.DEPLOY: deploy_finished,  # store the contract address (contract: deploying -> deployed / failed)
    TxPurpose.MINT_BATCH: mint_batch_finished,  # each request minted (token ids from the receipt) or failed
    TxPurpose.TRANSFER: transfer_finished,  # a custodial withdrawal moves the token's recorded owner
})

# Purposes whose transaction is its own outcome: nothing else changes when it is final.
WITHOUT_FINISH_STEP: dict[TxPurpose, str] = {
    TxPurpose.GAS_TOPUP: "the transfer it pays for waits on it (after_tx_id) and fails with it",
    TxPurpose.REWARD_PAYOUT: "no reward payouts are sent yet (the rewards issue adds its row)",
}
