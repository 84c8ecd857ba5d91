"""The admin surface: brand admins and staff manage campaigns, brand settings and members."""

from primsell.pages.admin import accept_invite, brand, campaign_form, chain, dashboard, login, members, operations  # noqa: F401
from primsell.pages.admin import order_detail, orders  # noqa: F401
