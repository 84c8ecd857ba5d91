"""Tests of backend/rewards."""
