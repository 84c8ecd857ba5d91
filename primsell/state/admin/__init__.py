"""State of the admin surface's pages, one module per page."""
