"""Tests of the payments package: webhook intake, the Stripe client at the network boundary, the sandbox."""
