"""/kyc/cases/[case]: one identity check, its documents (zoom, rotate), history and the reviewer's decisions."""

from typing import Any

import reflex as rx

from primsell import routes
from primsell.components.forms import field_error, submit_button
from primsell.components.layout import page_loading
from primsell.pages.registry import kyc_page
from primsell.state.kyc.case import KycCaseState

SLA_COLORS = {"green": "green", "amber": "amber", "red": "red"}


def _pair(label: str, value: rx.Var, test_id: str = "") -> rx.Component:
    return rx.hstack(rx.text(label, size="2", color_scheme="gray", min_width="150px"),
                     rx.text(value, size="2", data_testid=test_id or None), align="start", width="100%")


def _document(doc: rx.Var) -> rx.Component:
    doc_id = doc["id"]
    image = rx.image(
        src=doc["url"], alt=doc["kind"], data_testid="kyc-document-image",
        transform="rotate(" + doc["rotate"] + "deg)", width=doc["zoom"] + "%", max_width="none",
        transition="transform 0.2s",
    )
    viewer = rx.cond(
        doc["deleted"] != "",
        rx.text("Deleted ", doc["deleted"], size="2", color_scheme="gray"),
        rx.cond(doc["pdf"] == "1",
                rx.link(rx.button("Open the PDF", variant="soft"), href=doc["url"], is_external=True),
                rx.box(image, overflow="auto", max_height="420px", width="100%",
                       border=f"1px solid {rx.color('gray', 5)}", border_radius="6px")),
    )
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(doc["kind"], weight="bold", size="2"), rx.text(doc["info"], size="1", color_scheme="gray"),
                rx.spacer(),
                rx.icon_button(rx.icon("zoom-out", size=14), variant="soft", size="1", aria_label="Zoom out",
                               on_click=KycCaseState.zoom_out(doc_id)),
                rx.icon_button(rx.icon("zoom-in", size=14), variant="soft", size="1", aria_label="Zoom in",
                               on_click=KycCaseState.zoom_in(doc_id)),
                rx.icon_button(rx.icon("rotate-cw", size=14), variant="soft", size="1", aria_label="Rotate",
                               on_click=KycCaseState.rotate(doc_id), data_testid="rotate"),
                width="100%", align="center"),
            viewer,
            spacing="2", width="100%",
        ),
        width="100%",
        data_testid="kyc-document",
    )


def _submission(sub: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Submission ", sub["number"], size="3"),
            _pair("Submitted", sub["submitted_at"]),
            _pair("Legal name", sub["legal_name"], "legal-name"),
            _pair("Date of birth", sub["date_of_birth"]),
            _pair("Country", sub["country"]),
            rx.cond(sub["region"] != "", _pair("Region", sub["region"])),
            _pair("Address", sub["address"]),
            _pair("Document", sub["document_type"]),
            _pair("Document number", sub["document_number"], "document-number"),
            _pair("Consent", sub["consent"]),
            rx.grid(
                rx.foreach(KycCaseState.documents, lambda d: rx.cond(d["submission"] == sub["number"], _document(d))),
                columns="2",
                spacing="3",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
        data_testid="kyc-submission",
    )


def _decision_form(on_submit: Any, submit: rx.Component, *fields: rx.Component) -> rx.Component:
    """One of the case's decision forms: its fields, then its submit button and Cancel (which closes the form)."""
    cancel = rx.button("Cancel", variant="soft", type="button", on_click=KycCaseState.open_decision(""))
    return rx.form(
        rx.vstack(*fields, rx.hstack(submit, cancel, spacing="2"), spacing="2", width="100%"),
        on_submit=on_submit,
        reset_on_submit=False,
        no_validate=True,
        width="100%",
    )


def _text_field(label: str, name: str, rows: str, id: str) -> rx.Component:
    """A labelled text area of a decision form, with the error the server gave for it."""
    return rx.fragment(
        rx.text(label, size="2", weight="medium"),
        rx.text_area(name=name, id=id, rows=rows, width="100%"),
        field_error(KycCaseState.field_errors, name),
    )


def _actions() -> rx.Component:
    errors = KycCaseState.field_errors
    changes_form = _decision_form(
        KycCaseState.request_changes,
        submit_button("Send the request", KycCaseState.busy, "Sending…", id="send-changes"),
        _text_field("What must the person fix? (sent to them)", "message", "3", id="changes-message"),
    )
    reject_form = _decision_form(
        KycCaseState.reject,
        submit_button(
            rx.cond(KycCaseState.four_eyes, "Propose the rejection", "Reject"),
            KycCaseState.busy,
            "Saving…",
            color_scheme="red",
            id="send-reject",
        ),
        rx.text("Reason (shown to the person)", size="2", weight="medium"),
        rx.el.select(
            rx.el.option("Choose a reason", value=""),
            rx.foreach(KycCaseState.reasons, lambda r: rx.el.option(r[1], value=r[0])),
            name="reason",
            id="reject-reason",
            class_name="native-select",
        ),
        field_error(errors, "reason"),
        _text_field("Note (internal)", "note", "2", id="reject-note"),
        rx.cond(
            KycCaseState.four_eyes,
            rx.text("A second reviewer must confirm the rejection.", size="1", color_scheme="gray"),
        ),
    )
    dismiss_form = _decision_form(
        KycCaseState.dismiss_rejection,
        submit_button("Send back to review", KycCaseState.busy, "Saving…", id="send-dismiss"),
        _text_field("Why is the rejection wrong? (internal)", "note", "2", id="dismiss-note"),
    )
    return rx.card(
        rx.vstack(
            rx.cond(
                KycCaseState.action_error != "",
                rx.callout(
                    KycCaseState.action_error,
                    icon="triangle_alert",
                    color_scheme="red",
                    width="100%",
                    id="action-error",
                    role="alert",
                ),
            ),
            rx.cond(
                KycCaseState.action_message != "",
                rx.callout(
                    KycCaseState.action_message,
                    icon="circle_check",
                    color_scheme="green",
                    width="100%",
                    id="action-message",
                    role="status",
                ),
            ),
            rx.cond(
                KycCaseState.own_case,
                rx.callout(
                    "This is your own identity check: you cannot review it. You see it as you would at "
                    "/kyc/verify; another reviewer decides it.",
                    icon="user_x",
                    color_scheme="amber",
                    width="100%",
                    id="own-case",
                ),
            ),
            rx.cond(
                KycCaseState.held_by != "",
                rx.text(
                    rx.cond(
                        KycCaseState.held_by_me,
                        "You hold this case",
                        rx.text.span("Held by ", rx.text.strong(KycCaseState.held_by)),
                    ),
                    " until ",
                    KycCaseState.claim_expires_at,
                    " (renewed while you work on it).",
                    size="2",
                    id="held-by",
                ),
            ),
            rx.hstack(
                rx.cond(
                    KycCaseState.can_claim,
                    rx.button("Claim this case", on_click=KycCaseState.claim, loading=KycCaseState.busy, id="claim"),
                ),
                rx.cond(
                    KycCaseState.can_decide,
                    rx.hstack(
                        rx.button(
                            "Approve",
                            color_scheme="green",
                            on_click=KycCaseState.approve,
                            loading=KycCaseState.busy,
                            id="approve",
                        ),
                        rx.button(
                            "Request changes",
                            variant="soft",
                            on_click=KycCaseState.open_decision("changes"),
                            id="request-changes",
                        ),
                        rx.button(
                            "Reject",
                            variant="soft",
                            color_scheme="red",
                            on_click=KycCaseState.open_decision("reject"),
                            id="reject",
                        ),
                        spacing="2",
                    ),
                ),
                rx.cond(
                    KycCaseState.can_confirm_rejection,
                    rx.hstack(
                        rx.button(
                            "Confirm the rejection",
                            color_scheme="red",
                            on_click=KycCaseState.confirm_rejection,
                            loading=KycCaseState.busy,
                            id="confirm-rejection",
                        ),
                        rx.button(
                            "Send back to review",
                            variant="soft",
                            on_click=KycCaseState.open_decision("dismiss"),
                            id="dismiss-rejection",
                        ),
                        spacing="2",
                    ),
                ),
                rx.cond(
                    KycCaseState.held_by_me,
                    rx.button("Release", variant="outline", on_click=KycCaseState.release, id="release"),
                ),
                spacing="2",
                wrap="wrap",
            ),
            rx.match(
                KycCaseState.decision,
                ("changes", changes_form),
                ("reject", reject_form),
                ("dismiss", dismiss_form),
                rx.fragment(),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def _summary() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Case #", KycCaseState.case_id, size="6"),
                rx.badge(KycCaseState.state_label, size="2", id="case-state"),
                rx.cond(
                    KycCaseState.sla != "",
                    rx.match(
                        KycCaseState.sla,
                        *[(k, rx.badge("Waiting ", KycCaseState.age, color_scheme=c)) for k, c in SLA_COLORS.items()],
                        rx.fragment(),
                    ),
                ),
                rx.spacer(),
                rx.link("Back to the queue", href=routes.KYC, size="2"),
                width="100%",
                align="center",
            ),
            _pair("Account", KycCaseState.email),
            rx.foreach(
                KycCaseState.flags,
                lambda f: rx.callout(
                    f["label"] + ": " + f["detail"],
                    icon="flag",
                    color_scheme="red",
                    width="100%",
                    data_testid="case-flag",
                ),
            ),
            rx.cond(KycCaseState.changes_requested != "", _pair("Changes requested", KycCaseState.changes_requested)),
            rx.cond(KycCaseState.reject_reason_text != "", _pair("Rejection reason", KycCaseState.reject_reason_text)),
            rx.cond(KycCaseState.reject_note != "", _pair("Internal note", KycCaseState.reject_note)),
            rx.cond(
                KycCaseState.rejection_proposed_by != "",
                _pair("Rejection proposed by", KycCaseState.rejection_proposed_by, "proposed-by"),
            ),
            rx.cond(KycCaseState.decided != "", _pair("Decided", KycCaseState.decided)),
            rx.cond(KycCaseState.valid_until != "", _pair("Valid until", KycCaseState.valid_until)),
            rx.cond(
                KycCaseState.documents_deleted_at != "", _pair("Documents deleted", KycCaseState.documents_deleted_at)
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _history() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("History", size="4"),
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               ("When", "Who", "What", "Change", "Why")])),
                rx.table.body(rx.foreach(KycCaseState.history, lambda h: rx.table.row(
                    rx.table.cell(h["at"]), rx.table.cell(h["actor"]), rx.table.cell(h["action"]),
                    rx.table.cell(h["change"]), rx.table.cell(h["why"]), data_testid="history-row"))),
                size="1", width="100%"),
            rx.cond(KycCaseState.other_cases.length() > 0, rx.vstack(
                rx.heading("The same person's other checks", size="3"),
                rx.foreach(KycCaseState.other_cases, lambda c: rx.hstack(
                    rx.link("#", c["id"], href=c["url"]), rx.badge(c["state"], variant="soft"),
                    rx.text(c["decided_at"], size="1"), rx.text(c["outcome"], size="1"), spacing="2",
                    data_testid="other-case")),
                spacing="2")),
            spacing="3", width="100%",
        ),
        width="100%",
    )


@kyc_page(route=routes.KYC_CASE, title="KYC case", on_load=KycCaseState.load_case)
def case() -> rx.Component:
    return rx.cond(
        ~KycCaseState.loaded,
        page_loading(),
        rx.cond(
            KycCaseState.not_found | KycCaseState.forbidden,
            rx.callout("This case does not exist.", icon="search_x", color_scheme="gray", id="case-not-found"),
            rx.vstack(
                _summary(),
                _actions(),
                rx.foreach(KycCaseState.submissions, _submission),
                rx.cond(KycCaseState.own_case, rx.fragment(), _history()),
                spacing="4",
                width="100%",
            ),
        ),
    )
