"""/admin/login: brand admins and staff sign in."""

import reflex as rx

from primsell import routes
from primsell.components.sign_in import sign_in_form
from primsell.pages.registry import admin_public_page
from primsell.state.sign_in import AuthSignInState


@admin_public_page(route=routes.ADMIN_LOGIN, title="Sign in", on_load=AuthSignInState.reset_form)
def admin_login() -> rx.Component:
    return sign_in_form("admin", "Sign in to Primsell", "Manage your brand's campaigns.")
