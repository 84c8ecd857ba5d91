"""Error log (deduplicated, scrubbed) and Sentry reporting."""
