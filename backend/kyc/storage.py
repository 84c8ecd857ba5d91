"""Where identity documents live: a small blob-storage interface, a local-directory implementation (the default),
and the encryption every stored byte goes through.

Files are encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from the `cryptography` package) under the keys of
KYC_ENCRYPTION_KEY through MultiFernet: the first key encrypts, any key decrypts, so keys rotate by putting a new
one first, running `rotate_documents()` (re-encrypts every stored file under it) and then dropping the old ones.
Keys are never part of a file name or a log line. Only the document service reads these files: there is no URL
under which they are served (reviewers get them through the signed, session-bound API route).

An S3-compatible backend would implement BlobStorage (put/get/delete/keys) the same way; only the local one
exists today.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from backend.settings import get_settings

_KEY = re.compile(r"^[a-z0-9]{32,64}$")


class StorageError(RuntimeError):
    """A stored file is missing or cannot be decrypted with any configured key."""


class BlobStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...  # deleting a missing key is not an error
    def keys(self) -> Iterator[str]: ...


class LocalDirectoryStorage:
    """Files under one directory (owner-only permissions), fanned out by the key's first two characters."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("bad storage key")
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{key}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)  # readers see the whole file or none
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self.path_for(key).read_bytes()
        except FileNotFoundError:
            raise StorageError("the document file is gone") from None

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        if not self.root.exists():
            return
        for path in self.root.glob("??/*"):
            if _KEY.match(path.name):
                yield path.name


class EncryptedStorage:
    """Encrypts on put and decrypts on get, over any BlobStorage."""

    def __init__(self, blobs: BlobStorage, keys: list[str]) -> None:
        if not keys:
            raise ValueError("KYC_ENCRYPTION_KEY is not configured")
        self.blobs = blobs
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def __repr__(self) -> str:  # never the keys
        return f"EncryptedStorage({self.blobs!r})"

    @staticmethod
    def new_key() -> str:
        return secrets.token_hex(20)

    def put(self, key: str, data: bytes) -> None:
        self.blobs.put(key, self._fernet.encrypt(data))

    def get(self, key: str) -> bytes:
        try:
            return self._fernet.decrypt(self.blobs.get(key))
        except InvalidToken:
            raise StorageError("the document cannot be decrypted with the configured keys") from None

    def delete(self, key: str) -> None:
        self.blobs.delete(key)

    def rotate(self, key: str) -> None:
        """Re-encrypt one file under the first (newest) key."""
        try:
            self.blobs.put(key, self._fernet.rotate(self.blobs.get(key)))
        except InvalidToken:
            raise StorageError("the document cannot be decrypted with the configured keys") from None


def encryption_keys() -> list[str]:
    value = get_settings().kyc_encryption_key
    return [k.strip() for k in (value.get_secret_value() if value else "").split(",") if k.strip()]


@lru_cache(maxsize=1)
def _default_storage(root: str, keys: tuple[str, ...]) -> EncryptedStorage:
    return EncryptedStorage(LocalDirectoryStorage(Path(root)), list(keys))


def get_storage() -> EncryptedStorage:
    """The configured document storage (follows settings changes: tests reconfigure it)."""
    return _default_storage(str(get_settings().kyc_documents_dir), tuple(encryption_keys()))


def rotate_documents() -> int:
    """Re-encrypt every stored document under the newest key; returns how many files were rewritten."""
    storage = get_storage()
    count = 0
    for key in list(storage.blobs.keys()):
        storage.rotate(key)
        count += 1
    return count
