"""The campaign page's Contract section (included by campaign_form.py): deploy / retry behind a confirmation, the
live deployment status (queued -> sent -> deployed, or failed), its history, minted vs supply, and the tokens."""

import reflex as rx

from primsell.components.dialogs import confirm_dialog
from primsell.components.table import Column, data_table
from primsell.components.timeline import timeline
from primsell.state.admin.campaign_chain import REFRESH, AdminCampaignChainState
from primsell.state.session import SessionState

STAGES = ("queued", "sent", "deployed")
STAGE_TEXT = {
    "not_deployed": ("Not deployed", "gray"),
    "queued": ("Queued", "amber"),
    "sent": ("Sent", "blue"),
    "deployed": ("Deployed", "green"),
    "failed": ("Failed", "red"),
}
STEP_LABELS = {"queued": "Queued", "sent": "Sent", "deployed": "Confirmed"}

TOKEN_COLUMNS = [Column("token_id", "Token"), Column("owner", "Owner"), Column("tx", "Mint transaction")]


def stage_badge(stage: rx.Var) -> rx.Component:
    cases = [(k, rx.badge(label, color_scheme=color, variant="solid", size="2"))
             for k, (label, color) in STAGE_TEXT.items()]
    return rx.box(rx.match(stage, *cases, rx.badge(stage, variant="soft")), id="contract-stage")


def hash_link(value: rx.Var, url: rx.Var, shown: rx.Var | None = None, **props) -> rx.Component:
    """An explorer link when the chain has an explorer, else the value itself (selectable, full value on hover)."""
    text = value if shown is None else shown
    return rx.cond(
        url != "",
        rx.link(rx.hstack(rx.code(text, size="1", variant="ghost"), rx.icon("external-link", size=12),
                          spacing="1", align="center"),
                href=url, is_external=True, title=value, **props),
        rx.code(text, size="1", title=value, **props),
    )


def _step(name: str, index: int) -> rx.Component:
    reached = AdminCampaignChainState.stage_step >= index
    failed_here = (AdminCampaignChainState.stage == "failed") & (index == 2)
    color = rx.cond(failed_here, rx.color("red", 9), rx.cond(reached, rx.color("green", 9), rx.color("gray", 6)))
    return rx.hstack(
        rx.box(
            rx.cond(failed_here, rx.icon("x", size=12, color="white"),
                    rx.cond(reached, rx.icon("check", size=12, color="white"), rx.fragment())),
            width="20px", height="20px", border_radius="50%", background=color,
            display="flex", align_items="center", justify_content="center",
        ),
        rx.text(rx.cond(failed_here, "Failed", STEP_LABELS[name]), size="2",
                weight=rx.cond(reached | failed_here, "medium", "regular"),
                color_scheme=rx.cond(reached | failed_here, "gray", "gray")),
        align="center",
        spacing="2",
    )


def _steps() -> rx.Component:
    arrow = rx.box(height="2px", width="32px", background=rx.color("gray", 5))
    return rx.hstack(
        _step("queued", 0), arrow, _step("sent", 1), arrow, _step("deployed", 2),
        align="center", spacing="2", wrap="wrap", aria_label="Deployment progress",
    )


def _field(label: str, value: rx.Component) -> rx.Component:
    return rx.hstack(rx.text(label, size="2", color_scheme="gray", min_width="140px"), value, align="center",
                     spacing="3", wrap="wrap")


def _deploy_button() -> rx.Component:
    return confirm_dialog(
        rx.button(
            rx.cond(AdminCampaignChainState.requesting, rx.spinner(size="1"), rx.icon("rocket", size=14)),
            "Deploy contract",
            disabled=AdminCampaignChainState.requesting,
            id="deploy-contract",
        ),
        title="Deploy this campaign's contract?",
        description=rx.text(
            "The platform signer deploys the collection on ",
            rx.text.strong(AdminCampaignChainState.chain),
            " with a supply of ",
            rx.text.strong(AdminCampaignChainState.supply_cap),
            " tokens. Deploying costs gas and cannot be undone.",
            as_="span",
        ),
        confirm_label="Deploy contract",
        on_confirm=AdminCampaignChainState.deploy_contract,
        color_scheme="green",
    )


def _retry_button() -> rx.Component:
    return confirm_dialog(
        rx.button(
            rx.cond(AdminCampaignChainState.requesting, rx.spinner(size="1"), rx.icon("rotate-ccw", size=14)),
            "Retry",
            color_scheme="amber",
            variant="soft",
            disabled=AdminCampaignChainState.requesting,
            id="retry-deploy",
        ),
        title="Retry the deployment?",
        description="A new deploy transaction is queued and sent by the platform signer. The failed one stays "
        "in the history.",
        confirm_label="Retry",
        on_confirm=AdminCampaignChainState.retry_deployment,
        color_scheme="amber",
    )


def _status() -> rx.Component:
    return rx.vstack(
        rx.cond(AdminCampaignChainState.stage != "not_deployed", _steps()),
        rx.cond(
            AdminCampaignChainState.stage == "not_deployed",
            rx.text(
                "No contract yet. Tokens sold before the contract is deployed are minted once it is.",
                size="2",
                color_scheme="gray",
            ),
        ),
        rx.cond(
            AdminCampaignChainState.tx_hash != "",
            _field(
                "Deploy transaction",
                hash_link(AdminCampaignChainState.tx_hash, AdminCampaignChainState.tx_url, id="deploy-tx"),
            ),
        ),
        rx.cond(
            AdminCampaignChainState.contract_address != "",
            _field(
                "Contract address",
                hash_link(
                    AdminCampaignChainState.contract_address,
                    AdminCampaignChainState.contract_url,
                    id="contract-address",
                ),
            ),
        ),
        rx.cond(
            AdminCampaignChainState.stage == "failed",
            rx.callout(
                rx.text(
                    rx.text.strong("The deployment failed: "),
                    rx.cond(AdminCampaignChainState.error != "", AdminCampaignChainState.error, "no reason given"),
                    as_="span",
                ),
                icon="triangle_alert",
                color_scheme="red",
                width="100%",
                id="deploy-error",
            ),
        ),
        spacing="3",
        width="100%",
    )


def _supply_bar() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.text("Minted", size="2", weight="medium"),
            rx.spacer(),
            rx.text(
                rx.text.strong(AdminCampaignChainState.minted),
                " of ",
                AdminCampaignChainState.supply_cap,
                rx.cond(
                    AdminCampaignChainState.pending > 0,
                    rx.text(" · ", AdminCampaignChainState.pending, " pending", as_="span", color_scheme="amber"),
                ),
                size="2",
                id="minted-count",
            ),
            width="100%",
            align="center",
        ),
        rx.box(
            rx.box(width=AdminCampaignChainState.minted_share, background=rx.color("green", 9), height="100%"),
            rx.box(width=AdminCampaignChainState.pending_share, height="100%", background=rx.color("amber", 7)),
            display="flex",
            width="100%",
            height="10px",
            border_radius="5px",
            overflow="hidden",
            background=rx.color("gray", 4),
            role="progressbar",
            aria_label="Minted of supply",
            aria_valuemin=0,
            aria_valuemax=AdminCampaignChainState.supply_cap,
            aria_valuenow=AdminCampaignChainState.minted,
        ),
        spacing="2",
        width="100%",
    )


def _token_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text("#", row["token_id"], weight="medium", size="2")),
        rx.table.cell(rx.code(row["owner_short"], size="1", title=row["owner"], variant="ghost")),
        rx.table.cell(hash_link(row["tx_hash"], row["tx_url"], row["tx_short"])),
        data_testid="token-row",
    )


def _subheading(text: str) -> rx.Component:
    return rx.heading(text, size="2", as_="h3", margin_top="0.5em")


def _content() -> rx.Component:
    return rx.vstack(
        _status(),
        rx.divider(),
        _supply_bar(),
        _subheading("Tokens"),
        data_table(
            AdminCampaignChainState, TOKEN_COLUMNS, _token_row, empty_message="No tokens minted yet", searchable=False
        ),
        _subheading("History"),
        timeline(AdminCampaignChainState.entries, empty_message="No deployment has been requested yet."),
        spacing="3",
        width="100%",
    )


def contract_section() -> rx.Component:
    """Mounted once the campaign is loaded; it reads its own data and polls while it stays mounted."""
    actions = rx.cond(
        SessionState.can_write_campaigns,
        rx.match(
            AdminCampaignChainState.stage,
            ("not_deployed", _deploy_button()),
            ("failed", _retry_button()),
            rx.fragment(),
        ),
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Contract", size="3", as_="h2"),
                rx.cond(
                    AdminCampaignChainState.loaded & (AdminCampaignChainState.section_error == ""),
                    stage_badge(AdminCampaignChainState.stage),
                ),
                rx.cond(
                    AdminCampaignChainState.chain != "",
                    rx.badge(AdminCampaignChainState.chain, variant="outline", color_scheme="gray"),
                ),
                rx.spacer(),
                rx.cond(AdminCampaignChainState.loaded & (AdminCampaignChainState.section_error == ""), actions),
                width="100%",
                align="center",
                spacing="2",
            ),
            rx.cond(
                ~AdminCampaignChainState.loaded,
                rx.hstack(rx.spinner(), rx.text("Loading…", size="2"), align="center"),
                rx.cond(
                    AdminCampaignChainState.section_error != "",
                    rx.callout(
                        AdminCampaignChainState.section_error, icon="circle-alert", color_scheme="red", width="100%"
                    ),
                    _content(),
                ),
            ),
            rx.text(
                rx.cond(
                    AdminCampaignChainState.polling,
                    f"Updates every {REFRESH.every_s} s",
                    "Updates paused: reload the page",
                ),
                size="1",
                color_scheme="gray",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="contract-section",
        on_mount=AdminCampaignChainState.load_contract,
        on_unmount=AdminCampaignChainState.stop_polling,
    )
