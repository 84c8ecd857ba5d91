"""The checkout surface: public campaign pages, no sign-in needed."""

from primsell.pages.checkout import campaign  # noqa: F401
