"""Orders: checkout, the order lifecycle, mint-after-payment exactly once, refunds and the admin views."""
