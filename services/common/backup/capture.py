"""Change capture: a trigger on every table of a service database writes each committed change
into `backup_changes` in the same transaction (decision 0060).

Nothing here names a service's tables. The tables, their primary keys, the column that says which
village a row belongs to (its own `village_code`, a village table's `code`, or a foreign key to a
table that has one) and the document columns (`key`/`*_key` beside `sha256`/`*_sha256`) are read
from the database's catalogue, so a table added by any migration of any service is captured as
soon as `desa migrate` has run (`install` runs after every upgrade).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from services.common.backup.store import REGENCY
from services.common.tables import backup_changes

SKIPPED = frozenset({"alembic_version", backup_changes.name})
TRIGGER = "backup_capture"
RESTORING = "current_setting('desa.backup_restore', true) = 'on'"


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class TableInfo:
    name: str
    columns: list[str]                       # stored columns (generated ones left out)
    pk: list[str]
    identity: list[str] = field(default_factory=list)
    village_column: str | None = None        # holds the village code itself
    parent: tuple[str, str, str] | None = None  # (table, local column, parent column)
    documents: list[tuple[str, str]] = field(default_factory=list)  # (key column, sha column)


class Schema:
    """The captured tables of one service database, parents before children."""

    def __init__(self, tables: list[TableInfo]):
        self.tables = {t.name: t for t in tables}

    @classmethod
    def load(cls, bind: Engine | Connection) -> Schema:
        meta = sa.MetaData()
        meta.reflect(bind=bind)
        inspector = sa.inspect(bind)
        infos = []
        for table in meta.sorted_tables:
            if table.name in SKIPPED:
                continue
            columns = inspector.get_columns(table.name)
            stored = [c["name"] for c in columns if not c.get("computed")]
            info = TableInfo(
                name=table.name, columns=stored,
                pk=[c.name for c in table.primary_key.columns],
                identity=[c["name"] for c in columns
                          if c.get("identity") or "nextval(" in str(c.get("default") or "")])
            if "village_code" in stored:
                info.village_column = "village_code"
            elif table.name == "villages" and info.pk == ["code"]:
                info.village_column = "code"
            info.documents = _document_columns(stored)
            infos.append(info)
        schema = cls(infos)
        for table in meta.sorted_tables:
            info = schema.tables.get(table.name)
            if info is None or info.village_column:
                continue
            for fk in table.foreign_keys:
                parent = schema.tables.get(fk.column.table.name)
                if parent is not None and (parent.village_column or parent.parent) \
                        and len(fk.constraint.columns) == 1:
                    info.parent = (parent.name, fk.parent.name, fk.column.name)
                    break
        return schema

    def __iter__(self):
        return iter(self.tables.values())

    def village_of(self, table: str, row: str, depth: int = 0) -> str:
        """SQL giving the village (or NULL) of the row `row` (NEW, OLD or an alias) of `table`."""
        info = self.tables[table]
        if info.village_column:
            return f"{row}.{q(info.village_column)}"
        if info.parent and depth < 5:
            parent, local, remote = info.parent
            alias = f"backup_p{depth}"
            return (f"(SELECT {self.village_of(parent, alias, depth + 1)} FROM {q(parent)} "
                    f"{alias} WHERE {alias}.{q(remote)} = {row}.{q(local)})")
        return "NULL"

    def scope_filter(self, table: str, alias: str = "t") -> str:
        """A WHERE clause (bind parameter `scope`) choosing the rows of one scope."""
        info = self.tables[table]
        if info.village_column:
            column = f"{alias}.{q(info.village_column)}"
            return (f"(CASE WHEN %(scope)s = '{REGENCY}' THEN {column} IS NULL "
                    f"ELSE {column} = %(scope)s END)")
        if info.parent:
            return f"coalesce({self.village_of(table, alias)}, '{REGENCY}') = %(scope)s"
        return f"%(scope)s = '{REGENCY}'"

    def scope_column(self, table: str, alias: str = "t") -> str:
        return f"coalesce({self.village_of(table, alias)}, '{REGENCY}')"


def _document_columns(columns: list[str]) -> list[tuple[str, str]]:
    found = []
    for name in columns:
        if name != "key" and not name.endswith("_key"):
            continue
        prefix = name[:-len("key")]
        sha = next((c for c in (f"{prefix}sha256", "sha256") if c in columns), None)
        if sha is not None:
            found.append((name, sha))
    return found


def _function_name(table: str) -> str:
    name = f"backup_capture_{table}"
    if len(name) > 60:
        name = f"backup_capture_{hashlib.sha256(table.encode()).hexdigest()[:16]}"
    return name


def trigger_sql(schema: Schema, table: str) -> list[str]:
    info = schema.tables[table]
    function = _function_name(table)
    pk_old = ", ".join(f"OLD.{q(c)}" for c in info.pk)
    pk_new = ", ".join(f"NEW.{q(c)}" for c in info.pk)
    insert = ("INSERT INTO backup_changes (xid, tbl, op, village, row) VALUES "
              "(pg_current_xact_id()::text::bigint, '{table}', '{op}', "
              "coalesce({village}, '" + REGENCY + "'), to_jsonb({row}));")
    body = f"""
CREATE OR REPLACE FUNCTION {q(function)}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_old text;
    v_new text;
BEGIN
    IF {RESTORING} THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        v_old := {schema.village_of(table, 'OLD')};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        v_new := {schema.village_of(table, 'NEW')};
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (v_old IS DISTINCT FROM v_new
            OR ROW({pk_old}, NULL) IS DISTINCT FROM ROW({pk_new}, NULL))) THEN
        {insert.format(table=table, op='D', village='v_old', row='OLD')}
    END IF;
    IF TG_OP <> 'DELETE' THEN
        {insert.format(table=table, op='U', village='v_new', row='NEW')}
    END IF;
    RETURN NULL;
END $$;
"""
    trigger = (f"CREATE OR REPLACE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON "
               f"{q(table)} FOR EACH ROW EXECUTE FUNCTION {q(function)}()")
    return [body, trigger]


def install(engine: Engine) -> Schema:
    """Create the change table if missing and a capture trigger on every table (idempotent;
    safe while the service writes: an existing trigger is left alone, its function replaced)."""
    with engine.begin() as conn:
        backup_changes.create(conn, checkfirst=True)
        schema = Schema.load(conn)
        missing = set(uncovered(conn))
        for info in schema:
            if not info.pk:
                raise RuntimeError(f"table {info.name} has no primary key: it cannot be backed "
                                   "up change by change; give it one")
            function, trigger = trigger_sql(schema, info.name)
            conn.exec_driver_sql(function)
            if info.name in missing:  # creating a trigger locks the table: only when missing
                conn.exec_driver_sql(trigger)
    return schema


def uncovered(conn: Connection) -> list[str]:
    """Tables of this database that no capture trigger watches (should be none)."""
    watched = set(conn.scalars(sa.text(
        "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE g.tgname = :t AND n.nspname = current_schema() AND g.tgenabled <> 'D'"),
        {"t": TRIGGER}))
    tables = set(conn.scalars(sa.text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")))
    return sorted(tables - watched - SKIPPED)


def copy_expert(cursor, sql: str, file) -> None:
    """psycopg2's COPY, also in a process where eventlet made psycopg2 green (the services, the
    tests): COPY refuses to run under a wait callback, so it is lifted for the statement."""
    import psycopg2.extensions

    callback = psycopg2.extensions.get_wait_callback()
    if callback is None:
        cursor.copy_expert(sql, file)
        return
    psycopg2.extensions.set_wait_callback(None)
    try:
        cursor.copy_expert(sql, file)
    finally:
        psycopg2.extensions.set_wait_callback(callback)
