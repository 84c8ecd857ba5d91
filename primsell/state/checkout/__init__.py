"""State of the checkout surface's pages, one module per page."""
