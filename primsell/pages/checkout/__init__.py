"""The checkout surface: public campaign pages and the buyer's order page, no sign-in needed; plus the consumer's
own account (/account, signed in)."""

from primsell.pages.checkout import account, campaign, order, verify  # noqa: F401
