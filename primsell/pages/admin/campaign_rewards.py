"""/admin/campaigns/<id>/rewards: the campaign's rewards (perks and payouts), a form to define or change one (a
reward in use keeps its rules), End behind a confirmation, and per reward its redemptions over time (a chart), by
location and staff member, and refused attempts with their reasons; per payout, its payouts panel: the brand's vault
(address, balance, outstanding, unallocated, Fund from my wallet, and Fund from the platform's wallet for platform
admins), each period (snapshot block, amount, transactions, claimed vs
unclaimed) and its allocations, paged, with Push for holders who never claim."""

import reflex as rx

from primsell import routes
from primsell.components.dialogs import confirm_dialog
from primsell.components.forms import form_error, select_field, submit_button, text_field, textarea_field
from primsell.pages.registry import admin_page
from primsell.state.admin.campaign_rewards import AdminCampaignRewardsState as RewardsState
from primsell.state.session import SessionState


def _back() -> rx.Component:
    return rx.link(rx.hstack(rx.icon("arrow-left", size=14), rx.text("Campaign"), align="center", spacing="1"),
                   href=routes.admin_campaign(RewardsState.campaign_id), size="2")


def _value(name: str) -> rx.Var:
    return RewardsState.values[name]


def _perk_fields() -> rx.Component:
    errors = RewardsState.field_errors
    return rx.vstack(
        rx.hstack(
            select_field("Redeemed", "channel", [("in_store", "In store (QR code)"), ("online", "Online (code)")],
                         errors, default_value=_value("channel")),
            text_field("Uses", "uses_per_period", errors, type="number", default_value=_value("uses_per_period"),
                       min=1, max=1000),
            select_field("Per", "use_period", [("ever", "in all"), ("day", "day"), ("week", "week"),
                                               ("month", "month")], errors, default_value=_value("use_period")),
            spacing="3", width="100%",
        ),
        textarea_field("Locations (one per line; empty = anywhere)", "locations", errors,
                       default_value=_value("locations"), rows="3"),
        spacing="3", width="100%",
    )


def _payout_fields() -> rx.Component:
    errors = RewardsState.field_errors
    return rx.vstack(
        rx.callout("Payouts are computed and paid on chain by the payout distributor.", icon="info", size="1"),
        rx.hstack(
            select_field("Kind", "payout_mode", [("fixed_per_token", "Fixed amount per token"),
                                                 ("royalty_share", "Share of royalties")],
                         errors, default_value=_value("payout_mode")),
            select_field("Period", "payout_period", [("week", "weekly"), ("month", "monthly"),
                                                     ("quarter", "quarterly")],
                         errors, default_value=_value("payout_period")),
            spacing="3", width="100%",
        ),
        rx.hstack(
            text_field("Amount per token (base units)", "amount_per_token", errors, inputmode="numeric",
                       default_value=_value("amount_per_token"), hint="e.g. 10000000000000000 = 0.01 ETH"),
            text_field("Royalty share (bps)", "royalty_share_bps", errors, type="number",
                       default_value=_value("royalty_share_bps"), min=1, max=10000),
            spacing="3", width="100%",
        ),
        rx.hstack(
            text_field("ERC-20 address (empty = native coin)", "currency_address", errors,
                       default_value=_value("currency_address")),
            text_field("Decimals", "currency_decimals", errors, type="number",
                       default_value=_value("currency_decimals")),
            text_field("Symbol", "currency_symbol", errors, default_value=_value("currency_symbol")),
            spacing="3", width="100%",
        ),
        spacing="3", width="100%",
    )


def reward_form() -> rx.Component:
    errors = RewardsState.field_errors
    return rx.form(
        rx.vstack(
            form_error(RewardsState.form_error),
            rx.cond(RewardsState.editing_in_use, rx.callout(
                "In use: only the title, description and image can change. End it to stop it.", icon="lock",
                color_scheme="amber", size="1")),
            text_field("Title", "title", errors, default_value=_value("title"), max_length=120,
                       placeholder="A free drink"),
            textarea_field("Description", "description", errors, default_value=_value("description"), rows="2"),
            text_field("Image URL", "image_url", errors, default_value=_value("image_url")),
            rx.hstack(
                text_field("Starts (UTC)", "starts_at", errors, type="datetime-local",
                           default_value=_value("starts_at")),
                text_field("Ends (UTC)", "ends_at", errors, type="datetime-local", default_value=_value("ends_at")),
                spacing="3", width="100%",
            ),
            text_field("Qualifying tokens", "token_ranges", errors, default_value=_value("token_ranges"),
                       placeholder="all tokens", hint="Empty for every token, or ids and ranges: 1-100, 250"),
            rx.el.label(rx.hstack(
                rx.el.input(type="checkbox", name="requires_kyc", id="requires_kyc",
                            default_checked=_value("requires_kyc") == "on"),
                rx.text("Requires an identity check (KYC)", size="2"), align="center", spacing="2")),
            rx.cond(RewardsState.kind == "perk", _perk_fields(), _payout_fields()),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                submit_button("Save reward", RewardsState.saving, id="reward-submit"),
                justify="end", width="100%",
            ),
            spacing="3", width="100%",
        ),
        on_submit=RewardsState.submit_reward,
        reset_on_submit=False,
        no_validate=True,
        key=RewardsState.editing_id.to_string() + RewardsState.kind,
    )


def form_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(rx.cond(RewardsState.editing_id > 0, "Change reward",
                                    rx.cond(RewardsState.kind == "perk", "New perk", "New payout"))),
            reward_form(),
            max_width="640px",
        ),
        open=RewardsState.form_open,
        on_open_change=RewardsState.set_form_open,
    )


def _reward_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["title"], on_click=RewardsState.show_stats(row["id"]), cursor="pointer")),
        rx.table.cell(rx.badge(row["kind"], variant="soft")),
        rx.table.cell(row["rule"]),
        rx.table.cell(row["tokens"]),
        rx.table.cell(row["window"]),
        rx.table.cell(rx.badge(row["state"], color_scheme=rx.cond(row["state"] == "active", "green", "gray"))),
        rx.table.cell(rx.cond(
            SessionState.can_write_campaigns & (row["state"] == "active"),
            rx.hstack(
                rx.button("Edit", size="1", variant="soft", on_click=RewardsState.open_edit(row["id"])),
                confirm_dialog(rx.button("End", size="1", variant="soft", color_scheme="red"),
                               title="End this reward?",
                               description="Nothing more is redeemed or paid from it. This cannot be undone.",
                               confirm_label="End reward", on_confirm=RewardsState.end_reward(row["id"])),
                spacing="2",
            ),
        )),
        id=f"reward-{row['id']}",
    )


def _count_table(title: str, rows: rx.Var, name: str) -> rx.Component:
    return rx.vstack(
        rx.text(title, weight="medium", size="2"),
        rx.cond(rows.length() > 0, rx.table.root(rx.table.body(rx.foreach(
            rows, lambda r: rx.table.row(rx.table.cell(r[name]), rx.table.cell(r["count"]))))),
            rx.text("None yet.", size="2", color_scheme="gray")),
        width="100%",
    )


def stats_panel() -> rx.Component:
    return rx.cond(RewardsState.selected_id > 0, rx.card(rx.cond(
        RewardsState.stats_loaded,
        rx.vstack(
            rx.hstack(rx.heading("Redemptions", size="4"),
                      rx.badge(RewardsState.stats_totals["redeemed"].to_string() + " redeemed", color_scheme="green"),
                      rx.badge(RewardsState.stats_totals["refused"].to_string() + " refused", color_scheme="red"),
                      spacing="3", align="center"),
            rx.recharts.bar_chart(
                rx.recharts.bar(data_key="redemptions", fill=rx.color("accent", 9)),
                rx.recharts.x_axis(data_key="day"), rx.recharts.y_axis(allow_decimals=False),
                rx.recharts.graphing_tooltip(),
                data=RewardsState.stats_by_day, width="100%", height=220,
            ),
            rx.grid(_count_table("By location", RewardsState.stats_by_location, "name"),
                    _count_table("By staff member", RewardsState.stats_by_staff, "name"),
                    _count_table("Refused, by reason", RewardsState.stats_refusals, "reason"),
                    columns="3", spacing="4", width="100%"),
            rx.text("Latest refused attempts", weight="medium", size="2"),
            rx.cond(RewardsState.stats_recent_refusals.length() > 0, rx.table.root(
                rx.table.header(rx.table.row(rx.table.column_header_cell("When"),
                                             rx.table.column_header_cell("Staff"),
                                             rx.table.column_header_cell("Where"),
                                             rx.table.column_header_cell("Why"))),
                rx.table.body(rx.foreach(RewardsState.stats_recent_refusals, lambda r: rx.table.row(
                    rx.table.cell(r["at"]), rx.table.cell(r["staff"]), rx.table.cell(r["location"]),
                    rx.table.cell(r["message"])))), width="100%"),
                rx.text("None.", size="2", color_scheme="gray")),
            rx.cond(RewardsState.stats_online_codes.length() > 0, rx.vstack(
                rx.text("Online redemption codes", weight="medium", size="2"),
                rx.foreach(RewardsState.stats_online_codes, lambda r: rx.text(
                    r["at"], " · token #", r["token"], " · ", rx.code(r["code"]), size="2")))),
            spacing="3", width="100%", id="reward-stats",
        ),
        rx.hstack(rx.spinner(), rx.text("Loading…")),
    ), width="100%"))


def _figure(label: str, value: rx.Var) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color_scheme="gray"), rx.text(value, weight="medium"), spacing="0")


def _fund_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(name="amount", placeholder="0.5", value=RewardsState.fund_amount,
                     on_change=RewardsState.set_fund_amount, inputmode="decimal", width="10em", id="fund-amount"),
            submit_button("Fund vault", RewardsState.funding, id="fund-submit"),
            spacing="2", align="center",
        ),
        on_submit=RewardsState.submit_fund, reset_on_submit=False,
    )


def _wallet_fund_form() -> rx.Component:
    """ "Fund from my wallet": the admin's browser wallet sends the money to the vault itself."""
    vault = RewardsState.payout_vault
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.input(name="amount", placeholder="0.5", value=RewardsState.wallet_fund_amount,
                         on_change=RewardsState.set_wallet_fund_amount, inputmode="decimal", width="10em",
                         id="wallet-fund-amount"),
                rx.text(vault["symbol"], size="2"),
                submit_button("Fund from my wallet", RewardsState.wallet_busy, "Waiting for your wallet…",
                              id="wallet-fund-submit"),
                spacing="2", align="center",
            ),
            on_submit=RewardsState.submit_wallet_fund, reset_on_submit=False,
        ),
        rx.cond(RewardsState.wallet_notice != "",
                rx.text(RewardsState.wallet_notice, size="2", id="wallet-fund-notice", word_break="break-all")),
        rx.text(rx.cond(vault["native"] == "yes",
                        "Your browser wallet sends the amount to the vault (fundEth), on the vault's chain.",
                        "Your browser wallet asks twice: approve the vault for the amount, then fund it (fundToken)."),
                size="1", color_scheme="gray"),
        spacing="1", id="wallet-fund",
    )


def _push_all_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button(rx.icon("send", size=14), "Push all", size="1", variant="soft",
                                          disabled=RewardsState.pushing_all, id="push-all")),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Pay every holder now?"),
            rx.alert_dialog.description(
                "Every holder with an unclaimed allocation of this reward is paid out from the vault, one "
                "transaction each from the platform signer (which pays the gas). Holders already pushed for the same "
                "amount are not pushed again.", size="2"),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray",
                                                 disabled=RewardsState.pushing_all)),
                # Not an alert_dialog.action: the dialog stays open (busy) until the last batch is queued.
                rx.button(rx.cond(RewardsState.pushing_all, rx.spinner(size="1"), rx.fragment()), "Push all",
                          on_click=RewardsState.push_all_payouts, disabled=RewardsState.pushing_all,
                          id="confirm-push-all"),
                spacing="3", justify="end", margin_top="1em"),
            max_width="460px",
        ),
        open=RewardsState.push_all_open,
        on_open_change=RewardsState.set_push_all_open,
    )


def _period_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link("#", row["index"], on_click=RewardsState.show_allocations(row["id"]), cursor="pointer")),
        rx.table.cell(row["window"]),
        rx.table.cell(rx.badge(row["state"], color_scheme=rx.match(
            row["state"], ("allocated", "green"), ("failed", "red"), ("empty", "gray"), "amber"))),
        rx.table.cell(row["block"]),
        rx.table.cell(row["holders"] + " / " + row["tokens"]),
        rx.table.cell(row["amount"]),
        rx.table.cell(row["claimed"]),
        rx.table.cell(row["unclaimed"]),
        rx.table.cell(rx.code(row["txs"])),
        rx.table.cell(rx.cond(row["state"] == "failed",
                              rx.cond(SessionState.can_write_campaigns,
                                      rx.button("Retry", size="1", variant="soft",
                                                on_click=RewardsState.retry_failed_period(row["id"]))),
                              rx.text(row["error"], size="1", color_scheme="gray"))),
    )


def _allocations() -> rx.Component:
    return rx.cond(RewardsState.period_id > 0, rx.vstack(
        rx.text("Allocations of the selected period (", RewardsState.allocations_total.to_string(), ")",
                weight="medium", size="2"),
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                "Holder", "Account", "Tokens", "Amount", "Batch", "Claimed", "")])),
            rx.table.body(rx.foreach(RewardsState.allocations, lambda a: rx.table.row(
                rx.table.cell(rx.code(a["holder"])), rx.table.cell(a["account"]), rx.table.cell(a["tokens"]),
                rx.table.cell(a["amount"]), rx.table.cell(a["batch"]), rx.table.cell(a["state"]),
                rx.table.cell(rx.cond(SessionState.can_write_campaigns & (a["state"] == "unclaimed"),
                                      rx.button("Push", size="1", variant="soft",
                                                on_click=RewardsState.push_to_holder(a["holder"]))))))),
            width="100%", id="payout-allocations",
        ),
        rx.hstack(
            rx.button("Previous", size="1", variant="soft", on_click=RewardsState.page_allocations(-1),
                      disabled=RewardsState.allocations_offset == 0),
            rx.button("Next", size="1", variant="soft", on_click=RewardsState.page_allocations(1),
                      disabled=RewardsState.allocations_offset + 25 >= RewardsState.allocations_total),
            spacing="2"),
        width="100%",
    ))


def payouts_panel() -> rx.Component:
    vault = RewardsState.payout_vault
    return rx.cond(RewardsState.payout_loaded, rx.card(rx.vstack(
        rx.hstack(rx.heading("Payouts", size="4"), rx.badge("vault " + vault["state"]), rx.spacer(),
                  rx.button(rx.icon("refresh-cw", size=14), "Refresh", size="1", variant="soft",
                            on_click=RewardsState.refresh_payouts),
                  width="100%", align="center"),
        rx.cond(RewardsState.payout_notice != "", rx.callout(RewardsState.payout_notice, icon="info", size="1",
                                                            role="status")),
        rx.cond(vault["address"] != "",
                rx.text("Vault ", rx.cond(vault["url"] != "", rx.link(rx.code(vault["address"]), href=vault["url"],
                                                                       is_external=True), rx.code(vault["address"])),
                        size="2"),
                rx.text("The brand's reward vault is deployed by the contract deployer on first use.", size="2",
                        color_scheme="gray")),
        rx.cond(vault["error"] != "", rx.callout(vault["error"], icon="circle-alert", color_scheme="red", size="1")),
        rx.cond(SessionState.can_write_campaigns & (vault["state"] == "failed"),
                rx.button("Retry vault deployment", size="1", variant="soft", on_click=RewardsState.retry_vault)),
        rx.hstack(_figure("Balance", vault["balance"]), _figure("Outstanding (allocated, unclaimed)",
                                                                vault["outstanding"]),
                  _figure("Unallocated", vault["unallocated"]), spacing="6"),
        rx.cond(SessionState.can_write_campaigns & (vault["address"] != ""), rx.vstack(
            rx.hstack(_wallet_fund_form(), rx.spacer(), _push_all_dialog(), width="100%", align="start"),
            rx.cond(SessionState.is_platform_admin,
                    rx.hstack(rx.text("From the platform's wallet:", size="2"), _fund_form(), spacing="2",
                              align="center"),
                    rx.text("A platform admin funds the vault from the platform's wallet.", size="2",
                            color_scheme="gray", id="fund-by-platform")),
            rx.cond(SessionState.is_platform_admin & (vault["native"] != "yes"), rx.text(
                "Funding sends the token from the platform signer's own balance (the brand transfers it there first); "
                "the first funding also approves the vault for the token, once.", size="1", color_scheme="gray")),
            spacing="1", width="100%")),
        rx.cond(RewardsState.payout_periods.length() > 0, rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                "Period", "Window", "State", "Snapshot block", "Holders / tokens", "Amount", "Claimed",
                "Unclaimed", "Transactions", "")])),
            rx.table.body(rx.foreach(RewardsState.payout_periods, _period_row)),
            width="100%", id="payout-periods"),
            rx.text("No period has ended yet.", size="2", color_scheme="gray")),
        _allocations(),
        spacing="3", width="100%", id="payouts-panel",
    ), width="100%"))


@admin_page(route=routes.ADMIN_CAMPAIGN_REWARDS, title="Rewards", on_load=RewardsState.load_rewards)
def campaign_rewards() -> rx.Component:
    return rx.vstack(
        _back(),
        rx.cond(
            ~RewardsState.loaded,
            rx.hstack(rx.spinner(), rx.text("Loading…")),
            rx.cond(
                RewardsState.not_found,
                rx.callout("This campaign does not exist or belongs to another brand.", icon="circle-alert",
                           color_scheme="red"),
                rx.vstack(
                    rx.hstack(
                        rx.heading("Rewards", size="6"),
                        rx.spacer(),
                        rx.cond(SessionState.can_write_campaigns, rx.hstack(
                            rx.button(rx.icon("gift", size=14), "New perk", on_click=RewardsState.open_new("perk"),
                                      id="new-perk"),
                            rx.button(rx.icon("coins", size=14), "New payout", variant="soft",
                                      on_click=RewardsState.open_new("payout")),
                            spacing="2")),
                        width="100%", align="center",
                    ),
                    rx.cond(RewardsState.notice != "", rx.callout(RewardsState.notice, icon="info", size="1",
                                                                 role="status")),
                    rx.cond(
                        RewardsState.rewards.length() > 0,
                        rx.table.root(
                            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in (
                                "Reward", "Kind", "Rule", "Tokens", "Valid", "State", "")])),
                            rx.table.body(rx.foreach(RewardsState.rewards, _reward_row)),
                            width="100%",
                        ),
                        rx.callout("No rewards yet: define a perk (redeemed by QR code or online) or a payout.",
                                   icon="gift", color_scheme="gray"),
                    ),
                    payouts_panel(),
                    stats_panel(),
                    form_dialog(),
                    spacing="4", width="100%",
                ),
            ),
        ),
        spacing="4",
        width="100%",
    )
