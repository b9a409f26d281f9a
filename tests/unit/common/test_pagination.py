"""Every list takes the same page arguments and refuses pages no database could seek to."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError

from services.common.pagination import MAX_PAGE, PageArgs
from services.letters.schemas import LetterListQuerySchema
from services.registry.schemas.residents import ResidentSearchArgs
from services.registry.schemas.villages import VillageListArgs


@pytest.mark.parametrize("schema", [PageArgs, ResidentSearchArgs, VillageListArgs,
                                    LetterListQuerySchema])
def test_page_arguments_are_bounded(schema):
    assert schema().load({})["page"] == 1
    assert schema().load({"page": str(MAX_PAGE)})["page"] == MAX_PAGE
    for bad in ({"page": "0"}, {"page": "1233085405666199296"}, {"per_page": "0"},
                {"per_page": "101"}):
        with pytest.raises(ValidationError):
            schema().load(bad)


def test_village_lists_default_to_fifty_others_to_twenty():
    assert VillageListArgs().load({})["per_page"] == 50
    assert ResidentSearchArgs().load({})["per_page"] == 20
