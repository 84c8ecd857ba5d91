"""The redeem surface: customers and counter staff redeem reward codes."""

from primsell.pages.redeem import landing  # noqa: F401
