"""One page of a list, as every list service returns it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from backend.errors import ValidationFailed

T = TypeVar("T")
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


def check_page(limit: int, offset: int) -> tuple[int, int]:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed("Bad page size.", fields={"limit": f"must be between 1 and {MAX_PAGE_SIZE}"})
    if offset < 0:
        raise ValidationFailed("Bad page offset.", fields={"offset": "must be zero or more"})
    return limit, offset
