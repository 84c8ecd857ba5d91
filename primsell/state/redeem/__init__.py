"""State of the redeem surface's pages, one module per page."""
