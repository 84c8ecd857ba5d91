"""/redeem/scan: the staff's scanner. The camera (qr-scanner) reads the holder's code, or staff type it; the page
shows the perk, the token and its image and the uses left; Confirm redeems one use; a refusal says why."""

import reflex as rx

from primsell import routes
from primsell.components.qr_scanner import qr_scanner
from primsell.pages.registry import redeem_page
from primsell.state.redeem.scan import RedeemScanState as ScanState
from primsell.state.session import SessionState

# Staff sign in on the admin surface: the scanner admits the admin surface's people (brand staff and admins).


def _result() -> rx.Component:
    result = ScanState.result
    color = rx.match(result["status"], ("redeemed", "green"), ("valid", "blue"), "red")
    return rx.cond(result.contains("status"), rx.card(rx.vstack(
        rx.callout(result["message"], color_scheme=color, role="status", id="scan-message",
                   icon=rx.match(result["status"], ("redeemed", "circle-check"), ("valid", "scan-line"),
                                 "circle-x")),
        rx.cond(result["reward_title"] != "", rx.hstack(
            rx.cond(result["image"] != "", rx.image(src=result["image"], width="96px", height="96px",
                                                      border_radius="8px", object_fit="cover", alt="Token image")),
            rx.vstack(
                rx.heading(result["reward_title"], size="4", id="scan-perk"),
                rx.text(result["campaign_name"], " · token ", rx.text.strong(result["token"], id="scan-token"),
                        size="2"),
                rx.text(result["uses"], size="2", color_scheme="gray", id="scan-uses"),
                spacing="1",
            ),
            spacing="4", align="center",
        )),
        rx.hstack(
            rx.cond(result["status"] == "valid",
                    rx.button("Confirm redemption", on_click=ScanState.confirm_redeem, loading=ScanState.checking,
                              color_scheme="green", size="3", id="confirm-redeem")),
            rx.button("Scan next", on_click=ScanState.scan_next, variant="soft", size="3", id="scan-next"),
            spacing="3",
        ),
        spacing="3", width="100%",
    ), width="100%"))


@redeem_page(route=routes.REDEEM_SCAN, title="Scan a reward",
           on_load=[SessionState.load_session("admin"), ScanState.load_scanner])
def scan() -> rx.Component:
    return rx.cond(
        SessionState.signed_in,
        rx.vstack(
            rx.heading("Scan a reward", size="6"),
            rx.text("Point the camera at the customer's QR code.", size="2", color_scheme="gray"),
            rx.cond(ScanState.locations.length() > 0, rx.hstack(
                rx.text("Location", size="2", weight="medium"),
                rx.select(ScanState.locations, value=ScanState.location, on_change=ScanState.set_location,
                          placeholder="Choose where you are", id="scan-location"),
                align="center", spacing="3")),
            rx.cond(~ScanState.result.contains("status"),
                    qr_scanner(on_scan=ScanState.scanned, on_error=ScanState.camera_failed,
                               reset_key=ScanState.reset_key)),
            rx.cond(ScanState.camera_error != "", rx.callout(ScanState.camera_error, icon="camera-off",
                                                             color_scheme="amber", size="1")),
            _result(),
            rx.form(
                rx.hstack(
                    rx.input(name="manual_code", id="manual-code", placeholder="…or type the code",
                             value=ScanState.manual_code, on_change=ScanState.set_manual_code, width="100%",
                             auto_complete="off", max_length=300),
                    rx.button("Check", type="submit", variant="soft", loading=ScanState.checking),
                    width="100%",
                ),
                on_submit=ScanState.check_manual_code, reset_on_submit=False, width="100%",
            ),
            spacing="4", width="100%", max_width="480px",
        ),
        rx.cond(SessionState.status == "forbidden",
                rx.callout("Only the brand's staff and admins can scan rewards.", icon="lock", color_scheme="red"),
                rx.hstack(rx.spinner(), rx.text("Loading…"))),
    )
