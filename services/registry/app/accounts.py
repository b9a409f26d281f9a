"""Staff accounts, password and PIN login, and resident PINs (argon2 hashes only)."""
from __future__ import annotations

import functools
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.common import clock, roles
from services.common.errors import Conflict, Unauthenticated, Unprocessable, ValidationFailed
from services.common.fields import load
from services.registry import domain, models
from services.registry.app import records
from services.registry.models import Resident, Village
from services.registry.schemas.accounts import Account, AccountCreate, Principal

_hasher = PasswordHasher()
_ACCOUNT = Account()
_PRINCIPAL = Principal()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the username or NIK is unknown, so both cases take as long."""
    return _hasher.hash(secrets.token_urlsafe(16))


def create_account(session: Session, role: str, username: str, password: str,
                   village_code: str | None, actor: dict | None = None) -> dict:
    """Staff accounts are not events: their payload would carry a password hash."""
    payload = load(AccountCreate(), {"role": role, "username": username,
                                             "password": password,
                                             "village_code": village_code})
    if payload["village_code"] and session.get(Village, payload["village_code"]) is None:
        raise ValidationFailed("Unknown village", fields={"village_code": ["Unknown village."]})
    if session.scalar(sa.select(sa.func.count()).where(
            models.Account.username == payload["username"])):
        raise Conflict(f"Username {payload['username']} is taken",
                       fields={"username": ["Already taken."]})
    account = models.Account(username=payload["username"], role=payload["role"],
                             village_code=payload["village_code"],
                             password_hash=_hasher.hash(payload["password"]),
                             created_at=clock.now(), created_by=records.actor_name(actor))
    session.add(account)
    session.flush()
    return _ACCOUNT.dump(account)


def verify_secret(hashed: str, secret: str) -> bool:
    """argon2 check that never raises: a malformed hash is a failed check."""
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def authenticate_password(session: Session, username: str, password: str) -> dict:
    account = session.scalar(sa.select(models.Account).where(
        models.Account.username == (username or "").strip().lower()))
    valid = verify_secret(account.password_hash if account else _dummy_hash(), password or "")
    if account is None or not valid or not account.active:
        raise Unauthenticated("Wrong username or password")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return _PRINCIPAL.dump({"subject": f"account:{account.id}", "role": account.role,
                            "username": account.username, "village_code": account.village_code})


def authenticate_pin(session: Session, nik: str, pin: str) -> dict:
    """NIK + PIN login. Five failures lock it for 15 minutes (kept in the database)."""
    resident = session.scalar(sa.select(Resident).where(Resident.nik == (nik or "")))
    credential = None
    if resident is not None:
        credential = session.scalar(sa.select(models.ResidentCredential).where(
            models.ResidentCredential.resident_id == resident.id).with_for_update())
    if credential is None:
        verify_secret(_dummy_hash(), pin or "")
        raise Unauthenticated("Wrong NIK or PIN")
    domain.pin_attempt(credential, pin_valid=verify_secret(credential.pin_hash, pin or ""),
                       now=clock.now())
    if resident.status != domain.ALIVE:
        raise domain.WrongPin("Wrong NIK or PIN", fields={})
    return _PRINCIPAL.dump({"subject": f"resident:{resident.nik}", "role": roles.RESIDENT,
                            "nik": resident.nik, "name": resident.name,
                            "village_code": resident.village_code})


def set_pin(session: Session, resident: Resident, pin: str, actor: dict | None) -> None:
    statement = insert(models.ResidentCredential).values(
        resident_id=resident.id, pin_hash=_hasher.hash(pin), failed_attempts=0,
        locked_until=None, issued_at=clock.now(), issued_by=records.actor_name(actor))
    session.execute(statement.on_conflict_do_update(
        index_elements=[models.ResidentCredential.resident_id],
        set_={name: statement.excluded[name] for name in
              ("pin_hash", "failed_attempts", "locked_until", "issued_at", "issued_by")}))


def issue_pin(session: Session, nik: str, scope: str | None, actor: dict | None) -> dict:
    """A new 6-digit PIN, returned once; only its hash is kept. Resets any lock."""
    resident = records.resident(session, nik, scope, lock=True)
    if resident.status != domain.ALIVE:
        raise Unprocessable(f"The resident is {resident.status}",
                            fields={"nik": [f"Resident is {resident.status}."]})
    pin = f"{secrets.randbelow(1_000_000):06d}"
    set_pin(session, resident, pin, actor)
    return {"pin": pin}
