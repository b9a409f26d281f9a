"""Tokens, roles and village scoping of the gateway (no infrastructure needed)."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from gateway.auth import (
    AUDIENCE,
    ISSUER,
    Actor,
    InsecureSecret,
    check_secrets,
    issue_token,
    key_id,
    scope_for,
    verify_token,
)
from services.common.config import DEVELOPMENT_JWT_SECRET, Settings
from services.common.errors import Forbidden, Unauthenticated

VILLAGE_A = "36.04.05.2001"
VILLAGE_B = "36.04.05.2002"


@pytest.fixture
def settings() -> Settings:
    return replace(Settings(), jwt_secret="unit-test-secret-0123456789abcdef",
                   token_ttl_seconds=600)


def officer(village: str = VILLAGE_A) -> Actor:
    return Actor(role="officer", village_code=village, username="siti", nik=None, subject="acc:1")


def test_token_round_trip_carries_identity(settings):
    token, ttl = issue_token({"subject": "acc:7", "role": "head", "username": "budi",
                              "village_code": VILLAGE_A}, settings)
    actor = verify_token(token, settings)
    assert ttl == 600
    assert actor == Actor(role="head", village_code=VILLAGE_A, username="budi", nik=None,
                          subject="acc:7")
    assert actor.as_dict() == {"role": "head", "village_code": VILLAGE_A, "username": "budi",
                               "nik": None}
    claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"],
                        audience="desa-digital-api")
    assert {"sub", "role", "village_code", "nik", "exp", "iat", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 600


def test_each_token_has_its_own_id(settings):
    identity = {"subject": "acc:7", "role": "officer", "village_code": VILLAGE_A}
    first, _ = issue_token(identity, settings)
    second, _ = issue_token(identity, settings)
    decode = lambda t: jwt.decode(t, settings.jwt_secret, algorithms=["HS256"],  # noqa: E731
                                  audience="desa-digital-api")
    assert decode(first)["jti"] != decode(second)["jti"]


def test_expired_token_is_refused(settings):
    long_ago = datetime.now(UTC) - timedelta(seconds=601)
    token, _ = issue_token({"subject": "acc:1", "role": "officer", "village_code": VILLAGE_A},
                           settings, now=long_ago)
    with pytest.raises(Unauthenticated, match="expired"):
        verify_token(token, settings)


def test_token_signed_with_another_secret_is_refused(settings):
    token, _ = issue_token({"subject": "acc:1", "role": "regency_admin"},
                           replace(settings, jwt_secret="someone-elses-secret-0123456789ab"))
    with pytest.raises(Unauthenticated):
        verify_token(token, settings)


def test_tampered_role_is_refused(settings):
    token, _ = issue_token({"subject": "acc:1", "role": "officer", "village_code": VILLAGE_A},
                           settings)
    header, payload, signature = token.split(".")
    forged = jwt.encode({**jwt.decode(token, options={"verify_signature": False}),
                         "role": "regency_admin"}, "attacker-guess-0123456789abcdefghij",
                        algorithm="HS256").split(".")[1]
    with pytest.raises(Unauthenticated):
        verify_token(f"{header}.{forged}.{signature}", settings)


@pytest.mark.parametrize("token", ["", "not-a-token", "a.b.c"])
def test_garbage_is_refused(settings, token):
    with pytest.raises(Unauthenticated):
        verify_token(token, settings)


def test_unsigned_token_is_refused(settings):
    now = datetime.now(UTC)
    token = jwt.encode({"sub": "x", "role": "regency_admin", "iat": now, "jti": "j",
                        "exp": now + timedelta(minutes=5)}, None, algorithm="none")
    with pytest.raises(Unauthenticated):
        verify_token(token, settings)


def test_village_role_without_village_is_refused(settings):
    now = datetime.now(UTC)
    token = jwt.encode({"sub": "x", "role": "officer", "village_code": None, "iat": now,
                        "jti": "j", "exp": now + timedelta(minutes=5), "iss": ISSUER,
                        "aud": AUDIENCE}, settings.jwt_secret, algorithm="HS256",
                       headers={"kid": key_id(settings.jwt_secret)})
    with pytest.raises(Unauthenticated):
        verify_token(token, settings)


def test_unknown_role_cannot_be_issued(settings):
    with pytest.raises(ValueError):
        issue_token({"subject": "x", "role": "superuser"}, settings)


# -- scope_for --------------------------------------------------------------------------------
def test_officer_scope_is_own_village():
    assert scope_for(officer()) == VILLAGE_A
    assert scope_for(officer(), VILLAGE_A) == VILLAGE_A


@pytest.mark.parametrize("role", ["officer", "head", "resident"])
def test_village_roles_are_forbidden_in_another_village(role):
    actor = Actor(role=role, village_code=VILLAGE_A, username=None,
                  nik="3604055208909001" if role == "resident" else None, subject="s")
    with pytest.raises(Forbidden):
        scope_for(actor, VILLAGE_B)


def test_regency_admin_is_regency_wide():
    admin = Actor(role="regency_admin", village_code=None, username="bupati", nik=None,
                  subject="acc:2")
    assert scope_for(admin) is None
    assert scope_for(admin, VILLAGE_B) is None


def test_operator_never_reaches_resident_data():
    operator = Actor(role="operator", village_code=None, username="ops", nik=None, subject="s")
    with pytest.raises(Forbidden):
        scope_for(operator)
    with pytest.raises(Forbidden):
        scope_for(operator, VILLAGE_A)


def test_a_district_admin_token_carries_its_district_and_needs_one(settings):
    token, _ = issue_token({"subject": "acc:9", "role": "district_admin", "username": "camat",
                            "district_code": "36.04.05"}, settings)
    actor = verify_token(token, settings)
    assert (actor.role, actor.district_code, actor.village_code) == (
        "district_admin", "36.04.05", None)
    without, _ = issue_token({"subject": "acc:9", "role": "district_admin"}, settings)
    with pytest.raises(Unauthenticated):
        verify_token(without, settings)


def test_a_district_admin_reaches_one_named_village_of_their_district_only():
    camat = Actor(role="district_admin", village_code=None, username="camat", nik=None,
                  subject="acc:9", district_code="36.04.05")
    assert camat.covers(VILLAGE_A) and camat.covers(VILLAGE_B)
    assert not camat.covers("36.04.051.2001") and not camat.covers("36.04.06.2001")
    assert scope_for(camat, VILLAGE_A) == VILLAGE_A
    for village in (None, "36.04.06.2001"):  # never regency-wide, never another district
        with pytest.raises(Forbidden):
            scope_for(camat, village)


def test_resident_scope_is_own_village():
    resident = Actor(role="resident", village_code=VILLAGE_A, username=None,
                     nik="3604055208909001", subject="res:1")
    assert scope_for(resident) == VILLAGE_A


OLD_SECRET = "the-secret-before-rotation-0123456789"


def test_the_secret_rotates_without_logging_everyone_out(settings):
    old = replace(settings, jwt_secret=OLD_SECRET)
    token, _ = issue_token({"subject": "acc:1", "role": "officer", "village_code": VILLAGE_A},
                           old)
    assert jwt.get_unverified_header(token)["kid"] == key_id(OLD_SECRET)
    assert OLD_SECRET not in key_id(OLD_SECRET)
    rotated = replace(settings, jwt_previous_secrets=f" {OLD_SECRET} ,")
    assert verify_token(token, rotated).village_code == VILLAGE_A
    with pytest.raises(Unauthenticated):  # once the old secret is dropped from the ring
        verify_token(token, settings)
    new, _ = issue_token({"subject": "acc:1", "role": "officer", "village_code": VILLAGE_A},
                         rotated)
    assert jwt.get_unverified_header(new)["kid"] == key_id(settings.jwt_secret)


@pytest.mark.parametrize("changes", [
    {"iss": "someone-else"}, {"aud": "another-api"}, {"iss": None}, {"aud": None}])
def test_issuer_and_audience_are_checked(settings, changes):
    now = datetime.now(UTC)
    claims = {"sub": "x", "role": "regency_admin", "iat": now, "jti": "j",
              "exp": now + timedelta(minutes=5), "iss": ISSUER, "aud": AUDIENCE, **changes}
    claims = {name: value for name, value in claims.items() if value is not None}
    token = jwt.encode(claims, settings.jwt_secret, algorithm="HS256",
                       headers={"kid": key_id(settings.jwt_secret)})
    with pytest.raises(Unauthenticated):
        verify_token(token, settings)


def test_a_token_without_kid_is_refused(settings):
    token, _ = issue_token({"subject": "acc:1", "role": "regency_admin"}, settings)
    claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"], audience=AUDIENCE)
    bare = jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    with pytest.raises(Unauthenticated):
        verify_token(bare, settings)


@pytest.mark.parametrize("secret", [DEVELOPMENT_JWT_SECRET, "REPLACE_ME", "short-secret"])
def test_public_or_placeholder_secrets_are_refused_outside_a_local_run(secret):
    production = replace(Settings(), environment="production", jwt_secret=secret)
    with pytest.raises(InsecureSecret):
        check_secrets(production)
    with pytest.raises(InsecureSecret):  # an earlier secret counts as much
        check_secrets(replace(production, jwt_secret="x" * 48, jwt_previous_secrets=secret))
    check_secrets(replace(production, environment="local"))
    check_secrets(replace(production, jwt_secret="a-random-secret-" + "x" * 32))


def test_a_verified_token_is_not_verified_again_until_it_expires(settings, monkeypatch):
    import time

    from gateway import auth

    tokens = auth.VerifiedTokens()
    # Issued so that it expires a second or two from now.
    token, _ = issue_token({"subject": "acc:7", "role": "officer", "username": "budi",
                            "village_code": VILLAGE_A}, settings,
                           now=datetime.now(UTC) - timedelta(seconds=598))
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    decoded = []
    real_decode = jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: decoded.append(1) or
                        real_decode(*a, **k))
    first = tokens.actor(token, settings)
    assert tokens.actor(token, settings) == first == verify_token(token, settings)
    assert len(decoded) == 2  # the second tokens.actor came from the cache
    # Past its exp the cached Actor is not used: the token is refused as expired.
    time.sleep(max(expires - time.time(), 0) + 0.2)
    with pytest.raises(Unauthenticated, match="expired"):
        tokens.actor(token, settings)


def test_only_valid_tokens_are_kept_and_the_cache_is_bounded(settings):
    from gateway import auth

    tokens = auth.VerifiedTokens(size=2)
    made = [issue_token({"subject": f"acc:{n}", "role": "officer",
                         "village_code": VILLAGE_A}, settings)[0] for n in range(3)]
    forged = made[0][:-3] + ("AAA" if not made[0].endswith("AAA") else "BBB")
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            tokens.actor(forged, settings)
    for token in made:
        tokens.actor(token, settings)
    assert list(tokens._tokens) == made[1:]
    # Another app's secret: a token of this one is not valid there, cached here or not.
    with pytest.raises(Unauthenticated):
        auth.VerifiedTokens().actor(made[2], replace(settings, jwt_secret="x" * 40))
