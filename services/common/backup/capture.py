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
TRIGGER = "backup_capture"  # updates and deletes, row by row
INSERT_TRIGGER = "backup_capture_insert"  # inserts, one statement at a time (transition table)
TRUNCATE_GUARD = "backup_no_truncate"
# TRUNCATE fires no row trigger, so it would empty a table without a change reaching the backup
# (and a restore would bring the rows back). It is refused; DELETE is captured.
_REFUSE_TRUNCATE = """
CREATE OR REPLACE FUNCTION backup_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE of % is refused: the backup does not capture it; DELETE the rows '
        'instead (captured change by change)', TG_TABLE_NAME
        USING ERRCODE = 'feature_not_supported';
END $$"""
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
        """Read from the catalogue in three queries (SQLAlchemy's reflection takes seconds per
        database, and a restore or snapshot loads the schema of every service)."""
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                return cls.load(conn)
        columns: dict[str, list[tuple[str, bool]]] = {}
        for table, column, identity in bind.execute(sa.text(_COLUMNS)):
            columns.setdefault(table, []).append((column, identity))
        pks: dict[str, list[str]] = {}
        for table, column in bind.execute(sa.text(_PRIMARY_KEYS)):
            pks.setdefault(table, []).append(column)
        fks: dict[str, list[tuple[str, str, str]]] = {}
        for table, local, parent, remote in bind.execute(sa.text(_FOREIGN_KEYS)):
            fks.setdefault(table, []).append((parent, local, remote))
        infos = []
        for name in _parents_first(sorted(set(columns) - SKIPPED), fks):
            stored = [c for c, _ in columns[name]]
            info = TableInfo(name=name, columns=stored, pk=pks.get(name, []),
                             identity=[c for c, identity in columns[name] if identity])
            if "village_code" in stored:
                info.village_column = "village_code"
            elif name == "villages" and info.pk == ["code"]:
                info.village_column = "code"
            info.documents = _document_columns(stored)
            infos.append(info)
        schema = cls(infos)
        for info in schema:
            if info.village_column:
                continue
            for parent_name, local, remote in fks.get(info.name, []):
                parent = schema.tables.get(parent_name)
                if local is not None and parent is not None and \
                        (parent.village_column or parent.parent):
                    info.parent = (parent.name, local, remote)
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


# Stored columns of the current schema's tables (generated ones left out), in their order; an
# identity column or one defaulting to a sequence is marked.
_COLUMNS = """
SELECT c.relname, a.attname,
       a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid), '') LIKE 'nextval(%'
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND a.attgenerated = ''
ORDER BY c.relname, a.attnum"""
_PRIMARY_KEYS = """
SELECT c.relname, a.attname
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, position)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
WHERE k.contype = 'p'
ORDER BY c.relname, u.position"""
# Foreign keys by constraint name; the columns only of one-column ones (a longer one carries no
# village, but still orders the tables).
_FOREIGN_KEYS = """
SELECT c.relname, CASE WHEN cardinality(k.conkey) = 1 THEN a.attname END, p.relname, pa.attname
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
JOIN pg_class p ON p.oid = k.confrelid
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
JOIN pg_attribute pa ON pa.attrelid = p.oid AND pa.attnum = k.confkey[1]
WHERE k.contype = 'f'
ORDER BY c.relname, k.conname"""


def _parents_first(names: list[str], fks: dict[str, list[tuple[str, str, str]]]) -> list[str]:
    """Tables ordered so a table comes after the tables it references (by name where free; a
    cycle is broken at its first name)."""
    ordered: list[str] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in placed or name in visiting:
            return
        visiting.add(name)
        for parent, _, _ in sorted(fks.get(name, [])):
            if parent in names and parent != name:
                visit(parent)
        visiting.discard(name)
        placed.add(name)
        ordered.append(name)

    for name in names:
        visit(name)
    return ordered


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


def _function_name(table: str, kind: str = "") -> str:
    prefix = f"backup_capture_{kind}_" if kind else "backup_capture_"
    name = f"{prefix}{table}"
    if len(name) > 60:
        name = f"{prefix}{hashlib.sha256(table.encode()).hexdigest()[:16]}"
    return name


def trigger_sql(schema: Schema, table: str) -> list[str]:
    """The capture functions and triggers of `table`: its function, the row trigger (updates
    and deletes), the insert function and the statement trigger of inserts."""
    return [*_row_trigger_sql(schema, table), *_insert_trigger_sql(schema, table)]


def _insert_trigger_sql(schema: Schema, table: str) -> list[str]:
    """Inserts are captured once per statement from its transition table: one INSERT ...
    SELECT into backup_changes for all the rows a statement inserted, in the order it inserted
    them, the same rows a row trigger would write. A bulk import of 100,000 residents writes
    some 560,000 rows; row by row, the capture was a PL/pgSQL call and a one-row INSERT each."""
    function = _function_name(table, "ins")
    body = f"""
CREATE OR REPLACE FUNCTION {q(function)}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {RESTORING} THEN
        RETURN NULL;
    END IF;
    INSERT INTO backup_changes (xid, tbl, op, village, row)
    SELECT pg_current_xact_id()::text::bigint, '{table}', 'U',
           coalesce({schema.village_of(table, 'backup_new')}, '{REGENCY}'), to_jsonb(backup_new)
      FROM backup_new_rows AS backup_new;
    RETURN NULL;
END $$;
"""
    trigger = (f"CREATE OR REPLACE TRIGGER {INSERT_TRIGGER} AFTER INSERT ON {q(table)} "
               f"REFERENCING NEW TABLE AS backup_new_rows FOR EACH STATEMENT "
               f"EXECUTE FUNCTION {q(function)}()")
    return [body, trigger]


def _row_trigger_sql(schema: Schema, table: str) -> list[str]:
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
    trigger = (f"CREATE OR REPLACE TRIGGER {TRIGGER} AFTER UPDATE OR DELETE ON "
               f"{q(table)} FOR EACH ROW EXECUTE FUNCTION {q(function)}()")
    return [body, trigger]


def install(engine: Engine) -> Schema:
    """Create the change table if missing and a capture trigger on every table (idempotent;
    safe while the service writes: an existing trigger is left alone, its function replaced)."""
    with engine.begin() as conn:
        backup_changes.create(conn, checkfirst=True)
        schema = Schema.load(conn)
        missing = set(uncovered(conn))
        conn.execute(sa.text(_REFUSE_TRUNCATE))
        for info in schema:
            if not info.pk:
                raise RuntimeError(f"table {info.name} has no primary key: it cannot be backed "
                                   "up change by change; give it one")
            function, trigger, insert_function, insert_trigger = trigger_sql(schema, info.name)
            conn.exec_driver_sql(function)
            conn.exec_driver_sql(insert_function)
            if info.name in missing:  # creating a trigger locks the table: only when missing
                # (a row trigger of before decision 0104 also fired on INSERT: replaced)
                conn.exec_driver_sql(trigger)
                conn.exec_driver_sql(insert_trigger)
                conn.exec_driver_sql(
                    f"CREATE OR REPLACE TRIGGER {TRUNCATE_GUARD} BEFORE TRUNCATE ON "
                    f"{q(info.name)} FOR EACH STATEMENT EXECUTE FUNCTION "
                    "backup_refuse_truncate()")
    return schema


def uncovered(conn: Connection) -> list[str]:
    """Tables of this database whose changes are not all captured: a capture trigger (the row
    trigger of updates and deletes, the statement trigger of inserts) or the TRUNCATE guard
    missing or disabled, or a row trigger of before decision 0104 that still captures inserts
    (they would be captured twice). Should be none."""
    watched = set(conn.scalars(sa.text(
        "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE g.tgname IN (:t, :i, :g) AND n.nspname = current_schema() "
        "AND g.tgenabled <> 'D' AND NOT (g.tgname = :t AND g.tgtype & 4 <> 0) "
        "GROUP BY c.relname HAVING count(*) = 3"),
        {"t": TRIGGER, "i": INSERT_TRIGGER, "g": TRUNCATE_GUARD}))
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
