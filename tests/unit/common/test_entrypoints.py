"""Every RPC entrypoint of every service is the kernel's (deadline refused, keys remembered),
never nameko's plain `rpc`: a service added later that imports the wrong one fails here."""
from __future__ import annotations

import inspect

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from nameko.rpc import Rpc as NamekoRpc

from services.common.entrypoints import Rpc
from services.common.topology import service_classes


def rpc_entrypoints(cls) -> dict[str, type]:
    return {name: type(extension)
            for name, method in inspect.getmembers(cls, inspect.isfunction)
            for extension in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ())
            if isinstance(extension, NamekoRpc)}


@pytest.mark.parametrize("cls", service_classes(), ids=lambda cls: cls.name)
def test_every_rpc_entrypoint_is_the_kernels(cls):
    entrypoints = rpc_entrypoints(cls)
    assert "ping" in entrypoints and len(entrypoints) > 1
    assert {name for name, kind in entrypoints.items() if kind is not Rpc} == set()
