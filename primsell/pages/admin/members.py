"""/admin/members: who belongs to the brand, invitations (mailed to the invitee; resend or withdraw), role changes
and removal."""

import reflex as rx

from primsell import routes
from primsell.components.members import BRAND_TEAM, members_panel
from primsell.pages.registry import admin_page
from primsell.state.admin.members import AdminMembersState
from primsell.state.session import SessionState


@admin_page(route=routes.ADMIN_MEMBERS, title="Members", on_load=AdminMembersState.load_members)
def members() -> rx.Component:
    return rx.vstack(
        rx.heading("Members", size="6"),
        rx.cond(
            SessionState.has_brand,
            rx.cond(
                SessionState.can_read_members,
                members_panel(BRAND_TEAM),
                rx.callout("Only brand admins can see the member list.", icon="lock"),
            ),
            rx.callout("No brand is chosen: pick one in the brand switcher to see its members.", icon="info"),
        ),
        spacing="4",
        width="100%",
    )
