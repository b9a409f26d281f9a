"""Synthetic population: families of fake residents for the demo village, tests and benchmarks.

Deterministic for a seed: the same (seed, village, size) always gives the same people, so a
benchmark can be re-run on the same data. Each family is a Kartu Keluarga with a head, usually
a wife and children, sometimes a widowed parent or a grandchild, living at one address (dusun,
RW, RT, "Kp. X"); names follow what is common in Banten for each generation.

NIK and No. KK are valid in form (DOMAIN.md: district prefix, DDMMYY with day + 40 for women,
serial not 0000) and clearly fake: every serial is 9000-9999, as in tests/support/fakes.py,
which no district reaches for one birth date. DOMAIN.md forbids real NIKs in demo data.

Pure Python, no SQL: `desa seed demo` registers the families through the register's own rules
(services/registry/seed.py); `desa seed synthetic` copies them in bulk (synthetic_load.py).
"""
from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from services.registry import domain, identity
from services.registry.reference import DATA_DIR, district_prefixes

# Ages are counted at this date, not today, so a seed gives the same people on any day.
AS_OF = date(2026, 1, 1)
FIRST_SERIAL, LAST_SERIAL = 9000, 9999
# Nearby districts where some residents' NIKs were first issued (moved in from there).
OUTSIDE_PREFIXES = ("367201", "360101", "360201", "367101", "317101", "317401", "320101",
                    "327301", "180106", "332901")
HEAD, HUSBAND, WIFE, CHILD, SON_IN_LAW, GRANDCHILD, PARENT = 1, 2, 3, 4, 5, 6, 7


@lru_cache(maxsize=1)
def names() -> dict[str, tuple[str, ...]]:
    with (DATA_DIR / "synthetic_names.json").open(encoding="utf-8") as handle:
        data = json.load(handle)
    lists = {key: tuple(value) for key, value in data.items() if not key.startswith("_")}
    unsafe = [name for values in lists.values() for name in values
              if any(char in name for char in "\t\n\r\\")]
    if unsafe:  # the bulk load writes names into COPY text without escaping
        raise ValueError(f"synthetic_names.json: names with control characters: {unsafe}")
    return lists


class SerialsExhausted(Exception):
    """All 1,000 fake serials (9000-9999) of one prefix are taken."""


class SerialBook:
    """Hands out the fake serials 9000-9999 per prefix (district + DDMMYY), never one twice."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def take(self, prefix: str) -> str:
        serial = self._next.get(prefix, FIRST_SERIAL)
        if serial > LAST_SERIAL:
            raise SerialsExhausted(prefix)
        self._next[prefix] = serial + 1
        return f"{prefix}{serial:04d}"

    def reserve(self, number: str) -> None:
        """A number already in use (with a 9xxx serial): the book hands out only later ones."""
        serial = int(number[12:16])
        if serial >= FIRST_SERIAL:
            self._next[number[:12]] = max(self._next.get(number[:12], FIRST_SERIAL), serial + 1)

    def forget_district(self, district: str) -> None:
        """Drop the counters of one district once its villages are done (keeps memory small)."""
        self._next = {p: n for p, n in self._next.items() if not p.startswith(district)}


@dataclass(frozen=True)
class SyntheticFamily:
    """A family card and its members, head first, as `register_resident` data."""

    number: str
    village_code: str
    registered_on: date
    address: dict
    members: list[dict]


@dataclass(frozen=True)
class _Area:
    dusun: str
    rw: str
    rts: tuple[str, ...]
    kampung: str


def _areas(rng: random.Random) -> list[_Area]:
    """A village's dusun (3-6), each with RWs (numbered through the village) and RTs (3-6)."""
    kampung = rng.sample(names()["kampung"], 12)
    areas, rw = [], 0
    for index in range(rng.randint(3, 6)):
        dusun = f"Dusun {('I', 'II', 'III', 'IV', 'V', 'VI')[index]}"
        for _ in range(rng.randint(2, 4)):
            rw += 1
            areas.append(_Area(dusun, f"{rw:03d}",
                               tuple(f"{rt:03d}" for rt in range(1, rng.randint(3, 6) + 1)),
                               kampung[rw % len(kampung)]))
    return areas


def _age_between(rng: random.Random, low: int, high: int) -> date:
    """A birth date giving an age from `low` to `high` years at AS_OF."""
    youngest = AS_OF - timedelta(days=365 * low + 1)
    return youngest - timedelta(days=rng.randint(0, 365 * (high - low)))


class VillagePopulation:
    """Generates the families of one village from its own random stream."""

    def __init__(self, village_code: str, seed: int, serials: SerialBook):
        self.village_code = village_code
        self.district = village_code.rsplit(".", 1)[0].replace(".", "")
        self.rng = random.Random(f"{seed}:{village_code}")
        self.serials = serials
        self.areas = _areas(self.rng)
        self.known = district_prefixes()

    # -- numbers -----------------------------------------------------------------------------
    def _nik(self, birth: date, sex: str) -> tuple[str, date]:
        """A fake NIK and the birth date it encodes (moved a day on if its serials ran out)."""
        district = self.district if self.rng.random() < 0.93 else \
            self.rng.choice(OUTSIDE_PREFIXES)
        for _ in range(60):
            day = birth.day + (identity.FEMALE_DAY_OFFSET if sex == domain.FEMALE else 0)
            try:
                return self.serials.take(f"{district}{day:02d}{birth:%m%y}"), birth
            except SerialsExhausted:
                birth -= timedelta(days=1)
        raise SerialsExhausted(district)

    def _family_number(self, registered: date) -> tuple[str, date]:
        for _ in range(60):
            try:
                return self.serials.take(f"{self.district}{registered:%d%m%y}"), registered
            except SerialsExhausted:
                registered -= timedelta(days=1)
        raise SerialsExhausted(self.district)

    # -- names -------------------------------------------------------------------------------
    def _given(self, sex: str, birth: date) -> str:
        rng, pool = self.rng, names()
        male = sex == domain.MALE
        generation = "old" if birth.year < 1965 else "middle" if birth.year < 1995 else "young"
        first = rng.choice(pool[f"{'male' if male else 'female'}_{generation}"])
        if generation == "old":
            return first
        roll = rng.random()
        if roll < 0.15:
            prefix = "Muhammad" if male else rng.choice(("Siti", "Nur"))
            if prefix != first:
                first = f"{prefix} {first}"
        if rng.random() < 0.55:
            first = f"{first} {rng.choice(pool['male_second' if male else 'female_second'])}"
        return first

    def _person(self, *, sex: str, birth: date, relationship: int, marital: str,
                family: str | None, surname: str | None, religion: str, address: dict) -> dict:
        nik, birth = self._nik(birth, sex)
        name = self._given(sex, birth)
        if surname:
            name = f"{name.split(' ')[0]} {surname}"
        elif birth.year < 1970 and sex == domain.MALE and self.rng.random() < 0.1:
            name = f"H. {name}"  # the hajj title, as the register writes it
        age = (AS_OF - birth).days // 365
        return {
            "nik": nik, "name": name, "sex": sex,
            "birth_place": self.rng.choice(names()["birth_places"]),
            "birth_date": birth.isoformat(), "religion": religion,
            "marital_status": marital, "occupation": self._occupation(sex, age),
            "education": self._education(birth, age), "family_number": family,
            "relationship": relationship, "address": address,
            "blood_type": self.rng.choice(("A", "B", "AB", "O", None, None, None)),
            "ektp_status": "Sudah Rekam" if age >= 17 else "Belum Wajib",
        }

    def _occupation(self, sex: str, age: int) -> str:
        if age < 5:
            return "Belum/Tidak Bekerja"
        if age < 23:
            return "Pelajar/Mahasiswa"
        if age >= 70:
            return "Tidak Bekerja"
        if sex == domain.FEMALE and self.rng.random() < 0.55:
            return "Mengurus Rumah Tangga"
        return self.rng.choice(("Petani", "Petani", "Buruh Harian Lepas", "Wiraswasta",
                                "Pedagang", "Karyawan Swasta", "Nelayan", "Buruh Tani",
                                "Sopir", "Guru", "Pegawai Negeri Sipil", "Tukang"))

    def _education(self, birth: date, age: int) -> str:
        if age < 7:
            return "Tidak/Belum Sekolah"
        if age < 13:
            return "Belum Tamat SD"
        levels = ("Tidak Sekolah", "Tamat SD", "SLTP", "SLTA", "Diploma", "S1")
        weights = (25, 40, 18, 12, 2, 3) if birth.year < 1975 else (3, 20, 27, 38, 4, 8)
        return self.rng.choices(levels, weights)[0]

    # -- families ----------------------------------------------------------------------------
    def family(self) -> SyntheticFamily:
        rng = self.rng
        area = rng.choice(self.areas)
        address = {"dusun": area.dusun, "rw": area.rw, "rt": rng.choice(area.rts),
                   "street": f"Kp. {area.kampung}"}
        religion = "Islam" if rng.random() < 0.97 else rng.choice(
            ("Kristen", "Katolik", "Buddha", "Hindu", "Khonghucu"))
        surname = rng.choice(names()["family_names"]) if rng.random() < 0.04 else None
        head_sex = domain.MALE if rng.random() < 0.88 else domain.FEMALE
        head_birth = _age_between(rng, 22, 78)
        head_age = (AS_OF - head_birth).days // 365
        married = head_sex == domain.MALE and rng.random() < 0.88
        registered_on = max(date(1995, 1, 1), head_birth + timedelta(days=365 * 22)) \
            + timedelta(days=rng.randint(0, 3000))
        number, registered_on = self._family_number(min(registered_on, AS_OF))
        if head_sex == domain.MALE:
            marital = "Kawin" if married else rng.choice(
                ("Belum Kawin",) * 3 + ("Cerai Hidup", "Cerai Mati"))
        else:
            marital = rng.choice(("Cerai Mati", "Cerai Mati", "Cerai Hidup", "Belum Kawin"))
        members = [self._person(sex=head_sex, birth=head_birth, relationship=HEAD,
                                marital=marital, family=number, surname=surname,
                                religion=religion, address=address)]
        mother = members[0] if head_sex == domain.FEMALE and marital != "Belum Kawin" else None
        father = members[0] if head_sex == domain.MALE and married else None
        if married:
            wife_birth = min(head_birth + timedelta(days=rng.randint(-700, 3000)),
                             _age_between(rng, 18, 18))
            mother = self._person(sex=domain.FEMALE, birth=wife_birth, relationship=WIFE,
                                  marital="Kawin", family=number, surname=None,
                                  religion=religion, address=address)
            members.append(mother)
        if mother is not None:
            members.extend(self._children(mother, father, number, surname, religion, address))
        if head_age < 60 and rng.random() < 0.08:
            members.append(self._person(
                sex=rng.choice((domain.MALE, domain.FEMALE)),
                birth=head_birth - timedelta(days=365 * rng.randint(20, 30)),
                relationship=PARENT, marital="Cerai Mati", family=number, surname=None,
                religion=religion, address=address))
        return SyntheticFamily(number, self.village_code, registered_on, address, members)

    def _children(self, mother: dict, father: dict | None, number: str, surname: str | None,
                  religion: str, address: dict) -> list[dict]:
        rng = self.rng
        mother_birth = date.fromisoformat(mother["birth_date"])
        first = mother_birth + timedelta(days=365 * rng.randint(19, 27))
        children, birth = [], first
        for _ in range(rng.choices((0, 1, 2, 3, 4, 5), (10, 22, 30, 22, 10, 6))[0]):
            if birth >= AS_OF or birth > mother_birth + timedelta(days=365 * 42):
                break
            sex = rng.choice((domain.MALE, domain.FEMALE))
            age = (AS_OF - birth).days // 365
            child = self._person(sex=sex, birth=birth, relationship=CHILD,
                                 marital="Kawin" if age > 24 and rng.random() < 0.2
                                 else "Belum Kawin",
                                 family=number, surname=surname, religion=religion,
                                 address=address)
            child.update(mother_name=mother["name"], mother_nik=mother["nik"])
            if father is not None:
                child.update(father_name=father["name"], father_nik=father["nik"])
                if surname is None and rng.random() < 0.2:
                    # A common Sundanese pattern: the father's first name as the second name.
                    father_first = father["name"].removeprefix("H. ").split(" ")[0]
                    child["name"] = f"{child['name'].split(' ')[0]} {father_first}"
            children.append(child)
            birth += timedelta(days=rng.randint(400, 2500))
        return children

    def families(self, count: int) -> list[SyntheticFamily]:
        return [self.family() for _ in range(count)]

    def residents(self, count: int) -> Iterator[SyntheticFamily]:
        """Families until exactly `count` residents (the last family cut short if needed)."""
        left = count
        while left > 0:
            family = self.family()
            if len(family.members) > left:
                family = SyntheticFamily(family.number, family.village_code,
                                         family.registered_on, family.address,
                                         family.members[:left])
            left -= len(family.members)
            yield family


def population(village_codes: list[str], residents_per_village: int, seed: int = 1,
               serials: SerialBook | None = None) -> Iterator[SyntheticFamily]:
    """Every family of the given villages, village after village (in the order given).

    One serial book for the whole run keeps every NIK and No. KK unique; the counters of a
    district are dropped when the next village is in another district, so give the villages
    sorted by code (as the reference list is) to keep memory small for 1.6 million people.
    """
    serials = serials or SerialBook()
    done_districts: set[str] = set()
    previous = None
    for code in village_codes:
        district = code.rsplit(".", 1)[0].replace(".", "")
        if previous is not None and district != previous:
            done_districts.add(previous)
            serials.forget_district(previous)
        if district in done_districts:
            raise ValueError("give the villages grouped by district (sorted by code): "
                             f"{code} comes back to district {district}")
        previous = district
        yield from VillagePopulation(code, seed, serials).residents(residents_per_village)
