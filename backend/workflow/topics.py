"""Every outbox topic, declared once: what the event says and, for an event no subscriber reacts to, why it is
written anyway (an audit-only event). A module that emits a new topic adds a row here; tests check that every
literal topic passed to `emit`/`NewEvent` in backend/ is declared, and docs/EVENTS.md (`python -m backend events
--write`) shows who emits and who consumes each one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str  # "<entity>.<past tense>"
    meaning: str
    audit_only: str = ""  # why no subscriber reacts to it; "" when subscribers must exist


TOPICS: dict[str, Topic] = {topic.name: topic for topic in (
    Topic("payment.event_received",
          "a verified Stripe-format webhook delivery was stored once (its payment_event row); applying it to its "
          "order is the subscriber's work, not the request's"),
    Topic("order.paid",
          "an order's payment is complete (or, `resumed`, a won dispute sends an unminted order back to minting)"),
    Topic("mint.completed", "a mint request's tokens are confirmed on the chain (token ids, transaction hash)"),
    Topic("mint.failed", "a mint request's transaction reverted or failed for good"),
    Topic("contract.deploy_requested", "an admin asked for (or retried) a campaign's contract deployment",
          audit_only="the contract_deployer claims deployments by their state (deploy_requested), not by this "
                     "event; it records who asked, when, in the outbox"),
    Topic("contract.deployed", "a campaign's collection contract is deployed and confirmed (its address)",
          audit_only="the deployment row carries the address and state that checkout and the admin page read"),
    Topic("contract.deploy_failed", "a campaign's deploy transaction reverted or failed (the error)",
          audit_only="the campaign page shows the deployment's error and offers the retry; nothing automatic "
                     "follows a failed deployment"),
    Topic("sale.recorded",
          "a secondary sale entered the ledger (`change`: new, restored after a reversal, or confirmed by the chain)"),
    Topic("sale.reverted",
          "a sale left the ledger's totals: every source withdrew it, or its transaction left the canonical chain"),
    Topic("royalty.computed", "a sale's royalty owed (royaltyInfo at its block), paid and shortfall are known",
          audit_only="the sale row carries owed, paid and shortfall, which the Sales and Royalties pages read; "
                     "the reward distributor reads royalties paid from the ledger when a period is due"),
    Topic("kyc.submitted", "a person submitted (or resubmitted) an identity check",
          audit_only="the reviewers' queue reads open cases by their state; the case history holds the details"),
    Topic("kyc.decided", "an identity check was decided: approved, changes requested, rejected, or withdrawn",
          audit_only="the decision email is queued in the same transaction; gates read the case's state and "
                     "validity directly"),
    Topic("reward.defined", "an admin defined a reward (perk or payout) on a campaign",
          audit_only="the reward distributor finds due payout periods from the reward rows; the reward's change "
                     "history holds who defined what"),
    Topic("reward.redeemed", "a holder's perk was redeemed (by staff scanning a code, or online)",
          audit_only="the redemption and attempt rows feed the admin's statistics"),
    Topic("reward.period_due", "a payout's period ended: its holders are to be snapshotted and allocated",
          audit_only="the reward distributor claims due periods by their state (due), not by this event"),
    Topic("reward.allocated",
          "every batch of a payout period's allocations is confirmed in the brand's vault (amount, holders, block)",
          audit_only="the period and allocation rows carry what the admin's payouts panel and holders' claimable "
                     "amounts read"),
    Topic("reward.claimed", "a holder claimed (or the platform pushed) their allocation from the brand's vault",
          audit_only="the claim row marks the allocations it paid, which the payouts panel shows as claimed"),
    Topic("reward.claim_reverted",
          "a claim (or pushed payout) read from a vault left the canonical chain: a reorg dropped its block",
          audit_only="the claim row is deleted and its allocations show as unclaimed again; if the transaction is "
                     "mined again, the claim reader records it (a new `reward.claimed`)"),
)}
