"""The member list with invitations, shared by the admin surface's Members page (a brand's members) and the KYC
surface's Team page (the platform's KYC reviewers): one state (`AdminMembersState`), one look."""

from __future__ import annotations

from dataclasses import dataclass

import reflex as rx

from backend.auth.acl import PLATFORM_TEAM_ROLES, Role
from primsell.components.dialogs import confirm_dialog
from primsell.components.forms import form_error, select_field, submit_button, text_field
from primsell.state.admin.members import ROLE_OPTIONS, AdminMembersState
from primsell.state.session import SessionState


@dataclass(frozen=True)
class Team:
    platform: bool  # the platform's KYC reviewers (one role), not a brand's members
    can_manage: rx.Var
    removal: str  # what removing someone does, in the confirmation
    invite_heading: str


BRAND_TEAM = Team(False, SessionState.can_manage_members,
                  "They lose access to this brand at once and are signed out.", "Invite someone")
KYC_TEAM = Team(True, SessionState.is_platform_admin,
                "They can no longer review identity checks and are signed out at once.", "Invite a KYC reviewer")


def _role_cell(member: rx.Var, team: Team) -> rx.Component:
    if team.platform:  # one role there: nothing to choose
        return rx.text(member["role_label"])
    return rx.cond(
        # A role no longer given in brands (a KYC reviewer invited into one before it moved to the platform's team)
        # is shown, not offered: a select would show another role than the member has.
        team.can_manage & (member["user_id"] != "") & (member["role"] != Role.KYC_REVIEWER.value),
        rx.el.select(
            *[rx.el.option(label, value=value) for value, label in ROLE_OPTIONS],
            value=member["role"],
            on_change=lambda role: AdminMembersState.change_role(member["user_id"], role),
            aria_label="Role",
            class_name="native-select",
        ),
        rx.text(member["role_label"]),
    )


def _row(member: rx.Var, team: Team) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(member["email"], weight="medium"),
                rx.cond(member["name"] != "", rx.text(member["name"], size="1", color_scheme="gray")),
                spacing="0",
            )
        ),
        rx.table.cell(_role_cell(member, team)),
        rx.table.cell(
            rx.cond(
                member["pending"] != "",
                rx.badge("Invitation pending", color_scheme="amber"),
                rx.badge("Active", color_scheme="green"),
            )
        ),
        rx.table.cell(
            rx.cond(
                team.can_manage & (member["user_id"] != ""),
                rx.cond(
                    member["pending"] != "",
                    rx.hstack(
                        rx.button(
                            rx.cond(AdminMembersState.resending == member["user_id"], "Sending…", "Resend"),
                            size="1",
                            variant="soft",
                            on_click=AdminMembersState.resend(member["user_id"]),
                            disabled=AdminMembersState.resending != "",
                            aria_label="Resend invitation",
                        ),
                        confirm_dialog(
                            rx.button(
                                "Withdraw",
                                size="1",
                                variant="ghost",
                                color_scheme="red",
                                aria_label="Withdraw invitation",
                            ),
                            title="Withdraw this invitation?",
                            description="The link in their email stops working.",
                            confirm_label="Withdraw",
                            on_confirm=AdminMembersState.remove(member["user_id"]),
                        ),
                        spacing="2",
                    ),
                    confirm_dialog(
                        rx.icon_button(
                            rx.icon("user-minus", size=14),
                            variant="ghost",
                            color_scheme="red",
                            aria_label="Remove member",
                        ),
                        title="Remove this member?",
                        description=team.removal,
                        confirm_label="Remove",
                        on_confirm=AdminMembersState.remove(member["user_id"]),
                    ),
                ),
            )
        ),
        data_testid="member-row",
    )


def invite_card(team: Team) -> rx.Component:
    role = (rx.el.input(type="hidden", name="role", value=PLATFORM_TEAM_ROLES[0].value) if team.platform else
            rx.box(select_field("Role", "role", ROLE_OPTIONS, AdminMembersState.field_errors,
                                default_value="brand_staff"), flex="1"))
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(team.invite_heading, size="3"),
                form_error(AdminMembersState.form_error),
                rx.flex(
                    rx.box(
                        text_field(
                            "Email",
                            "email",
                            AdminMembersState.field_errors,
                            type="email",
                            placeholder="name@example.com",
                        ),
                        flex="2",
                    ),
                    role,
                    gap="1em",
                    width="100%",
                    wrap="wrap",
                ),
                submit_button("Send invitation", AdminMembersState.inviting, "Inviting…"),
                spacing="3",
                width="100%",
            ),
            key=AdminMembersState.invite_form_key,
            on_submit=AdminMembersState.invite,
            reset_on_submit=False,
            no_validate=True,
        ),
        width="100%",
    )


def invite_sent_callout() -> rx.Component:
    return rx.cond(
        AdminMembersState.sent_to != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("mail-check")),
            rx.vstack(
                rx.text(
                    "Invitation sent to ",
                    rx.text.strong(AdminMembersState.sent_to),
                    ". They join by opening the link in that email.",
                    id="invite-sent",
                ),
                rx.hstack(
                    rx.cond(
                        AdminMembersState.mailbox_url != "",
                        rx.link(
                            "Open the development mailbox",
                            href=AdminMembersState.mailbox_url,
                            is_external=True,
                            size="2",
                        ),
                    ),
                    rx.button("Done", size="1", variant="soft", on_click=AdminMembersState.dismiss_sent),
                    align="center",
                    spacing="3",
                ),
                spacing="2",
            ),
            color_scheme="green",
            width="100%",
        ),
    )


def members_panel(team: Team) -> rx.Component:
    """The invite form (for those who may manage), the sent notice and the member table."""
    return rx.vstack(
        rx.cond(team.can_manage, invite_card(team)),
        invite_sent_callout(),
        rx.table.root(
            rx.table.header(rx.table.row(
                *[rx.table.column_header_cell(h) for h in ("Person", "Role", "State", "")])),
            rx.table.body(
                rx.cond(
                    AdminMembersState.loading,
                    rx.table.row(rx.table.cell(rx.hstack(rx.spinner(), rx.text("Loading…")), col_span=4)),
                    rx.cond(
                        AdminMembersState.members.length() > 0,
                        rx.foreach(AdminMembersState.members, lambda member: _row(member, team)),
                        rx.table.row(rx.table.cell(rx.text("Nobody yet: invite someone above.", color_scheme="gray"),
                                                   col_span=4)),
                    ),
                )
            ),
            variant="surface",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
