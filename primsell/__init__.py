"""Primsell's web app (Reflex): admin, checkout, redeem and KYC surfaces on one shared component layer."""
