"""/redeem/rewards ("My rewards"): sign in to the account (custodial tokens) or connect a wallet and sign in with
it; each perk the tokens carry, with the uses left; Show QR (a code that refreshes itself) or Redeem online; payouts
claimable from brands' reward vaults, with Claim for the connected wallet."""

import reflex as rx

from primsell import routes
from primsell.components.wallet import connect_wallet_button
from primsell.pages.registry import redeem_page
from primsell.state.redeem.rewards import RedeemRewardsState as RewardsState


def _who() -> rx.Component:
    return rx.card(rx.vstack(
        rx.cond(RewardsState.account_email != "",
                rx.text("Signed in as ", rx.text.strong(RewardsState.account_email), size="2"),
                rx.link("Sign in to your account", href=routes.login_with_next("account", routes.REDEEM_REWARDS),
                        size="2")),
        rx.cond(RewardsState.wallet_address != "",
                rx.hstack(rx.text("Wallet ", rx.code(RewardsState.wallet_address, id="wallet-address"), size="2"),
                          rx.button("Disconnect", size="1", variant="ghost", on_click=RewardsState.disconnect_wallet),
                          align="center"),
                connect_wallet_button(RewardsState.connect_wallet, RewardsState.connecting, id="connect-wallet")),
        spacing="2",
    ), width="100%")


def _perk(row: rx.Var) -> rx.Component:
    return rx.card(rx.hstack(
        rx.cond(row["image"] != "", rx.image(src=row["image"], width="64px", height="64px", border_radius="8px",
                                               object_fit="cover", alt="")),
        rx.vstack(
            rx.heading(row["title"], size="4"),
            rx.text(row["campaign"], " · token #", row["token_id"], size="2", color_scheme="gray"),
            rx.cond(row["description"] != "", rx.text(row["description"], size="2")),
            rx.text(row["uses"], size="2", weight="medium", class_name="perk-uses"),
            rx.cond(row["where"] != "", rx.text("At ", row["where"], size="1", color_scheme="gray")),
            rx.cond(row["blocked"] != "", rx.text(row["blocked"], size="1", color_scheme="amber")),
            spacing="1", width="100%",
        ),
        rx.cond(row["usable"] == "yes", rx.cond(
            row["channel"] == "online",
            rx.button("Redeem online", on_click=RewardsState.redeem_online(row["reward_id"], row["token_id"])),
            rx.button(rx.icon("qr-code", size=14), "Show QR",
                      on_click=RewardsState.show_qr(row["reward_id"], row["token_id"])),
        )),
        spacing="4", align="center", width="100%",
    ), width="100%", class_name="perk", id="perk-" + row["reward_id"] + "-" + row["token_id"])


def _claim(row: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.vstack(rx.text(rx.text.strong(row["amount"]), " claimable", size="2"),
                  rx.text(rx.cond(row["custodial"] == "yes", "Your account's wallet ", "Wallet "),
                          rx.code(row["holder"]), size="1", color_scheme="gray"), spacing="0"),
        rx.spacer(),
        rx.cond(row["custodial"] == "yes",
                rx.text("Paid out to your account's wallet by the brand", size="1", color_scheme="gray"),
                rx.button(rx.icon("hand-coins", size=14), "Claim", size="2",
                          on_click=RewardsState.claim_payout(row["key"]))),
        width="100%", align="center", class_name="claimable",
    )


def _payouts() -> rx.Component:
    return rx.cond(RewardsState.claims.length() > 0, rx.card(rx.vstack(
        rx.heading("Payouts", size="4"),
        rx.foreach(RewardsState.claims, _claim),
        rx.cond(RewardsState.claim_notice != "", rx.text(RewardsState.claim_notice, size="2", role="status")),
        spacing="2", width="100%",
    ), width="100%", id="payouts"))


def _qr_dialog() -> rx.Component:
    return rx.dialog.root(rx.dialog.content(
        rx.dialog.title(RewardsState.qr_title),
        rx.dialog.description("Show this code at the counter. It renews itself every minute: a screenshot will "
                              "not work later.", size="2"),
        rx.center(rx.image(src=RewardsState.qr_image, width="280px", height="280px", alt="Reward QR code",
                           id="reward-qr")),
        rx.text("Token #", RewardsState.qr_token, " · valid until ", RewardsState.qr_expires_at, size="1",
                color_scheme="gray", text_align="center"),
        rx.text(rx.code(RewardsState.qr_code, id="reward-code", size="1"), size="1", style={"wordBreak": "break-all"}),
        rx.dialog.close(rx.button("Done", variant="soft", width="100%")),
        max_width="380px",
    ), open=RewardsState.qr_open, on_open_change=RewardsState.set_qr_open)


@redeem_page(route=routes.REDEEM_REWARDS, title="My rewards", on_load=RewardsState.load_perks)
def my_rewards() -> rx.Component:
    return rx.vstack(
        rx.heading("My rewards", size="6"),
        _who(),
        rx.cond(RewardsState.error != "", rx.callout(RewardsState.error, icon="circle-alert", color_scheme="red",
                                                     role="alert", width="100%", id="rewards-error")),
        rx.cond(RewardsState.online_code != "", rx.callout(
            rx.text("Your code for ", rx.text.strong(RewardsState.online_title), ": ",
                    rx.code(RewardsState.online_code, id="online-code"), ". Use it at the brand's shop."),
            icon="ticket", color_scheme="green", width="100%")),
        _payouts(),
        rx.cond(
            ~RewardsState.loaded,
            rx.hstack(rx.spinner(), rx.text("Loading…")),
            rx.cond(
                RewardsState.perks.length() > 0,
                rx.vstack(rx.foreach(RewardsState.perks, _perk), spacing="3", width="100%", id="perks"),
                rx.callout(rx.cond((RewardsState.account_email != "") | (RewardsState.wallet_address != ""),
                                   "No perks to use right now: your tokens carry none, or you hold none.",
                                   "Sign in or connect your wallet to see the perks of your tokens."),
                           icon="gift", color_scheme="gray", width="100%", id="no-perks"),
            ),
        ),
        _qr_dialog(),
        spacing="4", width="100%", max_width="560px",
    )
