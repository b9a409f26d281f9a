"""Office views: the outgoing-letter register (Buku Agenda) and monthly counts."""
from __future__ import annotations

import base64
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import NotFound
from services.common.fields import load
from services.common.tenancy import check_scope
from services.letters import catalogue, register, schemas
from services.letters.app.letters import REGISTER_PURPOSE, record_reads
from services.letters.models import Letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_COUNTS = schemas.CountSchema(many=True)


def _local_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    start = datetime.combine(date_from, time.min, tzinfo=clock.JAKARTA)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=clock.JAKARTA)
    return start, end


def letter_register(session: Session, village_code: str, date_from: str, date_to: str,
                    scope: str | None, actor: dict | None = None,
                    request_id: str | None = None) -> list[dict]:
    """Buku Agenda surat keluar: every numbered letter of the period, in number order (a
    logged read of each: it names who got which letter for what)."""
    query = load(schemas.RegisterQuerySchema(), {"from": date_from, "to": date_to},
                 "invalid input")
    check_scope(scope, village_code)
    start, end = _local_bounds(query["date_from"], query["date_to"])
    rows = session.scalars(
        sa.select(Letter).where(Letter.village_code == village_code,
                                Letter.number.is_not(None),
                                Letter.signed_at >= start, Letter.signed_at < end)
        .order_by(Letter.signed_at, Letter.number_seq)).all()
    record_reads(session, rows, actor, REGISTER_PURPOSE, request_id)
    entries = []
    for index, letter in enumerate(rows, start=1):
        letter_type = catalogue.TYPES.get(letter.type_code)
        subject = letter_type.name if letter_type else letter.type_code
        if letter.purpose:
            subject = f"{subject}: {letter.purpose}"
        entries.append({
            "no": index, "number": letter.number,
            "date": clock.local_date(letter.signed_at).isoformat(),
            "classification_code": letter.classification_code,
            "addressee": letter.subject_name, "subject": subject, "status": letter.status,
        })
    return entries


def letter_register_file(session: Session, village_code: str, date_from: str, date_to: str,
                         file_format: str, scope: str | None, actor: dict | None = None,
                         request_id: str | None = None) -> dict:
    """The register as a file: {filename, content_type, rows, content_base64}."""
    rows = letter_register(session, village_code, date_from, date_to, scope, actor, request_id)
    name = f"buku-agenda-{village_code}-{date_from}-{date_to}"
    if file_format == "xlsx":
        data = register.register_xlsx(
            rows, f"Buku Agenda Surat Keluar {village_code} ({date_from} s.d. {date_to})")
        content_type = XLSX
    else:
        data, content_type, file_format = register.register_csv(rows), "text/csv", "csv"
    return {"filename": f"{name}.{file_format}", "content_type": content_type,
            "rows": len(rows), "content_base64": base64.b64encode(data).decode()}


def letter_counts(session: Session, year: int, scope: str | None,
                  village_code: str | None = None) -> list[dict]:
    """Letters requested and issued per village and month (regency dashboard)."""
    if scope is not None:
        if village_code not in (None, scope):
            raise NotFound("village not found")
        village_code = scope
    start, end = _local_bounds(date(year, 1, 1), date(year, 12, 31))
    counts: dict[tuple[str, str], dict] = {}
    for column, label in ((Letter.requested_at, "requested"), (Letter.issued_at, "issued")):
        month = sa.func.to_char(sa.func.timezone("Asia/Jakarta", column), "YYYY-MM")
        stmt = (sa.select(Letter.village_code, month.label("month"), sa.func.count())
                .where(column >= start, column < end).group_by(Letter.village_code, month))
        if village_code:
            stmt = stmt.where(Letter.village_code == village_code)
        for code, month_value, count in session.execute(stmt):
            entry = counts.setdefault((code, month_value), {
                "village_code": code, "month": month_value, "requested": 0, "issued": 0})
            entry[label] = count
    return _COUNTS.dump([counts[key] for key in sorted(counts)])
