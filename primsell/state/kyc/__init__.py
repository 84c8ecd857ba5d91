"""State of the kyc surface's pages, one module per page."""
