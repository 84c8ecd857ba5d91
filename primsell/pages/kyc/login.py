"""/kyc/login: KYC reviewers sign in (same form and mechanism as the admin)."""

import reflex as rx

from primsell import routes
from primsell.components.layout import public_shell
from primsell.components.sign_in import sign_in_form
from primsell.pages.registry import surface_page
from primsell.state.sign_in import AuthSignInState

kyc_public_page = surface_page("kyc", public_shell)


@kyc_public_page(route=routes.KYC_LOGIN, title="KYC sign in", on_load=AuthSignInState.reset_form)
def kyc_login() -> rx.Component:
    return sign_in_form("kyc", "Sign in to KYC review", "For Primsell's identity reviewers.")
