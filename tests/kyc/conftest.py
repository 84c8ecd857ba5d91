"""KYC tests: every test starts with an empty document storage (the tables are emptied by the root conftest)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from backend.settings import get_settings


@pytest.fixture(autouse=True)
def empty_document_storage() -> Iterator[None]:
    yield
    shutil.rmtree(get_settings().kyc_documents_dir, ignore_errors=True)


from tests.api.conftest import auth, client  # noqa: E402,F401  (the API tests' real app and sign-in helpers)
