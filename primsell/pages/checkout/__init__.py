"""The checkout surface: public campaign pages and the buyer's order page, no sign-in needed."""

from primsell.pages.checkout import campaign, order  # noqa: F401
