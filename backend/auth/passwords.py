"""Password hashing (passlib + argon2) and the password policy.

`verify_password` always does one full hash verification, also for an unknown user, so a caller cannot
tell "no such email" from "wrong password" by timing.
"""

from __future__ import annotations

from passlib.context import CryptContext

from backend.errors import ValidationFailed

MIN_LENGTH = 12
MAX_LENGTH = 128

_context = CryptContext(schemes=["argon2"], deprecated="auto")
# A real hash of a random string, verified against when the user does not exist.
_DUMMY_HASH = _context.hash("primsell-timing-equaliser-not-a-password")

# The most common passwords that would pass the length rule; a real deployment may extend the list.
_COMMON = {
    "password1234", "123456789012", "qwertyuiopas", "iloveyou1234", "passwordpassword",
    "111111111111", "aaaaaaaaaaaa", "abcdefghijkl", "letmeinletmein", "welcome12345",
}


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Return what is wrong with a new password (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters")
    if not any(c.isalpha() for c in password) or not any(not c.isalpha() for c in password):
        problems.append("must mix letters with digits or symbols")
    if password.lower() in _COMMON or len(set(password)) < 4:
        problems.append("is too easy to guess")
    local_part = email.split("@", 1)[0].lower()
    if len(local_part) >= 4 and local_part in password.lower():
        problems.append("must not contain your email name")
    return problems


def check_password_policy(password: str, *, email: str = "", field: str = "password") -> None:
    problems = password_problems(password, email=email)
    if problems:
        raise ValidationFailed("Choose a stronger password.", fields={field: "Password " + "; ".join(problems) + "."})


def hash_password(password: str) -> str:
    return _context.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant work whether or not a hash exists; passlib compares digests in constant time."""
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH]
    if password_hash is None:
        _context.verify(password, _DUMMY_HASH)
        return False
    return _context.verify(password, password_hash)


def needs_rehash(password_hash: str) -> bool:
    return _context.needs_update(password_hash)
