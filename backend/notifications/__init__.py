"""Email to consumers: queued in the sender's transaction, delivered by the `email_sender` daemon."""
