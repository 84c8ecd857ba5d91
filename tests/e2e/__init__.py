"""Browser journeys against the app started in production mode (Playwright + Debian's Chromium)."""
