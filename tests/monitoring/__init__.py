"""Tests for backend/monitoring and jobs/."""
