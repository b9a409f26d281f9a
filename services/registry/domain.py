"""Registry rules: a resident's data, SHDK, status changes, family cards, newborns.

Identity numbers (NIK, No. KK, temporary village numbers) have their own module, identity.py.

Pure Python: no nameko, no SQL. Every refusal is a named exception carrying the field it is about,
so the application layer can turn it into a field error without guessing.
"""
from __future__ import annotations

from datetime import date

from services.common import rules

MALE = "L"
FEMALE = "P"
SEXES = (MALE, FEMALE)

RELIGIONS = ("Islam", "Kristen", "Katolik", "Hindu", "Buddha", "Khonghucu", "Kepercayaan")
MARITAL_STATUSES = ("Belum Kawin", "Kawin", "Cerai Hidup", "Cerai Mati")
CITIZENSHIPS = ("WNI", "WNA")
BLOOD_TYPES = ("A", "B", "AB", "O", "A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-",
               "Tidak Tahu")

ALIVE = "alive"
DEAD = "dead"
MOVED_OUT = "moved_out"
MISSING = "missing"
STATUSES = (ALIVE, DEAD, MOVED_OUT, MISSING)

BIRTH = "birth"
DEATH = "death"
MOVE_OUT = "move_out"
MOVE_IN = "move_in"
DISAPPEARANCE = "missing"
LIFE_EVENTS = (BIRTH, DEATH, MOVE_OUT, MOVE_IN, DISAPPEARANCE)

# SHDK (Status Hubungan Dalam Keluarga): relationship of a member to the head of the family.
HEAD_OF_FAMILY = 1
RELATIONSHIPS = {
    1: "Kepala Keluarga", 2: "Suami", 3: "Istri", 4: "Anak", 5: "Menantu", 6: "Cucu",
    7: "Orang Tua", 8: "Mertua", 9: "Famili Lain", 10: "Pembantu", 11: "Lainnya",
}
# A newborn's SHDK by its parent's: a child of the head or spouse is Anak (4), a child of an
# Anak or Menantu is Cucu (6); other parents' newborns need their place given explicitly.
NEWBORN_RELATIONSHIPS = {1: 4, 2: 4, 3: 4, 4: 6, 5: 6}


# -- errors --------------------------------------------------------------------------------------
class RegistryRuleError(rules.InvalidValue):
    """A registry rule refused the input; `field` names the input field it is about."""

    field = "non_field"


class UnknownRelationship(RegistryRuleError):
    field = "relationship"


class InvalidLifeEvent(rules.Refused, RegistryRuleError):
    """A life event that cannot happen to a resident in their current status."""

    field = "type"


class ResidentAlreadyDead(InvalidLifeEvent):
    pass


class ResidentNotMovedOut(InvalidLifeEvent):
    pass


class ResidentAlreadyMovedOut(InvalidLifeEvent):
    pass


class ResidentAlreadyMissing(InvalidLifeEvent):
    pass


class ResidentNotPresent(InvalidLifeEvent):
    """The resident is not living in the village (moved out or missing) for this event."""


class NotInVillage(rules.Refused):
    """The resident lives in another village, or not at all (dead, moved out)."""


class AlreadyInFamily(rules.WrongState):
    """A resident is a member of one family card at a time."""


class FamilyHasHead(rules.WrongState):
    field = "relationship"


def relationship_name(code: int) -> str:
    """SHDK code -> its name ("4" -> "Anak")."""
    try:
        return RELATIONSHIPS[int(code)]
    except (KeyError, TypeError, ValueError):
        raise UnknownRelationship(f"relationship must be an SHDK code 1..11, not {code!r}") \
            from None


def relationship_code(value: int | str) -> int:
    """Accepts an SHDK code or its name (case-insensitive) and returns the code."""
    if isinstance(value, str) and not value.strip().isdigit():
        wanted = value.strip().lower()
        for code, name in RELATIONSHIPS.items():
            if name.lower() == wanted:
                return code
        raise UnknownRelationship(f"unknown relationship {value!r}: use SHDK 1..11 or its name")
    relationship_name(value)
    return int(value)


# -- status changes (mutasi penduduk) ------------------------------------------------------------
def status_after(current: str, event_type: str) -> str:
    """The status a resident has after a life event, or a named refusal.

    A birth does not change the parent's status but needs the parent living in the village.
    """
    if event_type not in LIFE_EVENTS:
        raise InvalidLifeEvent(f"unknown life event {event_type!r}")
    if current == DEAD:
        raise ResidentAlreadyDead("the resident is recorded as dead; no further life events")
    if event_type == BIRTH:
        if current != ALIVE:
            raise ResidentNotPresent(f"a birth needs a parent living in the village, not "
                                     f"{current}", field="nik")
        return current
    if event_type == DEATH:
        if current == MOVED_OUT:
            raise ResidentNotPresent("the resident moved out; their death is recorded where "
                                     "they live now")
        return DEAD
    if event_type == MOVE_OUT:
        if current == MOVED_OUT:
            raise ResidentAlreadyMovedOut("the resident has already moved out")
        return MOVED_OUT
    if event_type == MOVE_IN:
        if current != MOVED_OUT:
            raise ResidentNotMovedOut(f"move in is only for a resident who moved out (status is "
                                      f"{current}); register a newcomer instead")
        return ALIVE
    # disappearance
    if current == MISSING:
        raise ResidentAlreadyMissing("the resident is already recorded as missing")
    if current == MOVED_OUT:
        raise ResidentNotPresent("the resident moved out and cannot go missing here")
    return MISSING


def check_event_dates(event_date: date, reported_on: date, today: date) -> None:
    """An event cannot be in the future nor reported before it happened."""
    if event_date > today:
        raise RegistryRuleError("the event date is in the future", field="date")
    if reported_on < event_date:
        raise RegistryRuleError("the report date is before the event date", field="reported_at")
    if reported_on > today:
        raise RegistryRuleError("the report date is in the future", field="reported_at")


# -- family membership ---------------------------------------------------------------------------
def check_may_join(*, resident_village: str, resident_status: str, family_village: str,
                   in_another_family: bool, field: str = "nik") -> None:
    """A resident joins a card of their own village, alive, and not on another card."""
    if resident_village != family_village:
        raise NotInVillage("The resident lives in another village",
                           fields={field: ["Resident of another village."]})
    if resident_status != ALIVE:
        raise NotInVillage(f"The resident is {resident_status}",
                           fields={field: [f"Resident is {resident_status}."]})
    if in_another_family:
        raise AlreadyInFamily("The resident is already a member of another family card",
                              fields={field: ["Already a member of another family card; end "
                                              "that membership first."]})


def check_head(relationship: int, current_head: object | None, newcomer: object) -> bool:
    """Whether the newcomer becomes the card's head; a card has one head (SHDK 1)."""
    if relationship != HEAD_OF_FAMILY:
        return False
    if current_head is not None and current_head != newcomer:
        raise FamilyHasHead("The family already has a head",
                            fields={"relationship": ["The family already has a head (SHDK 1)."]})
    return True


# -- newborns ------------------------------------------------------------------------------------
def newborn(child: dict, event_date: date, parent: dict) -> dict:
    """The child of a birth event with what it takes from its parent and the event.

    `parent`: nik, name, sex, family_number, relationship and the address fields.
    """
    child = dict(child)
    if child.get("birth_date") is None:
        child["birth_date"] = event_date
    elif child["birth_date"] != event_date:
        raise RegistryRuleError("The child's birth date is the event date",
                                fields={"child": {"birth_date": ["Must equal the event date."]}})
    nik_field, name_field = ("mother_nik", "mother_name") if parent["sex"] == FEMALE else \
        ("father_nik", "father_name")
    child[nik_field] = child.get(nik_field) or parent["nik"]
    child[name_field] = child.get(name_field) or parent["name"]
    if not child.get("address") or not any(child["address"].values()):
        child["address"] = parent["address"]
    if not child.get("family_number") and parent["family_number"]:
        relationship = NEWBORN_RELATIONSHIPS.get(parent["relationship"] or 0)
        if relationship is not None:
            child["family_number"], child["relationship"] = parent["family_number"], relationship
    return child
