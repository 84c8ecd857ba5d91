"""Reflex state classes: session.py (who is signed in), then one module per page under <surface>/."""
