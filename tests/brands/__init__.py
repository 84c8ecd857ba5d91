"""Tests; mirrors the source tree."""
