"""Managing staff accounts (decision 0100): who manages whom, tenancy, disable and enable, the
one-time reset, a user's own password change, the lock-out counter and the audit rows."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from services.common.errors import (
    Forbidden,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
)

pytestmark = pytest.mark.integration

VILLAGE_A = "36.04.06.2001"
VILLAGE_B = "36.04.06.2002"
DISTRICT = "36.04.06"
PASSWORD = "correct-horse-battery"


def _name(label: str) -> str:
    return f"{label}.{uuid.uuid4().hex[:8]}"


def _actor(account: dict) -> dict:
    return {"role": account["role"], "village_code": account["village_code"],
            "username": account["username"], "nik": None}


@pytest.fixture
def staff(registry) -> dict:
    """Heads, staff and a district admin in two villages, a regency admin and an operator."""
    wanted = {"head_a": ("head", VILLAGE_A, None), "officer_a": ("officer", VILLAGE_A, None),
              "treasurer_a": ("treasurer", VILLAGE_A, None),
              "head_a2": ("head", VILLAGE_A, None),
              "head_b": ("head", VILLAGE_B, None), "officer_b": ("officer", VILLAGE_B, None),
              "camat": ("district_admin", None, DISTRICT),
              "admin": ("regency_admin", None, None), "admin2": ("regency_admin", None, None),
              "operator": ("operator", None, None)}
    return {key: registry.create_account(role, _name(key.replace("_", ".")), PASSWORD, village,
                                         None, district)
            for key, (role, village, district) in wanted.items()}


def _usernames(page: dict) -> set[str]:
    return {item["username"] for item in page["items"]}


def test_a_head_manages_only_their_own_village_office_staff(registry, staff):
    head = _actor(staff["head_a"])
    listing = registry.list_accounts(head, per_page=100)
    seen = _usernames(listing)
    assert {staff["officer_a"]["username"], staff["treasurer_a"]["username"]} <= seen
    assert all(item["village_code"] == VILLAGE_A for item in listing["items"])
    assert all(item["role"] in ("officer", "secretary", "treasurer") for item in listing["items"])
    assert staff["officer_b"]["username"] not in seen and staff["head_a2"]["username"] not in seen
    # Asking for another village's list gives nothing of it.
    assert registry.list_accounts(head, village_code=VILLAGE_B)["items"] == []

    # Another village's account, and an account of a role a head does not manage: 404.
    for other in ("officer_b", "head_b", "head_a2", "camat", "admin", "operator"):
        username = staff[other]["username"]
        with pytest.raises(NotFound):
            registry.get_account(username, head)
        with pytest.raises(NotFound):
            registry.set_account_active(username, False, head)
        with pytest.raises(NotFound):
            registry.reset_account_password(username, head)
    assert registry.authenticate_password(staff["officer_b"]["username"], PASSWORD)

    # Creating: office staff of their own village only.
    made = registry.create_managed_account(
        {"role": "secretary", "username": _name("sekdes"), "password": PASSWORD,
         "village_code": VILLAGE_A}, head)
    assert made["active"] is True and made["created_by"] == head["username"]
    with pytest.raises(Forbidden):
        registry.create_managed_account({"role": "officer", "username": _name("x"),
                                         "password": PASSWORD, "village_code": VILLAGE_B}, head)
    with pytest.raises(Forbidden):
        registry.create_managed_account({"role": "head", "username": _name("x"),
                                         "password": PASSWORD, "village_code": VILLAGE_A}, head)
    with pytest.raises(ValidationFailed) as caught:
        registry.create_managed_account({"role": "officer", "username": _name("x"),
                                         "password": "short", "village_code": VILLAGE_A}, head)
    assert "password" in caught.value.fields


def test_the_regency_admin_manages_village_staff_and_district_admins(registry, staff):
    admin = _actor(staff["admin"])
    for key in ("head_a", "officer_a", "head_b", "officer_b", "camat"):
        username = staff[key]["username"]
        assert registry.get_account(username, admin)["username"] == username
        assert _usernames(registry.list_accounts(admin, q=username)) == {username}
    for key in ("admin2", "operator"):  # managed with `desa account` only
        with pytest.raises(NotFound):
            registry.set_account_active(staff[key]["username"], False, admin)
    by_village = registry.list_accounts(admin, village_code=VILLAGE_B, role="head")
    assert staff["head_b"]["username"] in _usernames(by_village)
    assert {item["village_code"] for item in by_village["items"]} == {VILLAGE_B}

    head_b = registry.set_account_active(staff["head_b"]["username"], False, admin)
    assert head_b["active"] is False
    with pytest.raises(Unauthenticated):  # the right password no longer logs in
        registry.authenticate_password(staff["head_b"]["username"], PASSWORD)
    assert not registry.get_account(staff["head_b"]["username"], admin)["active"]
    assert registry.set_account_active(staff["head_b"]["username"], True, admin)["active"]
    assert registry.authenticate_password(staff["head_b"]["username"], PASSWORD)["role"] == "head"

    camat = registry.create_managed_account({"role": "district_admin", "username": _name("camat"),
                                             "password": PASSWORD, "district_code": DISTRICT},
                                            admin)
    assert camat["district_code"] == DISTRICT
    with pytest.raises(Forbidden):
        registry.create_managed_account({"role": "operator", "username": _name("op"),
                                         "password": PASSWORD}, admin)


def test_nobody_disables_or_resets_themself(registry, staff):
    # The operator (`desa account`) manages every role, its own included, but not itself.
    operator = _actor(staff["operator"])
    with pytest.raises(Forbidden):
        registry.set_account_active(staff["operator"]["username"], False, operator)
    with pytest.raises(Forbidden):
        registry.reset_account_password(staff["operator"]["username"], operator)
    assert registry.authenticate_password(staff["operator"]["username"], PASSWORD)
    for key in ("officer_a", "camat"):  # roles that manage nobody
        with pytest.raises(Forbidden):
            registry.list_accounts(_actor(staff[key]))


def test_reset_gives_a_one_time_password_and_clears_the_lock(registry, staff, rows,
                                                            production_lockout):
    head = _actor(staff["head_a"])
    username = staff["officer_a"]["username"]
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            registry.authenticate_password(username, "wrong-password-1")
    with pytest.raises(Unauthenticated, match="locked"):
        registry.authenticate_password(username, "wrong-password-1")
    with pytest.raises(TooManyAttempts):
        registry.authenticate_password(username, PASSWORD)

    reset = registry.reset_account_password(username, head)
    assert reset["username"] == username and len(reset["password"]) >= 10
    assert rows.count("accounts", "username = :u AND password_hash LIKE '$argon2id$%' "
                                  "AND position(:p in password_hash) = 0",
                      u=username, p=reset["password"]) == 1
    with pytest.raises(Unauthenticated):  # the old password is gone
        registry.authenticate_password(username, PASSWORD)
    # ... and the lock too: the temporary password logs in at once.
    assert registry.authenticate_password(username, reset["password"])["username"] == username


def test_enable_clears_the_lock(registry, staff, production_lockout):
    admin = _actor(staff["admin"])
    username = staff["officer_b"]["username"]
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            registry.authenticate_password(username, "wrong-password-1")
    registry.set_account_active(username, False, admin)
    registry.set_account_active(username, True, admin)
    assert registry.authenticate_password(username, PASSWORD)["username"] == username


def test_a_user_changes_their_own_password_with_the_current_one(registry, staff,
                                                                production_lockout):
    username = staff["treasurer_a"]["username"]
    with pytest.raises(ValidationFailed) as caught:
        registry.change_password(username, "not-the-password", "a-new-password-1")
    assert "current_password" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        registry.change_password(username, PASSWORD, "short")
    assert "new_password" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        registry.change_password(username, PASSWORD, PASSWORD)
    assert "new_password" in caught.value.fields
    assert registry.authenticate_password(username, PASSWORD)  # nothing changed yet

    registry.change_password(username, PASSWORD, "a-new-password-1")
    with pytest.raises(Unauthenticated):
        registry.authenticate_password(username, PASSWORD)
    assert registry.authenticate_password(username, "a-new-password-1")

    # Guessing the current password counts as failed logins: it locks like them.
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            registry.change_password(username, "guess-guess-1", "another-password-1")
    with pytest.raises(TooManyAttempts):
        registry.change_password(username, "a-new-password-1", "another-password-1")
    with pytest.raises(TooManyAttempts):
        registry.authenticate_password(username, "a-new-password-1")


def test_a_disabled_account_cannot_change_its_password(registry, staff):
    username = staff["officer_a"]["username"]
    registry.set_account_active(username, False, _actor(staff["head_a"]))
    with pytest.raises(ValidationFailed):
        registry.change_password(username, PASSWORD, "a-new-password-1")


def test_every_account_change_is_audited(registry, staff, rows):
    head = _actor(staff["head_a"])
    officer = staff["officer_a"]
    subject = f"account:{officer['id']}"
    registry.set_account_active(officer["username"], False, head)
    registry.set_account_active(officer["username"], False, head)  # no change: no row
    registry.set_account_active(officer["username"], True, head)
    registry.reset_account_password(officer["username"], head)
    made = registry.create_managed_account({"role": "officer", "username": _name("kasi"),
                                            "password": PASSWORD, "village_code": VILLAGE_A},
                                           head)
    registry.change_password(staff["head_a"]["username"], PASSWORD, "a-new-password-1")

    def purposes(subject: str, **where) -> list[str]:
        clause = "".join(f" AND {name} = :{name}" for name in where)
        with rows.engine.connect() as conn:
            return list(conn.scalars(sa.text(
                "SELECT purpose FROM audit_log WHERE subject_nik = :subject "
                f"AND action = 'change'{clause} ORDER BY id"), {"subject": subject, **where}))

    assert purposes(subject, actor_username=head["username"], village_code=VILLAGE_A) == [
        "account.disabled", "account.enabled", "account.password_reset"]
    assert purposes(f"account:{made['id']}", actor_username=head["username"]) == [
        "account.created"]
    assert purposes(f"account:{staff['head_a']['id']}",
                    actor_username=staff["head_a"]["username"]) == ["account.password_changed"]
