"""Public verification of a letter: by the token in its QR code, or by the PDF's SHA-256."""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common import clock
from services.letters import catalogue, domain, schemas, tokens
from services.letters.models import Letter

INVALID = {"valid": False}
_VERIFICATION = schemas.VerificationSchema()


def _verification(letter: Letter) -> dict:
    letter_type = catalogue.TYPES.get(letter.type_code)
    content = letter.content or {}
    today = clock.local_date(clock.now())
    return _VERIFICATION.dump({
        "valid": True,
        "type": letter.type_code,
        "type_name": letter_type.name if letter_type else letter.type_code,
        "number": letter.number,
        "village": letter.village_code,
        "village_name": (content.get("village") or {}).get("name"),
        "issued_at": letter.issued_at,
        "valid_until": letter.valid_until,
        "expired": bool(letter.valid_until and letter.valid_until < today),
        "holder_name": domain.mask_name(content.get("holder", {}).get("name")
                                        or letter.subject_name),
        "nik": domain.mask_nik(letter.subject_nik),
    })


def verify_token(session: Session, keyring: dict, token: str) -> dict:
    """Public check of a QR token: genuine letters answer with masked holder data only."""
    parsed = tokens.parse_token(token)
    if parsed is None:
        return INVALID
    letter = session.get(Letter, uuid.UUID(parsed.letter_id))
    if (letter is None or letter.status not in (domain.ISSUED, domain.DOWNLOADED)
            or not letter.content or not letter.number):
        return INVALID
    # Recompute the digest from the stored content, so edited rows fail as well.
    digest = tokens.content_digest(letter.content)
    if digest != letter.content_sha256 or not tokens.signature_valid(
            keyring, parsed, letter.number, digest):
        return INVALID
    return _verification(letter)


def verify_pdf(session: Session, sha256: str) -> dict:
    """Is this exact file a letter we issued? (the uploaded PDF's SHA-256)."""
    if not isinstance(sha256, str) or len(sha256) != 64:
        return INVALID
    letter = session.scalars(sa.select(Letter).where(Letter.pdf_sha256 == sha256.lower())).first()
    if letter is None or letter.status not in (domain.ISSUED, domain.DOWNLOADED):
        return INVALID
    return _verification(letter)
