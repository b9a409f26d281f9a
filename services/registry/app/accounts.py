"""Staff accounts, password and PIN login with lock-out, resident PINs (argon2 hashes only)."""
from __future__ import annotations

import contextlib
import functools
import os
import secrets

import eventlet.patcher
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common import audit, clock, roles
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    ValidationFailed,
)
from services.common.fields import load
from services.common.pagination import fetch_page
from services.registry import domain, lockout, models
from services.registry.app import records
from services.registry.models import LoginFailure, Resident, Village
from services.registry.schemas.accounts import (
    Account,
    AccountCreate,
    AccountDetails,
    AccountListArgs,
    AccountRef,
    PasswordChange,
    Principal,
)

_hasher = PasswordHasher()
_ACCOUNT = Account()
_DETAILS = AccountDetails()
_PRINCIPAL = Principal()


# argon2 takes about 100 ms of CPU (several threads of it: parallelism 4). It runs in eventlet's
# pool of OS threads (bounded: EVENTLET_THREADPOOL_SIZE, 20 by default) and releases the GIL,
# so it does not stop the service's hub; those threads run at a low CPU priority (nice 10), so
# on a busy machine the hub still gets the cores first: other calls keep flowing during a login
# flood while logins take longer (tests/integration/registry/test_login_flood.py, decision 0022).
_native_thread = eventlet.patcher.original("_thread")
LOW_PRIORITY = 10  # nice: the hub (0) gets about ten times the CPU of a hashing thread


def _off_the_hub(fn, *args):
    def run():
        with contextlib.suppress(OSError):  # Linux: per thread; elsewhere best effort
            os.setpriority(os.PRIO_PROCESS, _native_thread.get_native_id(), LOW_PRIORITY)
        return fn(*args)

    return tpool.execute(run)


def hash_secret(secret: str) -> str:
    """argon2 hash of a password or PIN, computed off the hub."""
    return _off_the_hub(_hasher.hash, secret)


def _verify_blocking(hashed: str, secret: str) -> bool:
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def verify_secret(hashed: str, secret: str) -> bool:
    """argon2 check that never raises (a malformed hash is a failed check), off the hub."""
    return _off_the_hub(_verify_blocking, hashed, secret)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username or NIK is unknown, so both cases take as long."""
    return hash_secret(secrets.token_urlsafe(16))


def create_account(session: Session, role: str, username: str, password: str,
                   village_code: str | None, actor: dict | None = None,
                   district_code: str | None = None) -> dict:
    """Staff accounts are not events: their payload would carry a password hash.

    Village staff name their village; a district_admin names a district of the regency.
    """
    payload = load(AccountCreate(), {"role": role, "username": username,
                                     "password": password, "village_code": village_code,
                                     "district_code": district_code})
    if payload["village_code"] and session.get(Village, payload["village_code"]) is None:
        raise ValidationFailed("Unknown village", fields={"village_code": ["Unknown village."]})
    if payload["district_code"] and not session.scalar(sa.select(sa.func.count()).where(
            Village.district_code == payload["district_code"])):
        raise ValidationFailed("Unknown district",
                               fields={"district_code": ["No village of the regency is in "
                                                         "this district."]})
    if session.scalar(sa.select(sa.func.count()).where(
            models.Account.username == payload["username"])):
        raise Conflict(f"Username {payload['username']} is taken",
                       fields={"username": ["Already taken."]})
    account = models.Account(username=payload["username"], role=payload["role"],
                             village_code=payload["village_code"],
                             district_code=payload["district_code"],
                             password_hash=hash_secret(payload["password"]),
                             created_at=clock.now(), created_by=records.actor_name(actor))
    session.add(account)
    session.flush()
    _audit(session, account, actor, "created")
    return _ACCOUNT.dump(account)


# -- managing accounts (decision 0100) -----------------------------------------------------------
# A head manages the office staff of their own village, the regency admin every village's staff
# and the district admins, the operator (`desa account`) every account: roles.MANAGED_ROLES.
# What an actor may not manage does not exist for them (404), as another village's records.
# Account changes are not events (no service keeps a copy of accounts); the audit log has them,
# subject `account:<id>` in the account's village chain (the regency chain for the others).
def _audit(session: Session, account: models.Account, actor: dict | None, what: str) -> None:
    audit.record(session, [(f"account:{account.id}", account.village_code)], actor=actor or {},
                 action=audit.CHANGE, purpose=f"account.{what}")


def _managed(actor: dict | None) -> tuple[tuple[str, ...], str | None]:
    """(roles the actor manages, the village they are bound to or None)."""
    actor = actor or {}
    managed = roles.MANAGED_ROLES.get(actor.get("role"))
    if not managed:
        raise Forbidden("Your role may not manage accounts.")
    village = actor.get("village_code") if actor.get("role") in roles.VILLAGE_BOUND else None
    if actor.get("role") in roles.VILLAGE_BOUND and not village:
        raise Forbidden("Your role may not manage accounts.")
    return managed, village


def _visible(actor: dict | None):
    """The WHERE clause of the accounts the actor manages."""
    managed, village = _managed(actor)
    clause = models.Account.role.in_(managed)
    if village is not None:
        clause = sa.and_(clause, models.Account.village_code == village)
    return clause


def _account(session: Session, username: str, actor: dict | None,
             lock: bool = False) -> models.Account:
    username = load(AccountRef(), {"username": (username or "").strip().lower()})["username"]
    query = sa.select(models.Account).where(models.Account.username == username,
                                            _visible(actor))
    if lock:
        query = query.with_for_update()
    account = session.scalar(query)
    if account is None:
        raise NotFound(f"No account {username}")
    return account


def _yours(username: str, actor: dict | None) -> bool:
    """Whether the account named is the actor's own (checked before anything else, so the
    refusal is the same whoever you are)."""
    return bool((actor or {}).get("username")) and (
        (actor or {}).get("username") == (username or "").strip().lower())


def _clear_failures(session: Session, username: str) -> None:
    session.execute(sa.delete(LoginFailure).where(
        LoginFailure.key == lockout.key(lockout.ACCOUNT, username)))


def list_accounts(session: Session, actor: dict | None, **filters) -> dict:
    args = load(AccountListArgs(), {k: v for k, v in filters.items() if v is not None})
    query = sa.select(models.Account).where(_visible(actor)).order_by(
        models.Account.village_code.nulls_first(), models.Account.role,
        models.Account.username)
    if args["village_code"]:
        query = query.where(models.Account.village_code == args["village_code"])
    if args["role"]:
        query = query.where(models.Account.role == args["role"])
    if args["active"] is not None:
        query = query.where(models.Account.active.is_(args["active"]))
    if args["q"]:
        pattern = args["q"].strip().lower().replace("\\", "\\\\").replace(
            "%", "\\%").replace("_", "\\_")
        query = query.where(models.Account.username.like(f"%{pattern}%", escape="\\"))
    items, total = fetch_page(session, query, args["page"], args["per_page"])
    return {"items": _DETAILS.dump(items, many=True), "total": total, "page": args["page"],
            "per_page": args["per_page"]}


def get_account(session: Session, username: str, actor: dict | None) -> dict:
    return _DETAILS.dump(_account(session, username, actor))


def create_managed_account(session: Session, data: dict, actor: dict | None) -> dict:
    """An account created by its manager: a role they manage, in their own village (a head)."""
    managed, village = _managed(actor)
    payload = load(AccountCreate(), data)
    if payload["role"] not in managed:
        raise Forbidden(f"Your role may not create {payload['role']} accounts.",
                        fields={"role": [f"Not one of {', '.join(managed)}."]})
    if village is not None and payload["village_code"] != village:
        raise Forbidden("You may only act in your own village.",
                        fields={"village_code": ["Not your village."]})
    created = create_account(session, payload["role"], payload["username"], payload["password"],
                             payload["village_code"], actor, payload["district_code"])
    return get_account(session, created["username"], actor)


def set_active(session: Session, username: str, active: bool, actor: dict | None) -> dict:
    """Disable (they can no longer log in; a token already issued lives out its TTL at most) or
    enable an account. Enabling clears the username's login failures. Nobody disables
    themself."""
    if not active and _yours(username, actor):
        raise Forbidden("You may not disable your own account.")
    account = _account(session, username, actor, lock=True)
    if account.active != active:
        account.active = active
        _audit(session, account, actor, "enabled" if active else "disabled")
    if active:
        _clear_failures(session, account.username)
    return _DETAILS.dump(account)


def reset_password(session: Session, username: str, actor: dict | None) -> dict:
    """A one-time temporary password, returned once (only its hash is kept); clears the
    username's login failures and lock. Your own password you change with the current one."""
    if _yours(username, actor):
        raise Forbidden("Change your own password with your current one, not by a reset.")
    account = _account(session, username, actor, lock=True)
    password = secrets.token_urlsafe(12)  # 16 characters, 96 random bits
    account.password_hash = hash_secret(password)
    _clear_failures(session, account.username)
    _audit(session, account, actor, "password_reset")
    return {"username": account.username, "password": password}


def change_password(session: Session, username: str, current_password: str,
                    new_password: str, source: str | None = None,
                    policy: lockout.Policy | None = None) -> None:
    """A staff user's own new password. A wrong current password counts as a failed login of
    the username (and the address) and locks the same way; a disabled account is refused."""
    username = (username or "").strip().lower()
    payload = load(PasswordChange(), {"current_password": current_password,
                                      "new_password": new_password})
    found: list[models.Account] = []

    def attempt() -> dict | None:
        account = session.scalar(sa.select(models.Account).where(
            models.Account.username == username).with_for_update())
        valid = verify_secret(account.password_hash if account else _dummy_hash(),
                              payload["current_password"])
        if account is None or not valid or not account.active:
            return None
        found.append(account)
        return {}

    try:
        _login(session, lockout.ACCOUNT, username, source, policy or lockout.Policy(), attempt)
    except lockout.WrongCredentials as exc:
        if exc.message.endswith("locked for a while"):
            raise lockout.WrongCurrentPassword(
                "The current password is wrong; locked for a while") from None
        raise lockout.WrongCurrentPassword("The current password is wrong") from None
    account = found[0]
    account.password_hash = hash_secret(payload["new_password"])
    _audit(session, account, {"role": account.role, "username": account.username},
           "password_changed")


# -- lock-out ------------------------------------------------------------------------------------
def _counters(session: Session, keys: dict[str, str],
              lock: bool = False) -> dict[str, LoginFailure]:
    """The rows of these keys ({key: kind}); with `lock`, created if missing and locked."""
    if lock:
        session.execute(insert(LoginFailure).values(
            [{"key": k, "kind": kind} for k, kind in sorted(keys.items())]
        ).on_conflict_do_nothing(index_elements=[LoginFailure.key]))
    query = sa.select(LoginFailure).where(LoginFailure.key.in_(sorted(keys))).order_by(
        LoginFailure.key)
    if lock:
        query = query.with_for_update()
    return {row.key: row for row in session.scalars(query)}


def _as_counter(row: LoginFailure) -> lockout.Counter:
    return lockout.Counter(row.kind, row.failures, row.lockouts, row.locked_until,
                           row.last_failure_at)


def _login(session: Session, kind: str, name: str, source: str | None,
           policy: lockout.Policy, attempt) -> dict:
    """Refuse while locked; run `attempt()` (the secret check); count a failure or clear it.

    `attempt` returns the principal or None; it runs the argon2 check whether or not the
    login name exists, so an unknown name and a wrong secret answer alike, as fast.
    """
    now = clock.now()
    name_key = lockout.key(kind, name)
    keys = {name_key: kind}
    if source:
        keys[lockout.key(lockout.ADDRESS, source)] = lockout.ADDRESS
    lockout.check([_as_counter(row) for row in _counters(session, keys).values()], now)
    principal = attempt()
    if principal is not None:
        session.execute(sa.delete(LoginFailure).where(LoginFailure.key == name_key))
        return principal
    locked = False
    for row in _counters(session, keys, lock=True).values():
        counter = _as_counter(row)
        locked = lockout.record_failure(counter, policy, now) or locked
        row.failures, row.lockouts = counter.failures, counter.lockouts
        row.locked_until, row.last_failure_at = counter.locked_until, counter.last_failure_at
    message = "Wrong username or password" if kind == lockout.ACCOUNT else "Wrong NIK or PIN"
    if locked:
        message += "; login locked for a while"
    raise lockout.WrongCredentials(message, fields={})


def forget_old_failures(session: Session) -> int:
    """Delete counters with no failure for a day and no lock left (a timer calls this)."""
    now = clock.now()
    result = session.execute(sa.delete(LoginFailure).where(
        LoginFailure.last_failure_at < now - lockout.FORGET_AFTER,
        sa.or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now)))
    return result.rowcount


def authenticate_password(session: Session, username: str, password: str,
                          source: str | None = None,
                          policy: lockout.Policy | None = None) -> dict:
    username = (username or "").strip().lower()

    def attempt() -> dict | None:
        account = session.scalar(sa.select(models.Account).where(
            models.Account.username == username))
        valid = verify_secret(account.password_hash if account else _dummy_hash(),
                              password or "")
        if account is None or not valid or not account.active:
            return None
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = hash_secret(password)
        return _PRINCIPAL.dump({"subject": f"account:{account.id}", "role": account.role,
                                "username": account.username,
                                "village_code": account.village_code,
                                "district_code": account.district_code})

    return _login(session, lockout.ACCOUNT, username, source, policy or lockout.Policy(),
                  attempt)


def authenticate_pin(session: Session, nik: str, pin: str, source: str | None = None,
                     policy: lockout.Policy | None = None) -> dict:
    """NIK + PIN login. Failures are counted per NIK as typed, known or not, and per address."""
    nik = (nik or "").strip()

    def attempt() -> dict | None:
        resident = session.scalar(sa.select(Resident).where(Resident.nik == nik))
        credential = None if resident is None else session.get(
            models.ResidentCredential, resident.id)
        valid = verify_secret(credential.pin_hash if credential else _dummy_hash(), pin or "")
        if credential is None or not valid or resident.status != domain.ALIVE:
            return None
        return _PRINCIPAL.dump({"subject": f"resident:{resident.nik}", "role": roles.RESIDENT,
                                "nik": resident.nik, "name": resident.name,
                                "village_code": resident.village_code})

    return _login(session, lockout.NIK, nik, source, policy or lockout.Policy(), attempt)


def set_pin(session: Session, resident: Resident, pin: str, actor: dict | None) -> None:
    """Store a new PIN's hash and clear the NIK's failures and lock."""
    statement = insert(models.ResidentCredential).values(
        resident_id=resident.id, pin_hash=hash_secret(pin), issued_at=clock.now(),
        issued_by=records.actor_name(actor))
    session.execute(statement.on_conflict_do_update(
        index_elements=[models.ResidentCredential.resident_id],
        set_={name: statement.excluded[name] for name in ("pin_hash", "issued_at", "issued_by")}))
    session.execute(sa.delete(LoginFailure).where(
        LoginFailure.key == lockout.key(lockout.NIK, resident.nik)))


def issue_pin(session: Session, nik: str, scope: str | None, actor: dict | None) -> dict:
    """A new 6-digit PIN, returned once; only its hash is kept. Resets any lock."""
    resident = records.resident(session, nik, scope, lock=True)
    if resident.status != domain.ALIVE:
        raise Unprocessable(f"The resident is {resident.status}",
                            fields={"nik": [f"Resident is {resident.status}."]})
    pin = f"{secrets.randbelow(1_000_000):06d}"
    set_pin(session, resident, pin, actor)
    return {"pin": pin}
