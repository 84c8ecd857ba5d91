"""Payments: the PaymentProvider interface (Stripe and the embedded sandbox) and the Stripe webhook intake."""
