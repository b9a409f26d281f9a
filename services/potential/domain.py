"""Rules of village potential as plain Python: UMKM size classes, places, enums, refusals.

No SQL and no framework here; refusals are the kernel's kinds (services/common/rules.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from services.common import roles
from services.common.rules import InvalidValue, NotPermitted, Refused, WrongState

# -- who ------------------------------------------------------------------------------------
EDITORS = roles.POTENTIAL_EDITORS
READERS = roles.POTENTIAL_READERS

# -- enums (an unknown value is a 400 naming the field) --------------------------------------
BUSINESS_STATUSES = ("active", "inactive", "closed")
CERTIFICATIONS = ("halal", "pirt", "bpom", "sni", "haki", "organic")
SECTORS = ("kuliner", "fashion", "kriya", "pertanian", "peternakan", "perikanan",
           "perdagangan", "jasa", "industri", "pariwisata", "lainnya")
SIZE_CLASSES = ("micro", "small", "medium", "large")
ORGANISATION_TYPES = ("BPD", "LPM", "PKK", "Karang Taruna", "Posyandu", "RT", "RW", "BUMDes",
                      "koperasi", "Gapoktan", "Pokdarwis", "other")
DEVELOPMENT_CLASSES = ("rintisan", "berkembang", "maju", "mandiri")
TOURISM_CATEGORIES = ("alam", "budaya", "religi", "buatan", "kuliner", "edukasi", "lainnya")
RESOURCE_KINDS = ("land_use", "commodity", "livestock", "water_source", "facility")
# Units per kind: a structured quantity, never free text.
RESOURCE_UNITS = {
    "land_use": ("ha", "m2"),
    "commodity": ("ton", "kg", "kuintal"),
    "livestock": ("ekor",),
    "water_source": ("unit", "liter/detik", "m3"),
    "facility": ("unit",),
}
POST_KINDS = ("news", "announcement")
POST_FORMATS = ("plain", "markdown")
PUBLICATION_STATUSES = ("draft", "published")
FOLLOW_UP_REASONS = ("died", "moved_out")
PHOTO_OWNERS = ("business", "tourism_site", "post", "album", "profile")

# -- UMKM size by PP 7/2021 (capital without land and buildings, and yearly sales) -------------
MILIAR = 1_000_000_000
CAPITAL_LIMITS = ((1 * MILIAR, "micro"), (5 * MILIAR, "small"), (10 * MILIAR, "medium"))
SALES_LIMITS = ((2 * MILIAR, "micro"), (15 * MILIAR, "small"), (50 * MILIAR, "medium"))


def _class_by(amount: int, limits: tuple[tuple[int, str], ...]) -> str:
    return next((name for limit, name in limits if amount <= limit), "large")


def size_class(capital: int | None, yearly_sales: int | None) -> str:
    """The UMKM class: the larger of the classes by capital and by yearly sales (decision 0050).

    A business known by one figure only is classed by that one; with neither it is micro.
    """
    found = [_class_by(capital, CAPITAL_LIMITS)] if capital is not None else []
    if yearly_sales is not None:
        found.append(_class_by(yearly_sales, SALES_LIMITS))
    return max(found, key=SIZE_CLASSES.index) if found else "micro"


# -- places ---------------------------------------------------------------------------------
# Indonesia from Weh island (6.1 N) to Rote (11.0 S), Sabang (95.0 E) to Merauke (141.0 E).
LATITUDE_RANGE = (-11.2, 6.3)
LONGITUDE_RANGE = (94.7, 141.1)
# A point further than this from the village's reference point is flagged, not refused:
# Serang's districts are about 10 km across, so 15 km means "probably another district".
FAR_FROM_VILLAGE_KM = 15.0


def check_point(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        field = "longitude" if longitude is None else "latitude"
        raise InvalidValue("Give latitude and longitude together.", field=field)
    if latitude is None:
        return
    if not LATITUDE_RANGE[0] <= latitude <= LATITUDE_RANGE[1]:
        raise InvalidValue("The latitude is outside Indonesia.", field="latitude")
    if not LONGITUDE_RANGE[0] <= longitude <= LONGITUDE_RANGE[1]:
        raise InvalidValue("The longitude is outside Indonesia.", field="longitude")


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def location_warnings(point: tuple[float, float] | None,
                      reference: tuple[float, float] | None) -> list[str]:
    """Flags for a point far from the village's reference point (when the village set one)."""
    if point is None or reference is None:
        return []
    if distance_km(point, reference) > FAR_FROM_VILLAGE_KM:
        return ["far_from_village"]
    return []


# -- refusals -------------------------------------------------------------------------------
class OwnerNotResident(Refused):
    """A business owner must be a living resident of the village (from registry's events)."""

    field = "owner_nik"


class FollowUpAlreadyResolved(WrongState):
    """A follow-up is resolved once."""


class PhotoNotImage(InvalidValue):
    """The upload is not an image the platform can show (HTTP 415 at the gateway)."""

    field = "file"


def check_role(role: str | None, allowed: tuple[str, ...], doing: str) -> None:
    if role not in allowed:
        raise NotPermitted(f"Your role may not {doing}.")


def check_owner(resident: ResidentFacts | None, village_code: str) -> None:
    if resident is None:
        raise OwnerNotResident("The owner is not a known resident of this village.")
    if resident.village_code != village_code:
        raise OwnerNotResident("The owner is not a resident of this village.")
    if resident.status != "alive":
        raise OwnerNotResident(f"The owner is not a living resident ({resident.status}).")


@dataclass(frozen=True)
class ResidentFacts:
    """What potential knows of a resident from registry's events."""

    village_code: str
    status: str


def check_units(kind: str, unit: str) -> None:
    if unit not in RESOURCE_UNITS[kind]:
        raise InvalidValue(f"A {kind} is counted in {', '.join(RESOURCE_UNITS[kind])}.",
                           field="unit")


def is_public_post(status: str, published_at, now) -> bool:
    """Public once published and its publication time has come (a scheduled post waits)."""
    return status == "published" and published_at is not None and published_at <= now


def follow_up_roles(nik: str, owner_nik: str | None = None, chair_nik: str | None = None,
                    officers: list[dict] | None = None) -> list[str]:
    """The roles `nik` holds in a business or organisation: owner, chair, officer."""
    found = []
    if owner_nik == nik:
        found.append("owner")
    if chair_nik == nik:
        found.append("chair")
    if any(o.get("nik") == nik for o in officers or []):
        found.append("officer")
    return found
