"""Tests for backend/fx and jobs/."""
