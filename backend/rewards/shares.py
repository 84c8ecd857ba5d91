"""Splitting an amount among holders with integers only: the parts sum exactly to the whole (largest remainder)."""

from __future__ import annotations

from collections.abc import Mapping


def largest_remainder(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """{key: part} with sum(parts) == total and each part floor(total * w / W) or one more: the units floor division
    leaves over go one each to the largest remainders (ties to the smaller key, so the answer is deterministic).
    Keys of weight 0 get 0. Raises ValueError on a negative total or weight, or a positive total with no weight."""
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise ValueError("total must be a non-negative int")
    if any(not isinstance(w, int) or isinstance(w, bool) or w < 0 for w in weights.values()):
        raise ValueError("weights must be non-negative ints")
    whole = sum(weights.values())
    if whole == 0:
        if total:
            raise ValueError("cannot split a positive total among zero weights")
        return {key: 0 for key in weights}
    parts: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    for key, weight in weights.items():
        part, remainder = divmod(total * weight, whole)
        parts[key] = part
        remainders.append((remainder, key))
    left = total - sum(parts.values())  # < number of keys with weight > 0
    for _, key in sorted(remainders, key=lambda item: (-item[0], item[1]))[:left]:
        parts[key] += 1
    return parts
