"""The admin surface: brand admins and staff manage campaigns, brand settings and members."""

from primsell.pages.admin import (  # noqa: F401
    accept_invite,
    brand,
    campaign_form,
    campaign_rewards,
    campaign_royalties,
    campaign_sales,
    chain,
    dashboard,
    login,
    members,
    operations,
    order_detail,
    orders,
    reconciliation,
)
