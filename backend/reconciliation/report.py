"""The reconciliation summary as text (what `python -m backend reconcile` prints)."""

from __future__ import annotations

from backend.money import money_text
from backend.reconciliation.service import RunSummary


def age_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def summary_text(summary: RunSummary) -> str:
    scope = "all brands" if summary.brand_id is None else f"brand {summary.brand_id}"
    lines = [
        f"reconciliation run {summary.run_id}: {summary.status.value} ({scope}, paid since "
        f"{summary.since.isoformat(timespec='seconds')}, provider {summary.provider})",
        f"orders: {summary.orders_checked} paid, {summary.minted} minted, {summary.refunded} refunded, "
        f"{len(summary.in_flight)} in flight, {len(summary.findings)} exception(s)",
    ]
    for currency, t in summary.by_currency().items():
        lines.append(
            f"{currency}: money in {money_text(t.money_in_minor, currency)} (orders say "
            f"{money_text(t.orders_paid_minor, currency)}), refunded {money_text(t.refunded_minor, currency)} "
            f"(orders say {money_text(t.orders_refunded_minor, currency)}), net {money_text(t.net_minor, currency)}; "
            f"tokens sold {t.tokens_sold}, minted {t.tokens_minted}, on chain {t.tokens_on_chain}, "
            f"collections' totalSupply {t.collections_supply}")
    for f in summary.in_flight:
        lines.append(f"  in flight: order {f.order_id} ({f.why}, paid {age_text(f.age_s)} ago)")
    for f in summary.findings:
        subject = f"order {f.order_id}" if f.order_id else f"campaign {f.campaign_id}" if f.campaign_id else "-"
        lines.append(f"  EXCEPTION {f.kind.value} [{subject}]: {f.reason}")
    return "\n".join(lines)
