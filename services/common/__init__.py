"""Shared kernel: infrastructure only (config, database, outbox, inbox, object store, errors)."""
