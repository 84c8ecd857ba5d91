"""Tests of the orders package: checkout, concurrency, fulfilment, refunds, expiry and the admin views."""
