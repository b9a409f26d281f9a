"""Potential's rules as plain Python: UMKM classes by PP 7/2021, places, roles, rendering."""
from __future__ import annotations

import pytest

from services.common.rules import InvalidValue, NotPermitted, Refused
from services.potential import domain
from services.potential.app.publications import render

M = domain.MILIAR


@pytest.mark.parametrize("capital, sales, expected", [
    (None, None, "micro"),
    (1 * M, None, "micro"),  # the limits are inclusive: "paling banyak"
    (1 * M + 1, None, "small"),
    (5 * M, 2 * M, "small"),
    (5 * M + 1, None, "medium"),
    (10 * M + 1, None, "large"),
    (None, 2 * M, "micro"),
    (None, 2 * M + 1, "small"),
    (None, 15 * M + 1, "medium"),
    (None, 50 * M + 1, "large"),
    (100_000_000, 20 * M, "medium"),  # the larger of the two classes
    (6 * M, 100_000_000, "medium"),
])
def test_size_class(capital, sales, expected):
    assert domain.size_class(capital, sales) == expected


@pytest.mark.parametrize("lat, lon, field", [
    (7.0, 106.0, "latitude"), (-11.5, 106.0, "latitude"), (-6.1, 94.0, "longitude"),
    (-6.1, 142.0, "longitude"), (-6.1, None, "longitude"), (None, 106.0, "latitude"),
])
def test_points_outside_indonesia_are_refused(lat, lon, field):
    with pytest.raises(InvalidValue) as refused:
        domain.check_point(lat, lon)
    assert refused.value.field == field


def test_points_inside_indonesia_pass_and_far_ones_are_flagged():
    for point in ((-6.12, 106.15), (5.9, 95.3), (-8.5, 140.4), (None, None)):
        domain.check_point(*point)
    serang = (-6.12, 106.15)
    assert domain.location_warnings((-6.15, 106.2), serang) == []
    assert domain.location_warnings((-6.9, 107.6), serang) == ["far_from_village"]  # Bandung
    assert domain.location_warnings((-6.9, 107.6), None) == []
    assert 150 < domain.distance_km(serang, (-6.9, 107.6)) < 190


def test_owner_rules_and_roles():
    domain.check_owner(domain.ResidentFacts("36.04.05.2001", "alive"), "36.04.05.2001")
    for facts in (None, domain.ResidentFacts("36.04.05.2002", "alive"),
                  domain.ResidentFacts("36.04.05.2001", "dead")):
        with pytest.raises(Refused):
            domain.check_owner(facts, "36.04.05.2001")
    with pytest.raises(NotPermitted):
        domain.check_role("treasurer", domain.EDITORS, "register businesses")
    assert domain.follow_up_roles("1", chair_nik="1", officers=[{"nik": "1"}]) == [
        "chair", "officer"]


def test_units_belong_to_their_kind():
    domain.check_units("livestock", "ekor")
    with pytest.raises(InvalidValue):
        domain.check_units("livestock", "ton")


def test_markdown_escapes_html_and_drops_script_links():
    html = render("<script>x</script> [a](javascript:alert(1)) **b**", "markdown")
    assert "<script>" not in html and "href=\"javascript" not in html
    assert "<strong>b</strong>" in html
