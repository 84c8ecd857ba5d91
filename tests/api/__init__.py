"""Tests of the HTTP API through the real app, services and database."""
