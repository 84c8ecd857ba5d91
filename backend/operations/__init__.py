"""Operations: daemon leases and runs, scheduler heartbeat, retention, and the admin Operations page service."""
