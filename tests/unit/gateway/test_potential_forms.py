"""The office's potential forms without a service: a posted form becomes the API's body, an
entry becomes the form again, and the service's nested errors land at the inputs' names."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from gateway.portal import potential_forms as forms
from services.potential import schemas


def _posted(**values) -> MultiDict:
    form = MultiDict()
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            form.add(name.replace("__", "."), item)
    return form


def test_a_business_form_becomes_the_body_the_api_loads():
    body = forms.body_of(forms.BUSINESSES.fields, _posted(
        name=" Emping ", owner_nik="3604115506880001", sector="kuliner", description="",
        products__0__name="Emping", products__0__price="25.000", products__1__name="",
        products__1__price="", products__3__name="Kerupuk", workers="", capital="1.500.000",
        yearly_sales="", nib="", kbli="", address__dusun="Krajan", address__rw="2",
        address__rt="", latitude="-6,12", longitude="106.25", certifications=["halal", "pirt"],
        status="active"))
    assert body["products"] == [{"name": "Emping", "price": 25000},
                                {"name": "Kerupuk", "price": None}]
    assert body["workers"] == 0 and body["capital"] == 1_500_000 and body["yearly_sales"] is None
    assert body["address"] == {"dusun": "Krajan", "rw": "2", "rt": None}
    assert body["latitude"] == -6.12 and body["certifications"] == ["halal", "pirt"]
    # What the form sends is what the API's own schema accepts.
    loaded = schemas.BusinessCreate().load(body)
    assert loaded["name"] == "Emping" and loaded["address"]["rw"] == "002"


def test_blank_required_fields_are_sent_blank_and_bad_numbers_passed_on():
    body = forms.body_of(forms.RESOURCES.fields, _posted(kind="", name="", quantity="banyak",
                                                         unit="ekor", year=""))
    assert body == {"kind": "", "name": "", "quantity": "banyak", "unit": "ekor", "year": None}
    errors = schemas.ResourceCreate().validate(body)
    assert {"kind", "name", "quantity", "year"} <= set(errors)


def test_an_entry_becomes_the_form_and_back():
    entry = {"name": "Curug", "category": "alam", "development_class": "maju",
             "facilities": ["Toilet", "Parkir"], "ticket_price": 5000, "latitude": -6.0,
             "longitude": None, "description": None}
    form = forms.form_of(forms.TOURISM.fields, entry)
    assert form["facilities"] == "Toilet\nParkir" and form["ticket_price"] == "5000"
    assert form["latitude"] == "-6" and form["longitude"] == "" and form["description"] == ""
    again = forms.body_of(forms.TOURISM.fields, MultiDict(form))
    assert again["facilities"] == ["Toilet", "Parkir"] and again["ticket_price"] == 5000


def test_an_officials_photo_id_comes_from_its_photo_url_and_rows_leave_spares():
    profile = {"officials": [{"name": "H. Contoh", "position": "Kepala Desa",
                              "photo_url": "/api/v1/photos/abc-123", "thumbnail_url": "x"}]}
    form = forms.form_of(forms.PROFILE_FIELDS, profile)
    assert form["officials.0.photo_id"] == "abc-123"
    assert forms.row_counts(forms.PROFILE_FIELDS, form)["officials"] == 1 + 3


def test_nested_errors_land_at_the_inputs_names():
    flat = forms.flat_errors({"products": {"0": {"price": ["Not a valid integer."]}},
                              "address": {"rt": ["Bad."]}, "facilities": {"1": ["Too long."]},
                              "name": ["Missing."]})
    assert flat == {"products.0.price": ["Not a valid integer."], "address.rt": ["Bad."],
                    "facilities.1": ["Too long."], "name": ["Missing."]}
    placed = forms.place_errors(forms.TOURISM.fields, flat)
    assert placed["facilities"] == ["Too long."] and "facilities.1" not in placed
