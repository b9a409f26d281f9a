"""Shared kernel, infrastructure only: the service shape (service.py), rules, roles, clock,
tenancy, fields, read models, kernel tables, outbox, relay, inbox, topology, object store."""
