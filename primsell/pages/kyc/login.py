"""/kyc/login: KYC reviewers sign in (same form and mechanism as the admin)."""

import reflex as rx

from primsell import routes
from primsell.components.sign_in import sign_in_form
from primsell.pages.registry import kyc_public_page
from primsell.state.sign_in import AuthSignInState


@kyc_public_page(route=routes.KYC_LOGIN, title="KYC sign in", on_load=AuthSignInState.reset_form)
def kyc_login() -> rx.Component:
    return sign_in_form("kyc", "Sign in to KYC review", "For Primsell's identity reviewers.")
