"""/admin/members: who belongs to the brand, invitations (link shown once), role changes and removal."""

import reflex as rx

from primsell import routes
from primsell.components.dialogs import confirm_dialog
from primsell.components.forms import form_error, select_field, submit_button, text_field
from primsell.pages.admin.decorator import admin_page
from primsell.state.admin.members import ROLE_OPTIONS
from primsell.state.admin.members import AdminMembersState as S
from primsell.state.session import SessionState


def _role_cell(member: rx.Var) -> rx.Component:
    return rx.cond(
        SessionState.can_manage_members & (member["user_id"] != ""),
        rx.el.select(
            *[rx.el.option(label, value=value) for value, label in ROLE_OPTIONS],
            value=member["role"],
            on_change=lambda role: S.change_role(member["user_id"], role),
            aria_label="Role",
            class_name="native-select",
        ),
        rx.text(member["role_label"]),
    )


def _row(member: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(member["email"], weight="medium"),
                                rx.cond(member["name"] != "", rx.text(member["name"], size="1", color_scheme="gray")),
                                spacing="0")),
        rx.table.cell(_role_cell(member)),
        rx.table.cell(rx.cond(member["pending"] != "", rx.badge("Invitation pending", color_scheme="amber"),
                              rx.badge("Active", color_scheme="green"))),
        rx.table.cell(
            rx.cond(
                SessionState.can_manage_members & (member["user_id"] != ""),
                confirm_dialog(
                    rx.icon_button(rx.icon("user-minus", size=14), variant="ghost", color_scheme="red", aria_label="Remove member"),
                    title="Remove this member?",
                    description="They lose access to this brand at once.",
                    confirm_label="Remove",
                    on_confirm=S.remove(member["user_id"]),
                ),
            )
        ),
        data_testid="member-row",
    )


def invite_card() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Invite someone", size="3"),
                form_error(S.form_error),
                rx.flex(
                    rx.box(text_field("Email", "email", S.field_errors, type="email", placeholder="name@example.com"), flex="2"),
                    rx.box(select_field("Role", "role", ROLE_OPTIONS, S.field_errors, default_value="brand_staff"), flex="1"),
                    gap="1em",
                    width="100%",
                    wrap="wrap",
                ),
                submit_button("Send invitation", S.inviting, "Inviting…"),
                spacing="3",
                width="100%",
            ),
            key=S.invite_form_key,
            on_submit=S.invite,
            reset_on_submit=False,
            no_validate=True,
        ),
        width="100%",
    )


def invite_link_callout() -> rx.Component:
    return rx.cond(
        S.invite_link != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("link")),
            rx.vstack(
                rx.text("Send this link to ", rx.text.strong(S.invite_email),
                        ". It is shown only once and works for 7 days (no email is sent)."),
                rx.code(S.invite_link, id="invite-link", style={"wordBreak": "break-all"}),
                rx.hstack(
                    rx.button("Copy link", size="1", on_click=rx.set_clipboard(S.invite_link)),
                    rx.button("Done", size="1", variant="soft", on_click=S.dismiss_invite_link),
                ),
                spacing="2",
            ),
            color_scheme="green",
            width="100%",
        ),
    )


@admin_page(route=routes.ADMIN_MEMBERS, title="Members", on_load=S.load_members)
def members() -> rx.Component:
    return rx.vstack(
        rx.heading("Members", size="6"),
        rx.cond(
            SessionState.can_read_members,
            rx.vstack(
                rx.cond(SessionState.can_manage_members, invite_card()),
                invite_link_callout(),
                rx.table.root(
                    rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in ("Person", "Role", "State", "")])),
                    rx.table.body(
                        rx.cond(
                            S.loading,
                            rx.table.row(rx.table.cell(rx.hstack(rx.spinner(), rx.text("Loading…")), col_span=4)),
                            rx.foreach(S.members, _row),
                        )
                    ),
                    variant="surface",
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            rx.callout("Only brand admins can see the member list.", icon="lock"),
        ),
        spacing="4",
        width="100%",
    )
