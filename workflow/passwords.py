"""Password hashing with argon2id (argon2-cffi)."""
from __future__ import annotations

from argon2 import PasswordHasher

_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """True if ``password`` matches the stored hash; never raises."""
    if not stored:
        return False
    try:
        return _HASHER.verify(stored, password)
    except Exception:
        return False
