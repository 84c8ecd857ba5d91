"""The daemon runner: APScheduler runs each registered daemon under a DB-row lease (`python -m jobs`)."""
