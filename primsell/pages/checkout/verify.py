"""/kyc/verify: a consumer verifies their identity (details, document photos, a selfie, consent), sees where the check
stands, resubmits when changes were requested, or withdraws it. Served with the checkout surface: it is the
consumer's page, signed in through the account sign-in, and the gated checkout sends buyers here."""

import reflex as rx

from backend.kyc.countries import countries
from backend.kyc.service import CONSENT_TEXT
from primsell import routes
from primsell.components.forms import field_error, form_error, submit_button, text_field
from primsell.components.layout import page_loading
from primsell.pages.registry import checkout_public_page
from primsell.state.checkout.verify import CheckoutVerifyState

MAX_BYTES = 10 * 1024 * 1024
ACCEPT = {"image/jpeg": [".jpg", ".jpeg"], "image/png": [".png"], "application/pdf": [".pdf"]}
ACCEPT_PHOTO = {"image/jpeg": [".jpg", ".jpeg"], "image/png": [".png"]}
STATUS_COLORS = {"none": "gray", "submitted": "blue", "in_review": "blue", "changes_requested": "amber",
                 "approved": "green", "expired": "gray", "rejected": "red", "withdrawn": "gray"}
DOCUMENT_TYPES = [("passport", "Passport"), ("id_card", "National ID card"), ("driving_licence", "Driving licence")]


def _status_card() -> rx.Component:
    badge = rx.match(
        CheckoutVerifyState.status,
        *[(k, rx.badge(CheckoutVerifyState.label, color_scheme=c, size="2")) for k, c in STATUS_COLORS.items()],
        rx.badge(CheckoutVerifyState.label, size="2"),
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Identity verification", size="5"),
                rx.spacer(),
                rx.box(badge, id="kyc-status"),
                width="100%",
                align="center",
            ),
            rx.text(CheckoutVerifyState.message, size="2", id="kyc-message"),
            rx.cond(
                CheckoutVerifyState.valid_until != "",
                rx.text(
                    "Valid until ", rx.text.strong(CheckoutVerifyState.valid_until), size="2", id="kyc-valid-until"
                ),
            ),
            rx.cond(
                CheckoutVerifyState.changes_requested != "",
                rx.callout.root(
                    rx.callout.icon(rx.icon("pencil")),
                    rx.callout.text(rx.text.strong("What to fix: "), CheckoutVerifyState.changes_requested),
                    color_scheme="amber",
                    width="100%",
                    id="kyc-changes",
                ),
            ),
            rx.cond(
                CheckoutVerifyState.reject_reason != "",
                rx.callout(
                    CheckoutVerifyState.reject_reason,
                    icon="circle_x",
                    color_scheme="red",
                    width="100%",
                    id="kyc-reject-reason",
                ),
            ),
            rx.cond(
                CheckoutVerifyState.done_message != "",
                rx.callout(
                    CheckoutVerifyState.done_message,
                    icon="circle_check",
                    color_scheme="green",
                    width="100%",
                    id="kyc-done",
                    role="status",
                ),
            ),
            rx.hstack(
                rx.cond(
                    CheckoutVerifyState.return_to != "",
                    rx.link(
                        rx.button("Back to where you were", variant="soft"),
                        href=CheckoutVerifyState.return_to,
                        id="kyc-return",
                    ),
                ),
                rx.cond(
                    CheckoutVerifyState.can_withdraw,
                    rx.alert_dialog.root(
                        rx.alert_dialog.trigger(
                            rx.button("Withdraw my check", variant="outline", color_scheme="red", id="kyc-withdraw")
                        ),
                        rx.alert_dialog.content(
                            rx.alert_dialog.title("Withdraw your identity check?"),
                            rx.alert_dialog.description(
                                "Your documents are deleted at once. You can submit again later."
                            ),
                            rx.hstack(
                                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft")),
                                rx.alert_dialog.action(
                                    rx.button(
                                        "Withdraw",
                                        color_scheme="red",
                                        on_click=CheckoutVerifyState.withdraw_check,
                                        id="kyc-withdraw-confirm",
                                    )
                                ),
                                justify="end",
                                spacing="3",
                                margin_top="1em",
                            ),
                        ),
                    ),
                ),
                spacing="3",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _upload(kind: str, label: str, hint: str, accept: dict) -> rx.Component:
    upload_id = f"kyc-{kind}"
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        rx.upload.root(
            rx.vstack(
                rx.icon(rx.cond(CheckoutVerifyState.staged.contains(kind), "file-check", "upload"), size=22),
                rx.cond(
                    CheckoutVerifyState.uploading == kind,
                    rx.hstack(rx.spinner(size="1"), rx.text("Checking…", size="2")),
                    rx.cond(
                        CheckoutVerifyState.staged.contains(kind),
                        rx.text(CheckoutVerifyState.staged[kind], size="2", id=f"{upload_id}-ok"),
                        rx.text("Drop a photo here, or click to choose", size="2"),
                    ),
                ),
                rx.text(hint, size="1", color_scheme="gray"),
                align="center",
                spacing="1",
            ),
            id=upload_id,
            accept=accept,
            max_files=1,
            max_size=MAX_BYTES,
            multiple=False,
            on_drop=CheckoutVerifyState.stage_upload(rx.upload_files(upload_id=upload_id), kind),
            on_drop_rejected=CheckoutVerifyState.upload_refused(kind),
            border=rx.cond(
                CheckoutVerifyState.upload_errors.contains(kind),
                f"2px dashed {rx.color('red', 8)}",
                f"2px dashed {rx.color('gray', 7)}",
            ),
            border_radius="8px",
            padding="1em",
            width="100%",
            cursor="pointer",
        ),
        rx.cond(
            CheckoutVerifyState.upload_errors.contains(kind),
            rx.text(CheckoutVerifyState.upload_errors[kind], color_scheme="red", size="1", id=f"{upload_id}-error"),
        ),
        spacing="1",
        width="100%",
    )


def _select(label: str, name: str, options: list[tuple[str, str]], *, on_change=None, value=None,  # type: ignore[no-untyped-def]
            placeholder: str = "") -> rx.Component:
    props = {"name": name, "id": name, "class_name": "native-select"}
    if on_change is not None:
        props["on_change"] = on_change
    if value is not None:
        props["value"] = value
    return rx.vstack(
        rx.el.label(rx.text(label, size="2", weight="medium"), html_for=name),
        rx.el.select(*([rx.el.option(placeholder, value="")] if placeholder else []),
                     *[rx.el.option(text, value=code) for code, text in options], **props),
        field_error(CheckoutVerifyState.field_errors, name),
        spacing="1", width="100%", align="stretch",
    )


def _form() -> rx.Component:
    errors = CheckoutVerifyState.field_errors
    prev = CheckoutVerifyState.previous
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(
                    rx.cond(CheckoutVerifyState.can_resubmit, "Update your submission", "Verify your identity"),
                    size="4",
                ),
                rx.text(
                    "Signed in as ",
                    rx.text.strong(CheckoutVerifyState.email),
                    ". Give your details exactly as they appear on your document.",
                    size="2",
                    color_scheme="gray",
                ),
                form_error(CheckoutVerifyState.form_error),
                text_field(
                    "Legal name", "legal_name", errors, default_value=prev.get("legal_name", ""), auto_complete="name"
                ),
                text_field(
                    "Date of birth", "date_of_birth", errors, type="date", default_value=prev.get("date_of_birth", "")
                ),
                _select(
                    "Country of residence",
                    "country",
                    countries(),
                    on_change=CheckoutVerifyState.choose_country,
                    value=CheckoutVerifyState.country,
                    placeholder="Choose a country",
                ),
                rx.cond(
                    CheckoutVerifyState.regions.length() > 0,
                    rx.vstack(
                        rx.el.label(
                            rx.text(
                                rx.cond(
                                    CheckoutVerifyState.region_required,
                                    "Region (required for this country)",
                                    "Region (optional)",
                                ),
                                size="2",
                                weight="medium",
                            ),
                            html_for="region",
                        ),
                        rx.el.select(
                            rx.el.option("—", value=""),
                            rx.foreach(CheckoutVerifyState.regions, lambda r: rx.el.option(r[1], value=r[0])),
                            name="region",
                            id="region",
                            class_name="native-select",
                            default_value=prev.get("region", ""),
                        ),
                        field_error(errors, "region"),
                        spacing="1",
                        width="100%",
                        align="stretch",
                    ),
                ),
                rx.vstack(
                    rx.el.label(rx.text("Address", size="2", weight="medium"), html_for="address"),
                    rx.text_area(
                        name="address", id="address", default_value=prev.get("address", ""), rows="3", width="100%"
                    ),
                    field_error(errors, "address"),
                    spacing="1",
                    width="100%",
                    align="stretch",
                ),
                _select(
                    "ID document",
                    "document_type",
                    DOCUMENT_TYPES,
                    on_change=CheckoutVerifyState.choose_document_type,
                    value=CheckoutVerifyState.document_type,
                ),
                text_field("Document number", "document_number", errors, default_value=prev.get("document_number", "")),
                _upload(
                    "front", "Document: front (the photo page of a passport)", "JPEG, PNG or PDF, up to 10 MB", ACCEPT
                ),
                rx.cond(
                    CheckoutVerifyState.needs_back,
                    _upload("back", "Document: back", "JPEG, PNG or PDF, up to 10 MB", ACCEPT),
                ),
                _upload("selfie", "A selfie", "A clear photo of your face (JPEG or PNG)", ACCEPT_PHOTO),
                rx.box(
                    rx.text(CONSENT_TEXT, size="1", color_scheme="gray"),
                    id="consent-text",
                    padding="0.75em",
                    border_radius="6px",
                    background=rx.color("gray", 3),
                ),
                rx.hstack(
                    rx.el.input(type="checkbox", name="consent", id="consent"),
                    rx.el.label(rx.text("I agree to this processing of my data.", size="2"), html_for="consent"),
                    align="center",
                    spacing="2",
                ),
                field_error(errors, "consent"),
                submit_button(
                    rx.cond(CheckoutVerifyState.can_resubmit, "Submit again", "Submit for review"),
                    CheckoutVerifyState.submitting,
                    "Submitting…",
                    size="3",
                    id="kyc-submit",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=CheckoutVerifyState.submit_verification,
            reset_on_submit=False,
            no_validate=True,
        ),
        width="100%",
    )


@checkout_public_page(route=routes.KYC_VERIFY, title="Verify your identity",
                      on_load=CheckoutVerifyState.load_verification)
def verify() -> rx.Component:
    return rx.center(
        rx.cond(
            ~CheckoutVerifyState.loaded,
            page_loading(),
            rx.vstack(
                _status_card(),
                rx.cond(CheckoutVerifyState.show_form, _form()),
                rx.link("My account", href=routes.ACCOUNT, size="2"),
                spacing="4", width="100%", max_width="640px",
            ),
        ),
        padding="2em 1em",
        width="100%",
    )
