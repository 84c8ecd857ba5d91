"""Pages, one package per surface (admin, checkout, redeem, kyc) plus the home page; see registry.py."""
