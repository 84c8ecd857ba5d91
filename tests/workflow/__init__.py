"""Tests for backend/workflow and jobs/."""
