"""The admin surface's page decorators: signed-in pages in the admin shell, and public ones (sign-in, invitations)."""

from primsell.components.layout import admin_shell, public_shell
from primsell.pages.registry import surface_page

admin_page = surface_page("admin", admin_shell, signed_in=True)
admin_public_page = surface_page("admin", public_shell)
