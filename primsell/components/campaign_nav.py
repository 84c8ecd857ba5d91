"""The campaign pages' navigation: Overview (the campaign form), Sales, Royalties and the campaign's orders."""

from __future__ import annotations

import reflex as rx

from primsell import routes


def campaign_nav(campaign_id: rx.Var, current: str) -> rx.Component:
    """Links between a campaign's pages; `current` is "overview", "sales", "royalties" or "rewards". The route builders
    take the id as a Var (an f-string of a Var is a Var)."""
    def item(key: str, label: str, icon: str, href: rx.Var | str) -> rx.Component:
        return rx.link(
            rx.button(rx.icon(icon, size=14), label, variant="solid" if key == current else "soft", size="1"),
            href=href, id=f"campaign-nav-{key}",
        )

    return rx.hstack(
        item("overview", "Overview", "settings-2", routes.admin_campaign(campaign_id)),
        item("sales", "Sales", "receipt", routes.admin_campaign_sales(campaign_id)),
        item("royalties", "Royalties", "coins", routes.admin_campaign_royalties(campaign_id)),
        item("rewards", "Rewards", "gift", routes.admin_campaign_rewards(campaign_id)),
        item("orders", "Orders", "shopping-cart", f"{routes.ADMIN_ORDERS}?campaign={campaign_id}"),
        spacing="2",
        wrap="wrap",
        id="campaign-nav",
    )
