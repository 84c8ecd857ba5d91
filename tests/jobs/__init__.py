"""Tests for jobs/: leases, the runner, the scheduler and the daemons."""
