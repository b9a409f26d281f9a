"""Finance application code, one module per aggregate: load, call the domain, save, emit.

Functions take a SQLAlchemy Session (and the Outbox when they change state) and never commit:
the unit of work around each entrypoint commits or rolls back, so a posting and the events
describing it land together or not at all.
"""
