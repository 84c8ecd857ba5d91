"""/c/[campaign_slug]: the public campaign page with the phase banner and, while on sale, the buy box (quantity,
price with its crypto equivalent, where the NFT goes, email, Pay -> the payment page)."""

import reflex as rx

from primsell import routes
from primsell.components.forms import field_error, form_error, text_field
from primsell.components.wallet import connect_wallet_button
from primsell.pages.registry import checkout_page
from primsell.state.checkout.campaign import CUSTODIAL, OWN_WALLET, CheckoutBuyState, CheckoutCampaignState
from primsell.state.checkout.theme import CheckoutThemeState

# What the disabled button says when the campaign cannot be bought.
CLOSED_LABELS = {"not_started": "Not on sale yet", "not_deployed": "Not on sale yet", "sold_out": "Sold out",
                 "ended": "Sale ended", "paused": "Sale paused"}
# The buy box's errors: (icon, colour) per kind.
ERROR_STYLE = {"sold_out": ("ban", "purple"), "wallet_cap": ("wallet", "amber"), "not_on_sale": ("clock", "amber"),
               "payment_unavailable": ("credit-card", "red"), "rate_limited": ("timer", "amber"),
               "reservation_limit": ("hourglass", "amber"), "kyc": ("id-card", "amber")}

PHASE_STYLE = {
    "on_sale": ("circle-check", "green"),
    "not_started": ("clock", "blue"),
    "not_deployed": ("clock", "blue"),  # published, but its collection contract is not on chain yet
    "sold_out": ("ban", "purple"),
    "ended": ("circle-stop", "gray"),
    "paused": ("circle-pause", "amber"),
}


def phase_banner() -> rx.Component:
    return rx.match(
        CheckoutCampaignState.phase,
        *[
            (
                phase,
                rx.callout(
                    CheckoutCampaignState.phase_message,
                    icon=icon,
                    color_scheme=color,
                    size="2",
                    width="100%",
                    id="phase-banner",
                ),
            )
            for phase, (icon, color) in PHASE_STYLE.items()
        ],
        rx.fragment(),
    )


def not_found() -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.icon("search-x", size=40, color=rx.color("gray", 9)),
            rx.heading("We couldn't find that campaign", size="6", id="campaign-not-found"),
            rx.text("The link may be mistyped, or the campaign is not public yet.", color_scheme="gray"),
            rx.link("Go to the Primsell home page", href=routes.HOME),
            align="center",
            spacing="3",
        ),
        min_height="50vh",
    )


def _fact(label: str, value: rx.Component | rx.Var) -> rx.Component:
    return rx.vstack(rx.text(label, size="1", color_scheme="gray"), rx.text(value, size="3", weight="medium"),
                     spacing="0")


def closed_button() -> rx.Component:
    """Not buyable (yet or any more): the phase banner above says why."""
    return rx.button(
        rx.match(CheckoutCampaignState.phase, *CLOSED_LABELS.items(), "Not on sale"),
        size="4", width="100%", disabled=True, id="buy-button",
        style={"background": "var(--brand-accent)", "opacity": "0.6", "color": "white"},
    )


def _quantity_picker() -> rx.Component:
    def step(icon: str, delta: int, label: str, disabled: rx.Var) -> rx.Component:
        return rx.icon_button(
            rx.icon(icon, size=16),
            on_click=CheckoutBuyState.change_quantity(delta),
            disabled=disabled,
            variant="soft",
            size="2",
            type="button",
            aria_label=label,
        )

    return rx.vstack(
        rx.text("Quantity", size="2", weight="medium", id="quantity-label"),
        rx.hstack(
            step("minus", -1, "Fewer", (CheckoutBuyState.quantity <= 1) | CheckoutBuyState.paying),
            rx.text(
                CheckoutBuyState.quantity,
                size="4",
                weight="bold",
                min_width="2.5em",
                text_align="center",
                id="quantity",
                aria_labelledby="quantity-label",
                aria_live="polite",
            ),
            step(
                "plus",
                1,
                "More",
                (CheckoutBuyState.quantity >= CheckoutBuyState.max_quantity) | CheckoutBuyState.paying,
            ),
            rx.text("up to ", CheckoutBuyState.max_quantity, size="1", color_scheme="gray"),
            align="center",
            spacing="2",
        ),
        field_error(CheckoutBuyState.field_errors, "quantity"),
        spacing="1",
    )


def _price() -> rx.Component:
    crypto = rx.cond(
        CheckoutBuyState.crypto_amount != "",
        rx.vstack(
            rx.text("≈ ", CheckoutBuyState.crypto_amount, size="3", weight="medium", id="crypto-amount"),
            rx.text(
                CheckoutBuyState.crypto_rate,
                " · ",
                rx.cond(
                    CheckoutBuyState.crypto_static,
                    rx.badge("demo rate", color_scheme="amber", variant="soft", size="1", id="demo-rate"),
                    "live rate",
                ),
                " · as of ",
                CheckoutBuyState.crypto_time,
                size="1",
                color_scheme="gray",
                id="crypto-rate",
            ),
            spacing="0",
        ),
        rx.text(
            rx.icon("circle-alert", size=12),
            " Crypto price unavailable: ",
            CheckoutBuyState.crypto_unavailable,
            size="1",
            color_scheme="gray",
            id="crypto-unavailable",
        ),
    )
    return rx.vstack(
        rx.hstack(
            rx.text("Total", size="2", color_scheme="gray"),
            rx.cond(CheckoutBuyState.quoting, rx.spinner(size="1")),
            align="center",
            spacing="2",
        ),
        rx.text(
            CheckoutBuyState.amount_display,
            size="6",
            weight="bold",
            id="total",
            style={"color": "var(--brand-primary)"},
        ),
        crypto,
        spacing="1",
    )


def _destination() -> rx.Component:
    def choice(value: str, icon: str, title: str, text: str) -> rx.Component:
        return rx.radio_cards.item(
            rx.hstack(rx.icon(icon, size=18),
                      rx.vstack(rx.text(title, size="2", weight="bold"), rx.text(text, size="1", color_scheme="gray"),
                                spacing="0", align="start"),
                      align="center", spacing="2", width="100%"),
            value=value,
            id=f"destination-{value}",
        )

    return rx.vstack(
        rx.text("Where should your NFT go?", size="2", weight="medium"),
        rx.radio_cards.root(
            choice(OWN_WALLET, "wallet", "My wallet", "Paste or connect an Ethereum address"),
            choice(CUSTODIAL, "shield-check", "Keep it for me", "We hold it; claim it later"),
            value=CheckoutBuyState.wallet_mode,
            on_value_change=CheckoutBuyState.set_wallet_mode,
            columns="2",
            width="100%",
            aria_label="Where the NFT goes",
        ),
        # Hidden, not unmounted: switching back keeps what was pasted.
        rx.vstack(
            text_field(
                "Wallet address",
                "wallet_address",
                CheckoutBuyState.field_errors,
                placeholder="0x…",
                hint="Mixed-case addresses are checked against their checksum.",
                auto_complete="off",
                spell_check=False,
                on_blur=CheckoutBuyState.check_wallet_address,
                on_focus=CheckoutBuyState.clear_field_error("wallet_address"),
            ),
            rx.hstack(
                connect_wallet_button(
                    CheckoutBuyState.connect_wallet, CheckoutBuyState.connecting_wallet, id="connect-wallet"
                ),
                rx.cond(
                    CheckoutBuyState.wallet_connected,
                    rx.hstack(
                        rx.icon("circle-check", size=14, color=rx.color("green", 10)),
                        rx.text("Filled in from your wallet", size="1", color_scheme="green"),
                        spacing="1",
                        align="center",
                        id="wallet-connected",
                    ),
                ),
                align="center",
                spacing="2",
            ),
            display=rx.cond(CheckoutBuyState.wallet_mode == OWN_WALLET, "flex", "none"),
            spacing="2",
            width="100%",
        ),
        rx.cond(
            CheckoutBuyState.wallet_mode == CUSTODIAL,
            rx.text(
                "We keep the NFT in a wallet tied to your email. You can move it to your own wallet any time.",
                size="1",
                color_scheme="gray",
                id="custodial-note",
            ),
        ),
        spacing="2",
        width="100%",
    )


def _buy_error() -> rx.Component:
    cases = [(kind, rx.callout(CheckoutBuyState.form_error, icon=icon, color_scheme=color, role="alert", width="100%",
                               id="checkout-error"))
             for kind, (icon, color) in ERROR_STYLE.items()]
    return rx.vstack(
        rx.cond(
            CheckoutBuyState.error_kind == "",
            form_error(CheckoutBuyState.form_error),
            rx.match(CheckoutBuyState.error_kind, *cases, form_error(CheckoutBuyState.form_error)),
        ),
        rx.cond(
            CheckoutBuyState.kyc_verify_url != "",
            rx.link(
                rx.button(rx.icon("id-card", size=16), "Verify your identity", variant="soft", width="100%"),
                href=CheckoutBuyState.kyc_verify_url,
                id="verify-identity",
                width="100%",
            ),
        ),
        spacing="2",
        width="100%",
    )


def _sandbox_note() -> rx.Component:
    return rx.cond(
        CheckoutBuyState.sandbox,
        rx.callout(
            rx.text(rx.text.strong("SANDBOX — no real money. "),
                    "The payment page is a test page; card 4242 4242 4242 4242 pays.", as_="span"),
            icon="flask-conical", color_scheme="amber", size="1", width="100%", id="sandbox-note",
        ),
    )


def buy_box() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.flex(_quantity_picker(), rx.spacer(), _price(), width="100%", gap="1em", wrap="wrap"),
                rx.divider(),
                _destination(),
                text_field(
                    "Email",
                    "email",
                    CheckoutBuyState.field_errors,
                    type="email",
                    placeholder="you@example.com",
                    hint="Your receipt and the link to your order go here.",
                    auto_complete="email",
                    on_focus=CheckoutBuyState.clear_field_error("email"),
                ),
                rx.cond(
                    CheckoutCampaignState.kyc_note != "",
                    rx.callout(
                        CheckoutCampaignState.kyc_note,
                        icon="id-card",
                        color_scheme="blue",
                        size="1",
                        width="100%",
                        id="kyc-note",
                    ),
                ),
                _buy_error(),
                rx.button(
                    rx.cond(
                        CheckoutBuyState.paying,
                        rx.hstack(rx.spinner(size="2"), rx.text("Taking you to payment…"), align="center"),
                        rx.hstack(
                            rx.icon("lock", size=16), rx.text("Pay ", CheckoutBuyState.amount_display), align="center"
                        ),
                    ),
                    type="submit",
                    size="4",
                    width="100%",
                    disabled=CheckoutBuyState.paying | CheckoutBuyState.quoting | ~CheckoutBuyState.quoted,
                    id="pay-button",
                    style={"background": "var(--brand-accent)", "color": "white"},
                ),
                _sandbox_note(),
                spacing="4",
                width="100%",
            ),
            on_submit=CheckoutBuyState.submit_checkout,
            reset_on_submit=False,
            no_validate=True,
            width="100%",
        ),
        width="100%",
        id="buy-box",
    )


def campaign_view() -> rx.Component:
    return rx.flex(
        rx.box(
            rx.cond(
                CheckoutCampaignState.image_url != "",
                rx.image(
                    src=CheckoutCampaignState.image_url,
                    alt=CheckoutCampaignState.name,
                    width="100%",
                    border_radius="16px",
                    border="4px solid var(--brand-accent)",
                ),
                rx.center(
                    rx.icon("image", size=48), height="320px", border_radius="16px", background=rx.color("gray", 3)
                ),
            ),
            flex="1",
            min_width="280px",
        ),
        rx.vstack(
            rx.text(CheckoutThemeState.brand_name, size="2", weight="bold", style={"color": "var(--brand-primary)"}),
            rx.heading(CheckoutCampaignState.name, size="8", id="campaign-name"),
            phase_banner(),
            rx.text(CheckoutCampaignState.description, size="3", color_scheme="gray"),
            rx.text(
                CheckoutCampaignState.price,
                size="7",
                weight="bold",
                id="campaign-price",
                style={"color": "var(--brand-primary)"},
            ),
            rx.grid(
                _fact(
                    "Supply left",
                    rx.text(
                        CheckoutCampaignState.supply_left, " of ", CheckoutCampaignState.supply_cap, id="supply-left"
                    ),
                ),
                _fact(
                    "Per wallet",
                    rx.cond(
                        CheckoutCampaignState.per_wallet_cap > 0,
                        CheckoutCampaignState.per_wallet_cap.to_string(),
                        "No limit",
                    ),
                ),
                _fact(
                    "Sale opens",
                    rx.cond(CheckoutCampaignState.starts_at != "", CheckoutCampaignState.starts_at, "When published"),
                ),
                _fact(
                    "Sale ends",
                    rx.cond(CheckoutCampaignState.ends_at != "", CheckoutCampaignState.ends_at, "No end date"),
                ),
                columns="2",
                spacing="4",
                width="100%",
            ),
            rx.cond(CheckoutCampaignState.phase == "on_sale", buy_box(), closed_button()),
            flex="1",
            min_width="280px",
            spacing="4",
            align="start",
        ),
        gap="2.5em",
        wrap="wrap",
        width="100%",
    )


@checkout_page(
    route=routes.CAMPAIGN_PAGE,
    title="Campaign",
    on_load=[CheckoutCampaignState.load_campaign, CheckoutBuyState.load_quote],
)
def campaign_page() -> rx.Component:
    return rx.cond(
        ~CheckoutCampaignState.loaded,
        rx.center(rx.spinner(size="3"), min_height="50vh"),
        rx.cond(CheckoutCampaignState.not_found, not_found(), campaign_view()),
    )
