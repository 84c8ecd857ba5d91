"""Countries and regions (ISO 3166-1 alpha-2 and ISO 3166-2, from pycountry) and the jurisdiction blocklist."""

from __future__ import annotations

from functools import lru_cache

import pycountry

from backend.settings import get_settings


@lru_cache(maxsize=1)
def countries() -> list[tuple[str, str]]:
    """(alpha-2 code, name) sorted by name, for the form's country list."""
    return sorted(((c.alpha_2, getattr(c, "common_name", c.name)) for c in pycountry.countries), key=lambda c: c[1])


@lru_cache(maxsize=1)
def _country_codes() -> frozenset[str]:
    return frozenset(code for code, _ in countries())


def is_country(code: str) -> bool:
    return code in _country_codes()


def country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return getattr(found, "common_name", found.name) if found else code


@lru_cache(maxsize=256)
def regions(country: str) -> list[tuple[str, str]]:
    """(ISO 3166-2 code, name) of a country's top-level subdivisions, sorted by name."""
    found = pycountry.subdivisions.get(country_code=country) or []
    return sorted(((s.code, s.name) for s in found if s.parent_code is None), key=lambda r: r[1])


def blocklist() -> frozenset[str]:
    """KYC_JURISDICTION_BLOCKLIST: alpha-2 countries and ISO 3166-2 regions whose residents are refused."""
    return frozenset(code.strip().upper() for code in get_settings().kyc_blocklist.split(",") if code.strip())


def blocked_regions(country: str) -> list[str]:
    """Listed regions of `country`: where there are any, the form must say which region the person lives in."""
    return sorted(code for code in blocklist() if code.startswith(f"{country}-"))


def is_blocked(country: str, region: str = "") -> bool:
    listed = blocklist()
    return country in listed or (bool(region) and region in listed)
