"""Village-wide views for the web portal: public population statistics and the family list."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.common.fields import load
from services.registry.app import reads, records
from services.registry.models import Family, FamilyMembership, Resident
from services.registry.schemas.overview import FamilyListArgs

# Age groups of the Profil Desa tables (upper bound exclusive); the last one is open.
AGE_GROUPS = ((0, 5), (5, 15), (15, 25), (25, 45), (45, 60), (60, 75), (75, None))
UNKNOWN = "Belum diisi"


def _age_label(low: int, high: int | None) -> str:
    return f"{low}+ tahun" if high is None else f"{low}-{high - 1} tahun"


def population_statistics(session: Session, village_code: str,
                          today: date | None = None) -> dict:
    """Living residents counted by sex, age group, education and occupation: aggregates only.

    Four GROUP BY queries whatever the size of the village (no resident row leaves the
    database), so a village of 5,000 residents answers as fast as one of 50.
    """
    records.village(session, village_code)
    today = today or clock.local_today()
    living = sa.and_(Resident.village_code == village_code, Resident.status == "alive")

    def grouped(column) -> list[dict]:
        rows = session.execute(sa.select(column, sa.func.count()).where(living)
                               .group_by(column).order_by(sa.func.count().desc(), column))
        return [{"label": label or UNKNOWN, "count": count} for label, count in rows]

    age = sa.func.date_part("year", sa.func.age(sa.literal(today, sa.Date),
                                                Resident.birth_date))
    bucket = sa.case(*[((age < high) if high is not None else sa.true(), index)
                       for index, (_, high) in enumerate(AGE_GROUPS)])
    by_bucket = dict(session.execute(sa.select(bucket, sa.func.count()).where(living)
                                     .group_by(bucket)).all())
    by_sex = dict(session.execute(sa.select(Resident.sex, sa.func.count()).where(living)
                                  .group_by(Resident.sex)).all())
    return {
        "village_code": village_code,
        "total": sum(by_sex.values()),
        "by_sex": [{"label": "Laki-laki", "count": by_sex.get("L", 0)},
                   {"label": "Perempuan", "count": by_sex.get("P", 0)}],
        "by_age": [{"label": _age_label(low, high), "count": by_bucket.get(index, 0)}
                   for index, (low, high) in enumerate(AGE_GROUPS)],
        "by_education": grouped(Resident.education),
        "by_occupation": grouped(Resident.occupation),
    }


def list_families(session: Session, village_code: str, q: str | None, page: int,
                  per_page: int, actor: dict | None, request_id: str | None) -> dict:
    """One page of the village's family cards with head and current member count.

    `q` matches the start of the No. KK or part of the head's name. The heads shown count as
    read in the access log (their names are personal data).
    """
    args = load(FamilyListArgs(), {"q": q, "page": page, "per_page": per_page})
    records.village(session, village_code)
    members = (sa.select(sa.func.count()).where(FamilyMembership.family_id == Family.id,
                                                FamilyMembership.valid_to.is_(None))
               .correlate(Family).scalar_subquery())
    query = (sa.select(Family, Resident, members.label("members"))
             .outerjoin(Resident, Resident.id == Family.head_id)
             .where(Family.village_code == village_code)
             .order_by(sa.func.lower(sa.func.coalesce(Resident.name, "")), Family.number))
    text = (args["q"] or "").strip()
    if text:
        pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(sa.or_(
            Family.number.like(f"{pattern}%", escape="\\"),
            sa.func.lower(Resident.name).like(f"%{pattern.lower()}%", escape="\\")))
    total = session.scalar(sa.select(sa.func.count()).select_from(
        query.order_by(None).subquery())) or 0
    rows = session.execute(query.limit(args["per_page"])
                           .offset((args["page"] - 1) * args["per_page"])).all()
    reads.record_reads(session, [head for _, head, _ in rows if head is not None], actor,
                       reads.FAMILY_PURPOSE, request_id)
    return {"items": [{"number": family.number,
                       "head_nik": head.nik if head else None,
                       "head_name": head.name if head else None,
                       "members": count,
                       "dusun": family.dusun, "rw": family.rw, "rt": family.rt,
                       "street": family.street} for family, head, count in rows],
            "total": total, "page": args["page"], "per_page": args["per_page"]}

