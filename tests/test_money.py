"""Money parsing and formatting: exact Decimal arithmetic in minor units, per-currency decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backend.money import SUPPORTED_CURRENCIES, format_amount, parse_amount, to_decimal


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("25", "USD", 2500),
        ("25.5", "USD", 2550),
        ("25.50", "EUR", 2550),
        (" 0.01 ", "GBP", 1),
        ("0", "CHF", 0),
        ("1,234.56", "USD", 123456),
        ("1,000,000", "USD", 100000000),
        ("1500", "JPY", 1500),
        ("1,500", "JPY", 1500),
        ("1500.0", "JPY", 1500),
        ("0.29", "USD", 29),  # 0.29 is not exact as a float (28.999...): Decimal keeps it exact
    ],
)
def test_parse_amount_gives_exact_minor_units(text: str, currency: str, minor: int):
    assert parse_amount(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("25.505", "USD", "more than 2 decimal places"),
        ("1500.5", "JPY", "more than 0 decimal places"),
        ("-1", "USD", "zero or more"),
        ("abc", "USD", "not a number"),
        ("", "USD", "not a number"),
        ("NaN", "USD", "zero or more"),
        ("Infinity", "USD", "zero or more"),
        # A European decimal comma must not silently become a hundred times the price.
        ("12,50", "EUR", "not a number"),
        ("1,2,3", "USD", "not a number"),
    ],
)
def test_parse_amount_refuses_inexact_or_invalid_amounts(text: str, currency: str, message: str):
    with pytest.raises(ValueError, match=message):
        parse_amount(text, currency)


def test_parse_amount_refuses_an_unsupported_currency_with_a_value_error():
    with pytest.raises(ValueError, match="currency"):
        parse_amount("10", "XYZ")


def test_to_decimal_scales_by_the_currency_exponent():
    assert to_decimal(2550, "USD") == Decimal("25.50")
    assert isinstance(to_decimal(2550, "USD"), Decimal)
    assert to_decimal(1500, "JPY") == Decimal("1500")
    assert str(to_decimal(5, "EUR")) == "0.05"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (2550, "USD", "$25.50"),
        (1, "USD", "$0.01"),
        (0, "EUR", "€0.00"),
        (123456789, "GBP", "£1,234,567.89"),
        (1500, "JPY", "¥1,500"),
        (2000, "CHF", "CHF 20.00"),
    ],
)
def test_format_amount_uses_symbol_grouping_and_currency_decimals(minor: int, currency: str, text: str):
    assert format_amount(minor, currency) == text


@pytest.mark.parametrize("currency", SUPPORTED_CURRENCIES)
@pytest.mark.parametrize("minor", [0, 1, 99, 100, 123456])
def test_format_then_parse_round_trips(currency: str, minor: int):
    formatted = format_amount(minor, currency)
    number = formatted.lstrip("$€£¥").removeprefix("CHF ")
    assert parse_amount(number, currency) == minor
