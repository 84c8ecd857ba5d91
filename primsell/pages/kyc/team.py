"""/kyc/team: the platform's KYC reviewers (platform admins only): invite by email (the link is mailed to the
invitee), resend or withdraw an invitation, remove a reviewer."""

import reflex as rx

from primsell import routes
from primsell.components.members import KYC_TEAM, members_panel
from primsell.pages.registry import kyc_page
from primsell.state.admin.members import AdminMembersState
from primsell.state.session import SessionState


@kyc_page(route=routes.KYC_TEAM, title="KYC team", on_load=AdminMembersState.load_kyc_team)
def team() -> rx.Component:
    return rx.vstack(
        rx.hstack(rx.heading("KYC team", size="6"), rx.spacer(),
                  rx.link("Review queue", href=routes.KYC, size="2"), align="center", width="100%"),
        rx.text("The people who review identity checks, for every brand.", color_scheme="gray", size="2"),
        rx.cond(
            SessionState.is_platform_admin,
            members_panel(KYC_TEAM),
            rx.callout("Only platform admins manage the KYC team.", icon="lock"),
        ),
        spacing="4",
        width="100%",
    )
