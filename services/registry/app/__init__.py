"""Registry application code, one module per aggregate: load, call the domain, save, emit.

Functions take a SQLAlchemy Session (and the Outbox when they change state) and never commit:
the unit of work (services/common/service.py) around each entrypoint commits or rolls back.
"""
