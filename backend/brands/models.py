"""Brands: the tenants of Primsell. Every campaign, member and order belongs to one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from backend.db import UTCDateTime, utcnow

DEFAULT_PRIMARY_COLOR = "#4F46E5"
DEFAULT_ACCENT_COLOR = "#F59E0B"


class Brand(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=120)
    logo_url: str = Field(default="", max_length=500)
    primary_color: str = Field(default=DEFAULT_PRIMARY_COLOR, max_length=7)
    accent_color: str = Field(default=DEFAULT_ACCENT_COLOR, max_length=7)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
