"""Largest-remainder shares: the parts always sum to the whole, each within one unit of its exact share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.rewards.shares import largest_remainder


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    """Overrides the suite's per-test table emptying: arithmetic only, no database."""
    yield


def test_an_even_split_is_exact_per_token() -> None:
    assert largest_remainder(30, {"a": 2, "b": 1}) == {"a": 20, "b": 10}


def test_leftover_units_go_to_the_largest_remainders_then_the_smaller_key() -> None:
    # 10 / 3 each = 3.33..: one unit left over; equal remainders -> the smallest key gets it.
    assert largest_remainder(10, {"c": 1, "a": 1, "b": 1}) == {"a": 4, "b": 3, "c": 3}
    # 100 split 1:2:4 = 14.28, 28.57, 57.14 -> remainders .28 .57 .14: b gets the one unit left.
    assert largest_remainder(100, {"x": 1, "b": 2, "z": 4}) == {"x": 14, "b": 29, "z": 57}


def test_zero_weights_get_nothing_and_bad_input_is_refused() -> None:
    assert largest_remainder(7, {"a": 0, "b": 3}) == {"a": 0, "b": 7}
    assert largest_remainder(0, {}) == {}
    with pytest.raises(ValueError, match="zero weights"):
        largest_remainder(5, {"a": 0})
    with pytest.raises(ValueError, match="non-negative"):
        largest_remainder(-1, {"a": 1})
    with pytest.raises(ValueError, match="weights"):
        largest_remainder(1, {"a": -1})


@settings(max_examples=300, deadline=None)
@given(total=st.integers(min_value=0, max_value=2**256 - 1),
       weights=st.dictionaries(st.text(min_size=1, max_size=6), st.integers(min_value=0, max_value=10**6),
                               min_size=1, max_size=40).filter(lambda w: sum(w.values()) > 0))
def test_parts_sum_exactly_to_the_whole_and_stay_within_one_unit(total: int, weights: dict[str, int]) -> None:
    parts = largest_remainder(total, weights)
    assert sum(parts.values()) == total
    whole = sum(weights.values())
    for key, weight in weights.items():
        exact_floor = total * weight // whole
        assert exact_floor <= parts[key] <= exact_floor + 1
        if weight == 0:
            assert parts[key] == 0
