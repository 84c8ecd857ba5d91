"""The workflow engine: state machines with history, the transactional outbox and its subscribers."""
