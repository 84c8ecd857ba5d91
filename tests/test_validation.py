"""Shared validators (slug, colour, URL, EVM address) and the pydantic -> field error mapping."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from backend.validation import check_address, check_color, check_slug, check_url, field_errors

CHECKSUMMED = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"


@pytest.mark.parametrize(("raw", "slug"), [
    ("Summer-Drop", "summer-drop"), ("a", "a"), (" x1 ", "x1"), ("a" * 64, "a" * 64),
])
def test_slug_is_normalised_to_lowercase(raw: str, slug: str):
    assert check_slug(raw) == slug


@pytest.mark.parametrize("raw", ["", "-start", "end-", "has space", "under_score", "a" * 65, "émoji"])
def test_bad_slugs_are_refused(raw: str):
    with pytest.raises(ValueError, match="lowercase letters"):
        check_slug(raw)


def test_colours_are_hex_and_uppercased():
    assert check_color("#4f46e5") == "#4F46E5"
    assert check_color("", allow_empty=True) == ""
    for bad in ("", "4F46E5", "#4F46E", "#GGGGGG", "red"):
        with pytest.raises(ValueError, match="colour"):
            check_color(bad)


def test_urls_must_be_http_or_a_path():
    assert check_url("https://cdn.example.com/a.png") == "https://cdn.example.com/a.png"
    assert check_url("/demo/a.svg") == "/demo/a.svg"
    assert check_url("") == ""
    for bad in ("javascript:alert(1)", "ftp://x", "data:image/png;base64,AAAA"):
        with pytest.raises(ValueError, match="http"):
            check_url(bad)


def test_addresses_are_returned_checksummed():
    assert check_address(CHECKSUMMED) == CHECKSUMMED
    assert check_address(CHECKSUMMED.lower()) == CHECKSUMMED
    assert check_address("", allow_empty=True) == ""


def test_mixed_case_address_with_a_bad_checksum_is_refused():
    typo = CHECKSUMMED.replace("bD4", "Bd4")
    with pytest.raises(ValueError, match="checksum"):
        check_address(typo)


@pytest.mark.parametrize("bad", ["", "0x123", "8ba1f109551bD432803012645Ac136ddd64DBA72", "0x" + "g" * 40])
def test_malformed_addresses_are_refused(bad: str):
    with pytest.raises(ValueError, match="not a valid address"):
        check_address(bad)


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    count: int


def test_field_errors_maps_each_problem_to_its_field():
    with pytest.raises(ValidationError) as caught:
        _Form.model_validate({"count": "many", "colour": "red"})
    fields = field_errors(caught.value)
    assert set(fields) == {"name", "count", "colour"}
    assert fields["colour"] == "unknown field"
    assert "required" in fields["name"].lower()
    assert "integer" in fields["count"]


def test_the_emailed_password_link_points_at_the_set_password_page() -> None:
    from urllib.parse import parse_qs, urlsplit

    from backend.auth.links import link_url
    from backend.auth.models import User
    from primsell import routes

    link = urlsplit(link_url(User(id=1, email="a@example.com")))
    assert link.path == routes.ACCOUNT_SET_PASSWORD and parse_qs(link.query)["token"]
