"""The synthetic people of the tests stay valid however long a run is."""
from __future__ import annotations

from datetime import date

from services.registry.identity import check_nik
from tests.support.fakes import fake_birth_date, fake_nik


def test_birth_dates_stay_adult_and_in_the_past_over_a_long_run():
    dates = [fake_birth_date() for _ in range(12_000)]  # past one wrap-around of the dates
    assert min(dates) >= date(1951, 1, 1)
    assert max(dates) <= date(2005, 12, 31)


def test_fake_niks_pass_the_registry_rules_and_never_repeat():
    niks = set()
    for _ in range(5_000):
        born = fake_birth_date()
        nik = fake_nik(born, "P")
        check_nik(nik, sex="P", birth_date=born)
        niks.add(nik)
    assert len(niks) == 5_000
