"""The shipped reference data: chart of accounts, activities, sources, dated tax rates."""
from datetime import date

from services.finance import reference


def test_levels_one_to_three_are_national_and_level_four_belongs_to_a_regency():
    ref = reference.load()
    for account in ref.accounts.values():
        assert (account.level == 4) == (account.regency_code is not None), account
        if account.level > 1:
            parent = account.code.rsplit(".", 1)[0]
            assert parent in ref.accounts, f"{account.code} has no parent {parent}"
    assert ref.accounts["4.2.1"].name == "Dana Desa"
    assert ref.accounts["5.4.1"].level == 3


def test_a_village_sees_its_own_regencys_level_four_only():
    serang = reference.for_village("36.04.05.2001")
    elsewhere = reference.for_village("32.01.01.2001")
    assert "5.3.5.01" in serang.accounts
    assert "5.3.5.01" not in elsewhere.accounts
    assert "5.3.5" in elsewhere.accounts


def test_account_kinds_follow_the_first_digits():
    assert reference.account_kind("4.2.1") == reference.INCOME
    assert reference.account_kind("5.2.1.01") == reference.SPENDING
    assert reference.account_kind("6.1.1") == reference.FINANCING_RECEIPT
    assert reference.account_kind("6.2.2") == reference.FINANCING_EXPENDITURE
    assert reference.account_kind("7.1.4") == reference.PFK
    assert reference.account_kind("6") is None
    assert reference.account_kind("45") is None


def test_activities_are_bidang_sub_bidang_kegiatan_with_parents():
    ref = reference.load()
    for activity in ref.activities.values():
        assert activity.code.replace(".", "").isdigit()
        if activity.level > 1:
            assert activity.code.rsplit(".", 1)[0] in ref.activities
    assert {a.code for a in ref.activities.values() if a.level == 1} == {
        "01", "02", "03", "04", "05"}
    assert ref.bidang("02.03.04").name == "Pelaksanaan Pembangunan Desa"


def test_the_seven_funding_sources():
    assert set(reference.load().sources) == {"DDS", "ADD", "PBH", "PAD", "PBK", "PBP", "DLL"}


def test_tax_rates_are_taken_by_date():
    ref = reference.load()
    assert ref.tax_rate("PPN", date(2022, 3, 31)).rate_basis_points == 1000
    assert ref.tax_rate("PPN", date(2022, 4, 1)).rate_basis_points == 1100
    assert ref.tax_rate("PPN", date(2026, 6, 1)).rate_basis_points == 1200
    assert ref.tax_rate("PPH23", date(2026, 6, 1)).rate_basis_points == 200
    assert ref.tax_rate("PPH23", date(2000, 1, 1)) is None
    assert ref.tax_rate("VAT", date(2026, 1, 1)) is None
    assert set(ref.tax_codes()) == {"PPN", "PPH21", "PPH22", "PPH23", "PPH4_2"}
    for code in ref.tax_codes():
        assert reference.account_kind(ref.tax_account(code)) == reference.PFK
