"""Apply (or inspect) Alembic migrations from code: used by the CLI, `make run` and the tests."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from backend.settings import PROJECT_ROOT


def alembic_config() -> Config:
    return Config(str(PROJECT_ROOT / "alembic.ini"))


def upgrade(revision: str = "head") -> None:
    command.upgrade(alembic_config(), revision)


def downgrade(revision: str) -> None:
    command.downgrade(alembic_config(), revision)
