"""Documents are encrypted at rest under KYC_ENCRYPTION_KEY, survive a key rotation, and are really deleted."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from PIL import Image
from sqlalchemy import select

from backend.db import session_scope
from backend.kyc.models import KycDocument
from backend.kyc.storage import StorageError, get_storage, rotate_documents
from backend.settings import get_settings
from tests.factories import make_user
from tests.kyc.support import GPS_LATITUDE, stored_files, submit


def _documents() -> list[KycDocument]:
    with session_scope() as session:
        return list(session.execute(select(KycDocument).order_by(KycDocument.id)).scalars())


def test_the_stored_file_is_not_the_plaintext_and_decrypts_to_the_cleaned_image() -> None:
    submit(make_user())
    storage = get_storage()
    for document in _documents():
        raw = storage.blobs.path_for(document.storage_key).read_bytes()  # type: ignore[attr-defined]
        plain = storage.get(document.storage_key)
        assert plain[:3] == b"\xff\xd8\xff" and raw[:3] != b"\xff\xd8\xff"
        assert plain not in raw and plain[100:164] not in raw  # no stretch of the image appears as is
        assert Image.open(io.BytesIO(plain)).format == "JPEG"
        assert str(GPS_LATITUDE[0]).encode() + b"/1" not in plain and b"Test Camera" not in plain
        assert oct(storage.blobs.path_for(document.storage_key).stat().st_mode & 0o777) == "0o600"  # type: ignore[attr-defined]
    assert len(stored_files()) == 3


def test_another_key_cannot_read_the_files(configure) -> None:  # type: ignore[no-untyped-def]
    submit(make_user())
    key = _documents()[0].storage_key
    configure(KYC_ENCRYPTION_KEY=Fernet.generate_key().decode())
    with pytest.raises(StorageError, match="cannot be decrypted"):
        get_storage().get(key)


def test_keys_rotate_a_new_key_first_then_the_old_one_retired(configure) -> None:  # type: ignore[no-untyped-def]
    submit(make_user())
    old = get_settings().kyc_encryption_key.get_secret_value()  # type: ignore[union-attr]
    before = {d.storage_key: get_storage().get(d.storage_key) for d in _documents()}
    new = Fernet.generate_key().decode()
    configure(KYC_ENCRYPTION_KEY=f"{new},{old}")
    assert rotate_documents() == 3
    configure(KYC_ENCRYPTION_KEY=new)
    assert {k: get_storage().get(k) for k in before} == before


def test_a_wrong_key_setting_is_refused_at_start() -> None:
    from backend.settings import ConfigurationError, load_settings

    with pytest.raises(ConfigurationError, match="Fernet keys"):
        load_settings(KYC_ENCRYPTION_KEY="not-a-fernet-key")
