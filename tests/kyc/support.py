"""Test data for KYC: real image files made with Pillow (with EXIF GPS that must not survive), hostile files, and
helpers to submit a check and to put a case into a state through the real services."""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from backend.auth.acl import Actor, Role
from backend.auth.models import Membership
from backend.auth.service import create_user, load_actor
from backend.db import session_scope
from backend.kyc import review, service
from backend.kyc.models import KycCase, KycDocument
from backend.settings import get_settings
from tests.factories import make_user

GPS_LATITUDE = (48, 51, 29)  # where the photo was taken: must be gone once stored


def jpeg(color: tuple[int, int, int] = (200, 120, 40), size: tuple[int, int] = (64, 48), *, gps: bool = True) -> bytes:
    """A real JPEG photo, by default carrying EXIF with a GPS position and a camera model."""
    image = Image.new("RGB", size, color)
    for x in range(0, size[0], 8):  # some detail, so it is not one flat colour
        image.putpixel((x, x % size[1]), (255, 255, 255))
    exif = Image.Exif()
    exif[0x0110] = "Test Camera 3000"  # Model
    if gps:
        exif[0x8825] = {1: "N", 2: GPS_LATITUDE, 3: "E", 4: (2, 17, 40)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGBA", size, (10, 200, 90, 255))
    image.info["comment"] = "secret comment"
    image.save(out, "PNG")
    return out.getvalue()


def pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb)."""
    small = png((1, 1))
    start = small.index(b"IHDR")
    ihdr = bytearray(small[start:start + 17])
    ihdr[4:12] = struct.pack(">II", width, height)
    crc = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    return small[:start] + bytes(ihdr) + crc + small[start + 21:]


FIELDS: dict[str, Any] = {
    "legal_name": "Cleo Example", "date_of_birth": date(1990, 4, 2).isoformat(), "country": "FR", "region": "",
    "address": "12 rue de la Paix, 75002 Paris", "document_type": "id_card", "document_number": "AB 123456",
    "consent": True,
}


def files(**overrides: bytes) -> dict[str, bytes]:
    return {"front": jpeg((200, 30, 30)), "back": jpeg((30, 200, 30)), "selfie": jpeg((30, 30, 200))} | overrides


def submit(actor: Actor, **fields: Any) -> service.KycStatusView:
    upload = fields.pop("files", None) or files()
    return service.submit(actor, FIELDS | fields, files=upload, ip="10.0.0.1")


_reviewers = itertools.count(1)


def reviewer(email: str | None = None) -> Actor:
    """A platform-wide KYC reviewer (without a password: hashing one costs a second, and services take Actors)."""
    with session_scope() as session:
        user = create_user(session, email or f"reviewer{next(_reviewers)}-{id(session)}@example.com", None)
        session.add(Membership(user_id=user.id, brand_id=None, role=Role.KYC_REVIEWER))  # type: ignore[arg-type]
        session.flush()
        return load_actor(session, user)


def case_of(actor: Actor) -> KycCase:
    with session_scope() as session:
        return session.execute(select(KycCase).where(KycCase.user_id == actor.user_id)
                               .order_by(KycCase.id.desc())).scalars().first()  # type: ignore[return-value]


def approved_consumer(**fields: Any) -> Actor:
    """A consumer whose check a reviewer approved."""
    consumer = make_user()
    submit(consumer, **fields)
    case = case_of(consumer)
    kim = reviewer()
    review.claim(kim, case.id)  # type: ignore[arg-type]
    review.approve(kim, case.id)  # type: ignore[arg-type]
    return consumer


def stored_files() -> list[Path]:
    root = get_settings().kyc_documents_dir
    return [p for p in root.glob("??/*") if p.is_file()] if root.exists() else []


def document_rows() -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(KycDocument)).scalar_one()


def case_rows() -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(KycCase)).scalar_one()
