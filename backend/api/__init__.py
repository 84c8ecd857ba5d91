"""Primsell's HTTP API: a FastAPI app mounted in front of the Reflex app, everything under `/api/`."""
