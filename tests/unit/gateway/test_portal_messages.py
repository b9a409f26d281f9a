"""Every refusal a service can send reaches the portal's pages in Indonesian.

The messages are found where the services write them: every marshmallow schema's fields and
validators, every exception raised with a message, every `fields={...}` and `ValidationError`
payload, and every row error of the CSV imports. A message added without its Indonesian form
fails `test_every_service_message_has_an_indonesian_form`, naming it.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import pathlib
import pkgutil
import re

import marshmallow as ma
import pytest
from marshmallow import validate

from gateway.portal.messages import TRANSLATIONS, indonesian
from services.common.errors import DesaError, NotFound
from services.common.rules import RuleError

ROOT = pathlib.Path(__file__).resolve().parents[3]
SERVICES = ("common", "registry", "letters", "finance", "potential")
# Operators' messages, never shown on a page: backups and the command line. (Not-found
# messages are left out below too: the portal shows its own page for a 404.)
NOT_FOR_PAGES = re.compile(r"services/common/backup/|/migrations/|/cli")
_NAMED = re.compile(r"\{[a-z_]+\}")


def _modules():
    for service in SERVICES:
        package = importlib.import_module(f"services.{service}")
        for info in pkgutil.walk_packages(package.__path__, f"services.{service}."):
            if "migrations" not in info.name:
                yield importlib.import_module(info.name)
    yield importlib.import_module("gateway.schemas")


def _validator_messages(validator) -> list[str]:
    if isinstance(validator, validate.Range | validate.Length):
        names = ("message_min", "message_max", "message_all", "message_equal")
        return [_NAMED.sub("{}", getattr(validator, name)) for name in names
                if isinstance(getattr(validator, name, None), str)]
    error = getattr(validator, "error", None)
    return [_NAMED.sub("{}", error)] if isinstance(error, str) else []


def schema_messages() -> set[str]:
    found: set[str] = set()
    for module in _modules():
        for obj in vars(module).values():
            if not (inspect.isclass(obj) and issubclass(obj, ma.Schema)
                    and obj.__module__ == module.__name__):
                continue
            for schema_field in obj().fields.values():
                for each in (schema_field, getattr(schema_field, "inner", None)):
                    if each is None:
                        continue
                    found.update(_NAMED.sub("{}", str(message))
                                 for message in each.error_messages.values())
                    for validator in each.validators:
                        found.update(_validator_messages(validator))
    return found


def _template(node) -> str | None:
    """A message literal as a key: `{}` where an f-string puts a value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "{}"
                       for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _messages_of_payload(node) -> list[str]:
    """The messages of a `fields` payload: {"field": ["message", ...], "nested": {...}}."""
    found = []
    if isinstance(node, ast.Dict):
        for value in node.values:
            found.extend(_messages_of_payload(value))
    elif isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            found.append(_template(element))
            found.extend(_messages_of_payload(element))
    return [message for message in found if message]


def _refusal_classes(modules) -> dict[str, type]:
    """Exception classes whose message reaches a client: the error format's and the rules'."""
    return {name: obj for module in modules for name, obj in vars(module).items()
            if inspect.isclass(obj) and issubclass(obj, DesaError | RuleError)}


def code_messages() -> dict[str, str]:
    """message -> where it is written, for every message a service may send in a refusal."""
    refusals = _refusal_classes(list(_modules()))
    found: dict[str, str] = {}
    for path in sorted((ROOT / "services").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if NOT_FOR_PAGES.search(relative):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            messages: list[str | None] = []
            if (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args
                    and getattr(node.exc.func, "id", None) in refusals
                    and not issubclass(refusals[node.exc.func.id], NotFound)):
                messages.append(_template(node.exc.args[0]))
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name == "ValidationError" and node.args:
                    messages.append(_template(node.args[0]))
                    messages.extend(_messages_of_payload(node.args[0]))
                if name == "error" and len(node.args) == 3:  # the CSV import's row errors
                    messages.append(_template(node.args[2]))
                for keyword in node.keywords:
                    if keyword.arg == "fields":
                        messages.extend(_messages_of_payload(keyword.value))
            if isinstance(node, ast.Dict):  # a row error written as a dict
                messages.extend(_template(value) for key, value in zip(
                    node.keys, node.values, strict=True)
                    if isinstance(key, ast.Constant) and key.value == "message")
            for message in messages:
                if message:
                    found.setdefault(message, f"{relative}:{getattr(node, 'lineno', '?')}")
    return found


def _untranslated(messages) -> list[str]:
    return sorted(message for message in messages if message not in TRANSLATIONS)


def test_every_schema_message_has_an_indonesian_form():
    assert _untranslated(schema_messages()) == []


def test_every_service_message_has_an_indonesian_form():
    found = code_messages()
    missing = [f"{found[message]}: {message!r}" for message in _untranslated(found)]
    assert missing == []


def test_the_scan_finds_what_it_should():
    """The scans are not empty by accident: known messages of each kind are among them."""
    assert {"Missing data for required field.", "Must be one of: {}.",
            "Longer than maximum length {}.", "NIK must be 16 digits."} <= schema_messages()
    found = code_messages()
    assert {"This NIK is already registered", "NIK month {} is not a month",
            "The budget is {}: money moves only once it is approved.",
            "A {} is counted in {}.", "Amounts are whole rupiah (digits only)."} <= set(found)


@pytest.mark.parametrize("english, expected", [
    ("Missing data for required field.", "Wajib diisi."),
    ("Longer than maximum length 200.", "Paling banyak 200 karakter."),
    ("Must be one of: L, P.", "Pilih salah satu: L, P."),
    ("NIK month 13 is not a month", "Bulan pada NIK (13) bukan bulan."),
    ("Cannot check a letter that is signed.", "Cannot check a letter that is signed."),
    ("cannot check a letter that is signed",
     "Tidak dapat memeriksa surat yang berstatus ditandatangani."),
    ("The budget is draft: money moves only once it is approved.",
     "Anggaran berstatus draf: uang baru bergerak setelah anggaran disetujui."),
    ("Line 5.2.1 has Rp 10.000 left; the request is for Rp 20.000.",
     "Rincian 5.2.1 bersisa Rp 10.000; permintaan sebesar Rp 20.000."),
    ("letter number format must contain {seq}", "Format nomor surat harus memuat {seq}."),
    ("Something no service says.", "Something no service says."),
])
def test_messages_are_put_in_indonesian_with_their_values(english, expected):
    assert indonesian(english) == expected


def test_every_translation_uses_only_the_values_its_message_has():
    for english, translated in TRANSLATIONS.items():
        used = {int(index) for index in re.findall(r"\{(\d)\}", translated)}
        assert used <= set(range(english.count("{}"))), english
        assert translated != english, english
