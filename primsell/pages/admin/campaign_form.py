"""/admin/campaigns/new and /admin/campaigns/[campaign]: the campaign form, status actions and delete-draft."""

import reflex as rx

from primsell import routes
from primsell.components.badges import phase_badge, status_badge
from primsell.components.campaign_nav import campaign_nav
from primsell.components.dialogs import confirm_dialog
from primsell.components.forms import form_error, select_field, submit_button, text_field, textarea_field
from primsell.pages.admin.campaign_chain import contract_section
from primsell.pages.admin.campaign_orders import orders_section
from primsell.pages.registry import admin_page
from primsell.state.admin.campaign_chain import AdminCampaignChainState
from primsell.state.admin.campaign_form import CURRENCY_OPTIONS, KYC_OPTIONS, AdminCampaignFormState
from primsell.state.session import SessionState

ACTION_TEXT = {
    "publish": ("Publish", "green", "Publish this campaign?",
                "Its public page goes live and it sells inside its sale window."),
    "pause": ("Pause sale", "amber", "Pause this campaign?",
              "Buyers can still see the page but cannot buy until you resume."),
    "resume": ("Resume sale", "green", "Resume this campaign?",
               "The sale continues inside its sale window."),
    "archive": ("Archive", "red", "Archive this campaign?",
                "Archiving ends the campaign for good. It cannot be changed or sold again."),
}


def _section(title: str, *children: rx.Component) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="3"), *children, spacing="3", width="100%"), width="100%")


def _grid(*children: rx.Component) -> rx.Component:
    return rx.grid(*children, columns=rx.breakpoints(initial="1", sm="2"), spacing="4", width="100%")


def campaign_fields() -> rx.Component:
    e, v = AdminCampaignFormState.field_errors, AdminCampaignFormState.values
    return rx.vstack(
        _section(
            "Basics",
            _grid(
                text_field("Name", "name", e, default_value=v["name"], placeholder="Founders Pass"),
                text_field("URL slug", "slug", e, default_value=v["slug"], placeholder="founders-pass",
                           hint="The public page is /c/<slug>: lowercase letters, digits and dashes."),
            ),
            textarea_field("Description", "description", e, default_value=v["description"]),
            text_field("Image URL", "image_url", e, default_value=v["image_url"], placeholder="https://… or /path.svg"),
        ),
        _section(
            "Price and supply",
            _grid(
                text_field("Price", "price", e, default_value=v["price"], placeholder="25.00", input_mode="decimal"),
                select_field("Currency", "currency", CURRENCY_OPTIONS, e, default_value=v["currency"]),
                text_field("Supply", "supply_cap", e, default_value=v["supply_cap"], placeholder="500",
                           input_mode="numeric", hint="How many tokens can be sold in total."),
                text_field("Per-wallet cap", "per_wallet_cap", e, default_value=v["per_wallet_cap"],
                           input_mode="numeric", hint="0 means no limit per wallet."),
            ),
        ),
        _section(
            "Sale window (UTC)",
            _grid(
                text_field("Sale starts (UTC)", "sale_starts_at", e, type="datetime-local",
                           default_value=v["sale_starts_at"], hint="Leave empty to start as soon as it is published."),
                text_field("Sale ends (UTC)", "sale_ends_at", e, type="datetime-local", default_value=v["sale_ends_at"],
                           hint="Leave empty for no end date."),
            ),
        ),
        _section(
            "Identity checks (KYC)",
            _grid(
                select_field("Buyers verify their identity", "kyc_requirement", KYC_OPTIONS, e,
                             default_value=v["kyc_requirement"]),
                text_field("Above this total per buyer", "kyc_threshold", e, default_value=v["kyc_threshold"],
                           input_mode="decimal", placeholder="1000.00",
                           hint="Only for \"above an amount\": in the campaign's currency."),
            ),
        ),
        _section(
            "Royalties",
            _grid(
                text_field("Royalty (%)", "royalty_percent", e, default_value=v["royalty_percent"],
                           input_mode="decimal", hint="Paid on resales, e.g. 5 or 2.5 (at most 100)."),
                text_field("Royalty receiver address", "royalty_receiver", e, default_value=v["royalty_receiver"],
                           placeholder="0x…"),
            ),
        ),
        _section(
            "Branding (optional: empty uses the brand's)",
            _grid(
                text_field("Primary colour", "primary_color", e, default_value=v["primary_color"],
                           placeholder="#7C3AED"),
                text_field("Accent colour", "accent_color", e, default_value=v["accent_color"],
                           placeholder="#F59E0B"),
            ),
            text_field("Logo URL", "logo_url", e, default_value=v["logo_url"], placeholder="https://… or /path.svg"),
        ),
        spacing="4",
        width="100%",
    )


def campaign_form(submit_label: str) -> rx.Component:
    return rx.form(
        rx.vstack(
            form_error(AdminCampaignFormState.form_error),
            campaign_fields(),
            rx.cond(
                SessionState.can_write_campaigns,
                rx.hstack(
                    submit_button(submit_label, AdminCampaignFormState.saving, size="3"), justify="end", width="100%"
                ),
                rx.callout("You can view this campaign but not change it.", icon="info"),
            ),
            spacing="4",
            width="100%",
        ),
        key=AdminCampaignFormState.form_key,
        on_submit=AdminCampaignFormState.submit_campaign,
        reset_on_submit=False,
        no_validate=True,
        width="100%",
    )


def _status_action(action: str) -> rx.Component:
    label, color, title, description = ACTION_TEXT[action]
    return confirm_dialog(
        rx.button(label, color_scheme=color, variant="soft", id=f"action-{action}"),
        title=title,
        description=description,
        confirm_label=label,
        on_confirm=AdminCampaignFormState.change_status(action),
        color_scheme=color,
    )


def status_panel() -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.hstack(
                rx.text("Status", size="2", color_scheme="gray"),
                status_badge(AdminCampaignFormState.status),
                rx.text("Phase", size="2", color_scheme="gray"),
                phase_badge(AdminCampaignFormState.phase),
                align="center",
                spacing="2",
            ),
            rx.spacer(),
            rx.cond(
                SessionState.can_write_campaigns,
                rx.hstack(
                    *[
                        rx.cond(AdminCampaignFormState.status_actions.contains(a), _status_action(a))
                        for a in ACTION_TEXT
                    ],
                    rx.cond(
                        (AdminCampaignFormState.status == "draft")
                        & SessionState.can_delete_campaigns
                        & (AdminCampaignFormState.sold_count == 0)
                        & AdminCampaignChainState.keeps_contract,
                        rx.text(
                            "Its contract is deployed or being deployed: archive it instead of deleting it.",
                            size="2",
                            color_scheme="gray",
                            id="delete-draft-refused",
                        ),
                    ),
                    rx.cond(
                        (AdminCampaignFormState.status == "draft")
                        & SessionState.can_delete_campaigns
                        & (AdminCampaignFormState.sold_count == 0)
                        & ~AdminCampaignChainState.keeps_contract,
                        confirm_dialog(
                            rx.button(
                                rx.icon("trash-2", size=14), "Delete draft", color_scheme="red", variant="outline"
                            ),
                            title="Delete this draft?",
                            description="The draft and its settings are deleted. This cannot be undone.",
                            confirm_label="Delete draft",
                            on_confirm=AdminCampaignFormState.delete_draft,
                        ),
                    ),
                    spacing="2",
                ),
            ),
            rx.cond(
                AdminCampaignFormState.status != "draft",
                rx.link(
                    rx.button(rx.icon("external-link", size=14), "Public page", variant="ghost"),
                    href=AdminCampaignFormState.public_url,
                    is_external=True,
                    id="public-page-link",
                ),
            ),
            width="100%",
            align="center",
            wrap="wrap",
        ),
        width="100%",
    )


def _back() -> rx.Component:
    return rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Campaigns"), align="center", spacing="1"),
                   href=routes.ADMIN, size="2")


@admin_page(route=routes.ADMIN_CAMPAIGN_NEW, title="New campaign", on_load=AdminCampaignFormState.start_new_campaign)
def new_campaign() -> rx.Component:
    return rx.vstack(
        _back(),
        rx.heading("New campaign", size="6"),
        rx.text("It starts as a draft: nobody sees it until you publish it.", color_scheme="gray", size="2"),
        campaign_form("Create campaign"),
        spacing="4",
        width="100%",
    )


@admin_page(route=routes.ADMIN_CAMPAIGN, title="Edit campaign", on_load=AdminCampaignFormState.load_campaign)
def edit_campaign() -> rx.Component:
    return rx.vstack(
        _back(),
        rx.cond(
            ~AdminCampaignFormState.loaded,
            rx.hstack(rx.spinner(), rx.text("Loading…")),
            rx.cond(
                AdminCampaignFormState.not_found,
                rx.callout("This campaign does not exist or belongs to another brand.", icon="circle-alert",
                           color_scheme="red"),
                rx.vstack(
                    rx.heading(AdminCampaignFormState.values["name"], size="6", id="campaign-heading"),
                    campaign_nav(AdminCampaignFormState.editing_id, "overview"),
                    status_panel(),
                    contract_section(),
                    orders_section(),
                    campaign_form("Save changes"),
                    spacing="4",
                    width="100%",
                ),
            ),
        ),
        spacing="4",
        width="100%",
    )
