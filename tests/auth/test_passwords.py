"""Password hashing and policy: argon2 hashes, verification, the rules a new password must pass, rehashing."""

from __future__ import annotations

import time

import pytest
from passlib.context import CryptContext

from backend.auth.passwords import (
    MAX_LENGTH,
    check_password_policy,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from backend.errors import ValidationFailed

GOOD = "Saffron-lantern-42"


def test_hash_is_argon2id_with_a_fresh_salt():
    first, second = hash_password(GOOD), hash_password(GOOD)
    assert first.startswith("$argon2id$v=19$")
    assert GOOD not in first
    assert first != second  # salted


def test_verify_accepts_the_right_password_and_refuses_a_wrong_one():
    stored = hash_password(GOOD)
    assert verify_password(GOOD, stored) is True
    assert verify_password(GOOD + "x", stored) is False
    assert verify_password(GOOD.lower(), stored) is False
    assert verify_password("", stored) is False


def test_verify_for_an_unknown_user_is_always_false():
    assert verify_password(GOOD, None) is False
    assert verify_password("", None) is False


def test_unknown_user_costs_a_full_verification():
    stored = hash_password(GOOD)

    def timed(hash_or_none: str | None) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            verify_password("wrong-password-123", hash_or_none)
            best = min(best, time.perf_counter() - started)
        return best

    real, unknown = timed(stored), timed(None)
    # A skipped verification would be ~1000x faster; a generous ratio keeps this stable on busy machines.
    assert unknown > real / 4, (real, unknown)
    assert unknown < real * 4, (real, unknown)


@pytest.mark.parametrize(
    ("password", "email", "expected"),
    [
        ("Short-1!", "", "must be at least 12 characters"),
        ("a1" * 65, "", f"must be at most {MAX_LENGTH} characters"),
        ("onlylettersherealways", "", "must mix letters with digits or symbols"),
        ("123456789012345", "", "must mix letters with digits or symbols"),
        ("password1234", "", "is too easy to guess"),
        ("PASSWORD1234", "", "is too easy to guess"),
        ("abababab1111", "", "is too easy to guess"),
        ("johnsmith-2026!", "JohnSmith@example.com", "must not contain your email name"),
    ],
    ids=["too-short", "too-long", "letters-only", "digits-only", "common", "common-any-case", "few-distinct",
         "email-name"],
)
def test_policy_names_each_problem_under_the_password_field(password: str, email: str, expected: str):
    assert expected in password_problems(password, email=email)
    with pytest.raises(ValidationFailed) as caught:
        check_password_policy(password, email=email)
    assert caught.value.code == "validation_error"
    assert set(caught.value.fields) == {"password"}
    assert expected in caught.value.fields["password"]
    assert caught.value.fields["password"].startswith("Password ")


def test_policy_reports_under_the_field_the_caller_names():
    with pytest.raises(ValidationFailed) as caught:
        check_password_policy("short", field="new_password")
    assert set(caught.value.fields) == {"new_password"}


def test_policy_accepts_a_long_mixed_password():
    assert password_problems(GOOD, email="someone@example.com") == []
    check_password_policy(GOOD, email="someone@example.com")  # does not raise


def test_short_email_names_do_not_block_passwords():
    # A three-letter local part ("ava") is too short to be a meaningful match.
    assert password_problems("lavender-ava-2026", email="ava@example.com") == []


def test_hash_made_with_weaker_parameters_needs_rehash():
    weak = CryptContext(schemes=["argon2"], argon2__memory_cost=1024, argon2__rounds=1).hash(GOOD)
    assert verify_password(GOOD, weak) is True
    assert needs_rehash(weak) is True
    assert needs_rehash(hash_password(GOOD)) is False
