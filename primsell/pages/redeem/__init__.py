"""The redeem surface: holders see and use their perks (QR codes, online codes); counter staff scan codes."""

from primsell.pages.redeem import landing, rewards, scan  # noqa: F401
