"""The local runner's choices: how many processes of each service, and their names."""
from __future__ import annotations

import click
import pytest

from deploy.local.run import parse_scale, process_names, scale_of


def test_scale_comes_from_the_option_then_the_environment_then_one():
    env = {"DESA_SCALE_REGISTRY": "3", "DESA_SCALE_LETTERS": "2"}
    overrides = parse_scale(("letters=4",))
    assert scale_of("registry", env, overrides) == 3
    assert scale_of("letters", env, overrides) == 4
    assert scale_of("finance", env, overrides) == 1


def test_extra_processes_get_numbered_names_with_their_own_logs():
    assert process_names("registry", 1) == ["registry"]
    assert process_names("registry", 3) == ["registry", "registry-2", "registry-3"]


def test_a_malformed_scale_is_refused():
    with pytest.raises(click.BadParameter):
        parse_scale(("registry:3",))
