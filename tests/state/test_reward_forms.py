"""The admin reward form's reading: token ranges as typed, datetime-local inputs as UTC, only the kind's fields."""

from __future__ import annotations

import pytest

from primsell.state.admin.campaign_rewards import form_to_reward, format_ranges, parse_ranges


def test_token_ranges_round_trip():
    assert parse_ranges("1-100, 250; 300-310,") == [[1, 100], [250, 250], [300, 310]]
    assert format_ranges([[1, 100], [250, 250]]) == "1-100, 250"
    assert parse_ranges("") == []
    with pytest.raises(ValueError):
        parse_ranges("1-x")


def test_perk_form_keeps_perk_fields_and_reads_times_as_utc():
    data, errors = form_to_reward({"title": " Drink ", "starts_at": "2026-12-05T10:00", "locations": "Main\n\nPort\n",
                                   "uses_per_period": "2", "use_period": "week", "requires_kyc": "on",
                                   "amount_per_token": "5"}, kind="perk")
    assert errors == {}
    assert data["starts_at"] == "2026-12-05T10:00:00+00:00" and data["ends_at"] is None
    assert data["locations"] == ["Main", "Port"] and data["requires_kyc"] is True
    assert "amount_per_token" not in data


def test_payout_form_keeps_payout_fields():
    data, errors = form_to_reward({"title": "Monthly", "token_ranges": "nope", "payout_mode": "fixed_per_token",
                                   "amount_per_token": "1000", "payout_period": "month", "locations": "Main"},
                                  kind="payout")
    assert errors == {"token_ranges": "use token ids and ranges like 1-100, 250"}
    assert data["amount_per_token"] == "1000" and "locations" not in data


def test_payout_amounts_are_shown_and_read_exactly_in_the_currency():
    from primsell.state.admin.campaign_rewards import parse_units, units_text

    assert units_text(2_500_000_000_000_001, 18, "ETH") == "0.002500000000000001 ETH"
    assert units_text(10**18, 18, "ETH") == "1 ETH" and units_text(None, 18, "ETH") == "unknown"
    assert units_text(1234, 0, "PTS") == "1234 PTS"
    assert parse_units("0.5", 18) == 5 * 10**17 and parse_units("1,25", 2) == 125
    for bad in ("", "abc", "-1", "0", "0.001", "NaN"):
        with pytest.raises(ValueError):
            parse_units(bad, 2)


@pytest.mark.parametrize(("text", "base"), [
    ("12345678901.123456789012345678", 12345678901_123456789012345678),
    ("1234567890123456789012.123456789012345678", 1234567890123456789012_123456789012345678),
    ("98765432109876543210987654321", 98765432109876543210987654321 * 10**18),
    ("0.000000000000000001", 1)])
def test_payout_amounts_of_30_and_more_digits_round_trip_exactly(text, base):
    from primsell.state.admin.campaign_rewards import parse_units, units_text

    assert parse_units(text, 18) == base
    assert units_text(base, 18, "ETH") == f"{text} ETH"


def test_wide_amounts_with_too_many_decimals_or_too_large_are_refused():
    from primsell.state.admin.campaign_rewards import parse_units

    for bad in ("12345678901.1234567890123456789", "1234567890123456789012.0000000000000000001", "1e-19"):
        with pytest.raises(ValueError, match="at most 18 decimals"):
            parse_units(bad, 18)
    with pytest.raises(ValueError, match="smaller"):  # past what a vault can hold, however it is written
        parse_units("1e999999999", 18)
