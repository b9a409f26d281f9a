"""Who is calling and what they may reach: JWT tokens, the Actor, `@requires` and `scope_for`.

Tokens are short-lived HS256 JWTs (DESA_JWT_SECRET, DESA_TOKEN_TTL_SECONDS) with `iss`, `aud`
and a `kid` header naming the secret that signed them; earlier secrets in
DESA_JWT_PREVIOUS_SECRETS still verify the tokens they signed, so the secret rotates without
logging everyone out (decision 0024). Village scoping
follows ARCHITECTURE.md's roles: officers and heads act in their own village, a resident only
on their own record, a district admin (camat) reads the villages of their own district, regency
admins everywhere, operators never on resident data.
"""
from __future__ import annotations

import functools
import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from flask import current_app, g, request

from gateway.http import app_settings
from services.common import roles
from services.common.config import DEVELOPMENT_JWT_SECRET, Settings, get_settings
from services.common.errors import Forbidden, Unauthenticated

ALGORITHM = "HS256"
ISSUER = "desa-digital"
AUDIENCE = "desa-digital-api"
MIN_SECRET_LENGTH = 32
PLACEHOLDER = "REPLACE_ME"  # deploy/k8s/secret.yaml
ROLES = roles.LOGINS
VILLAGE_ROLES = roles.VILLAGE_BOUND
DISTRICT_ROLES = roles.DISTRICT_BOUND
SECURITY = [{"bearerAuth": []}]
# Every operation of the API declares who may call it, in its OpenAPI document: the roles of
# `@requires`, or ANONYMOUS for `@public`. tests/integration/gateway/test_authorisation_matrix.py
# calls every operation as every role and fails on an operation that declares nothing.
ROLES_EXTENSION = "x-desa-roles"
ANONYMOUS = "anonymous"


def _declare(view: Callable, target: Callable, declared: list[str], security: list) -> None:
    apidoc = deepcopy(getattr(view, "_apidoc", {}))
    manual = apidoc.setdefault("manual_doc", {})
    manual["security"] = security
    manual[ROLES_EXTENSION] = declared
    target._apidoc = apidoc


def public(view: Callable) -> Callable:
    """Anyone may call the view, with no token (declared in the OpenAPI document)."""
    _declare(view, view, [ANONYMOUS], [])
    view._desa_public = True  # gateway/security.py rate-limits these per client address
    return view


@dataclass(frozen=True)
class Actor:
    role: str
    village_code: str | None
    username: str | None
    nik: str | None
    subject: str
    district_code: str | None = None

    def covers(self, village_code: str) -> bool:
        """Whether this actor's village or district scope contains the village (a Kemendagri
        village code starts with its district's code)."""
        if self.role in VILLAGE_ROLES:
            return village_code == self.village_code
        if self.role in DISTRICT_ROLES:
            return in_district(village_code, self.district_code)
        return True

    def as_dict(self) -> dict:
        """The actor as services record it for audit."""
        return {"role": self.role, "village_code": self.village_code,
                "username": self.username, "nik": self.nik}


def in_district(village_code: str, district_code: str | None) -> bool:
    return bool(district_code) and village_code.startswith(f"{district_code}.")


class InsecureSecret(RuntimeError):
    """The gateway refuses to start outside a local run with a public or placeholder secret."""


def key_id(secret: str) -> str:
    """The `kid` of a secret: a short hash, which tells nothing about the secret."""
    return hashlib.sha256(f"desa-jwt-kid|{secret}".encode()).hexdigest()[:16]


def keyring(settings: Settings) -> dict[str, str]:
    """{kid: secret}: the current secret and every earlier one still accepted."""
    earlier = [s.strip() for s in settings.jwt_previous_secrets.split(",") if s.strip()]
    return {key_id(secret): secret for secret in (*earlier, settings.jwt_secret)}


def check_secrets(settings: Settings) -> None:
    """Refuse the repository's development secret, the manifest's placeholder and short secrets,
    except in a local run (DESA_ENVIRONMENT=local)."""
    if settings.environment == "local":
        return
    for secret in keyring(settings).values():
        if (secret == DEVELOPMENT_JWT_SECRET or PLACEHOLDER in secret
                or len(secret) < MIN_SECRET_LENGTH):
            raise InsecureSecret(
                "DESA_JWT_SECRET (or one of DESA_JWT_PREVIOUS_SECRETS) is the public development "
                f"value, the placeholder {PLACEHOLDER} or shorter than {MIN_SECRET_LENGTH} "
                "characters: set a random secret (python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'), or DESA_ENVIRONMENT=local on a developer's "
                "machine")


def issue_token(identity: dict, settings: Settings | None = None,
                now: datetime | None = None) -> tuple[str, int]:
    """A signed token for an authenticated identity (from registry's authenticate_*).

    Returns (token, lifetime in seconds).
    """
    settings = settings or get_settings()
    role = identity["role"]
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    issued = now or datetime.now(UTC)
    ttl = settings.token_ttl_seconds
    claims = {
        "sub": str(identity["subject"]),
        "role": role,
        "village_code": identity.get("village_code"),
        "district_code": identity.get("district_code"),
        "nik": identity.get("nik"),
        "username": identity.get("username"),
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl),
        "jti": uuid.uuid4().hex,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM,
                      headers={"kid": key_id(settings.jwt_secret)}), ttl


def verify_token(token: str, settings: Settings | None = None) -> Actor:
    """The Actor a token speaks for; Unauthenticated if it is forged, malformed or expired."""
    return _verify(token, settings or get_settings())[0]


class VerifiedTokens:
    """Tokens this gateway process has verified, with their Actor, until they expire.

    A client sends the same token with every request; verifying its signature and claims each
    time was about a tenth of a busy gateway worker's CPU on the resident read (py-spy, decision
    0101). A token is taken from here only before its `exp` (an expired one is verified again,
    and refused as before), and only tokens that verified are kept: a forged or malformed one
    is checked every time. Tokens carry no state that changes before they expire (no
    revocation), so the cached Actor is the one a verification now would give. One per app
    (its settings' secrets); at most `size` tokens, the oldest dropped first.
    """

    def __init__(self, size: int = 4096):
        self.size = size
        self._tokens: dict[str, tuple[Actor, float]] = {}
        self._lock = threading.Lock()

    def actor(self, token: str, settings: Settings) -> Actor:
        found = self._tokens.get(token)
        if found is not None and time.time() < found[1]:
            return found[0]
        actor, expires = _verify(token, settings)
        with self._lock:
            self._tokens.pop(token, None)
            while len(self._tokens) >= self.size:
                self._tokens.pop(next(iter(self._tokens)))
            self._tokens[token] = (actor, expires)
        return actor


def _verify(token: str, settings: Settings) -> tuple[Actor, float]:
    """The Actor a token speaks for and when the token expires (seconds since the epoch)."""
    try:
        secret = keyring(settings).get(jwt.get_unverified_header(token).get("kid"))
        if secret is None:  # no kid, or a secret no longer accepted
            raise jwt.InvalidTokenError("unknown kid")
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE,
                            issuer=ISSUER,
                            options={"require": ["sub", "role", "exp", "iat", "jti", "iss",
                                                 "aud"]})
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("The token has expired; log in again.") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("The token is not valid.") from exc
    role = claims.get("role")
    village_code = claims.get("village_code")
    district_code = claims.get("district_code")
    if role not in ROLES or (role in VILLAGE_ROLES and not village_code) or (
            role in DISTRICT_ROLES and not district_code):
        raise Unauthenticated("The token is not valid.")
    if role == "resident" and not claims.get("nik"):
        raise Unauthenticated("The token is not valid.")
    return Actor(role=role, village_code=village_code, username=claims.get("username"),
                 nik=claims.get("nik"), subject=claims["sub"],
                 district_code=district_code if role in DISTRICT_ROLES else None), \
        float(claims["exp"])


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_actor() -> Actor:
    """The caller of this request; Unauthenticated without a valid bearer token."""
    actor = g.get("desa_actor")
    if actor is None:
        g.desa_bearer_required = True  # a 401 from here tells the client how to authenticate
        token = bearer_token()
        if token is None:
            raise Unauthenticated("A bearer token is required.")
        tokens: VerifiedTokens | None = current_app.extensions["desa"].get("tokens")
        actor = (tokens.actor(token, app_settings()) if tokens is not None
                 else verify_token(token, app_settings()))
        g.desa_actor = actor
    return actor


def requires(*roles: str) -> Callable:
    """Let only these roles call the view: 401 without a valid token, 403 for another role."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor()
            if actor.role not in roles:
                raise Forbidden("Your role may not do this.")
            # A village's path is refused to another village's people (and a district's to
            # another district's admin) before anything else (validation included): they
            # learn nothing of it. Services check scope again.
            path = request.view_args or {}
            village, district = path.get("code"), path.get("district")
            if village is not None and not actor.covers(village):
                raise Forbidden("You may only act in your own village or district.")
            if (district is not None and actor.role in DISTRICT_ROLES
                    and district != actor.district_code):
                raise Forbidden("You may only read your own district.")
            return view(*args, **kwargs)

        # Document the bearer requirement and the roles in the OpenAPI document (flask-smorest's
        # manual doc).
        _declare(view, wrapper, list(roles), SECURITY)
        return wrapper

    return decorator


def scope_for(actor: Actor, village_code: str | None = None) -> str | None:
    """The village scope to pass to services for this actor (None: regency-wide).

    Forbidden when the actor asks for another village than their own, and for operators, who
    never see resident data. A district admin's scope is one named village of their district
    (services know villages, not districts), never the whole regency.
    """
    if actor.role == roles.OPERATOR:
        raise Forbidden("Operators have no access to resident data.")
    if actor.role == roles.REGENCY_ADMIN:
        return None
    if actor.role in DISTRICT_ROLES:
        if village_code is None or not actor.covers(village_code):
            raise Forbidden("You may only read the villages of your own district.")
        return village_code
    if village_code is not None and village_code != actor.village_code:
        raise Forbidden("You may only act in your own village.")
    return actor.village_code
