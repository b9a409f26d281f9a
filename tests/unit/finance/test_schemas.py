"""The contract refuses what the domain must never see: float or text money, bad codes."""
import pytest
from marshmallow import ValidationError

from services.finance import schemas


def load(schema, data):
    try:
        schema.load(data)
    except ValidationError as exc:
        return exc.messages
    return {}


LINE = {"account_code": "5.2.1", "activity_code": "01.01.04", "source": "DDS", "amount": 1000}


@pytest.mark.parametrize("amount", [10.5, "1000", 0, -1, True, None])
def test_money_is_a_positive_integer_strictly(amount):
    assert "amount" in load(schemas.LineCreate(), {**LINE, "amount": amount})


def test_a_good_line_and_bad_codes():
    assert load(schemas.LineCreate(), LINE) == {}
    assert "account_code" in load(schemas.LineCreate(), {**LINE, "account_code": "5-2-1"})
    assert "activity_code" in load(schemas.LineCreate(), {**LINE, "activity_code": "1.1.4"})
    assert "source" in load(schemas.LineCreate(), {**LINE, "source": "dana desa"})


def test_a_tax_deposit_carries_an_ntpn():
    deposit = {"date": "2026-03-02", "tax_code": "PPH23", "amount": 6000,
               "reference": "0A1B2C3D4E5F6G7H"}
    assert load(schemas.TaxDepositCreate(), deposit) == {}
    assert "reference" in load(schemas.TaxDepositCreate(), {**deposit, "reference": "123"})


def test_settling_for_nothing_is_allowed_and_a_patch_needs_a_change():
    assert load(schemas.Settle(), {"actual_amount": 0}) == {}
    assert "_schema" in load(schemas.LineChange(), {})


def test_cash_book_dates_in_order():
    assert "from" in load(schemas.CashBookQuery(), {"from": "2026-03-02", "to": "2026-03-01"})
