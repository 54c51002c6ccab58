"""Password hashing with argon2id (argon2-cffi), and the password policy.

The policy (:func:`policy`), for every password a person chooses (an admin setting one, or the
person changing their own): at least :data:`MIN_LENGTH` characters; not one of the common
passwords in ``workflow/data/common_passwords.txt`` (compared ignoring case); not the username
(nor the username backwards). A refusal names its rule: ``password_too_short``, ``password_common``,
``password_is_username``.
"""
from __future__ import annotations

from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher

from .effects import Refused

_HASHER = PasswordHasher()
MIN_LENGTH = 10
MAX_LENGTH = 200  # the sign-in form's limit


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


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    text = files("workflow.data").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def problem(password: str | None, username: str | None = None) -> tuple[str, str] | None:
    """``(rule, message)`` if ``password`` breaks the policy for ``username``; None if it is fine."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return "password_too_short", f"password: at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return "password_too_long", f"password: at most {MAX_LENGTH} characters"
    low = password.lower()
    if low in common_passwords() or low.strip() in common_passwords():
        return "password_common", "password: one of the most common passwords; choose another"
    name = (username or "").strip().lower()
    if name and low.strip() in (name, name[::-1]):
        return "password_is_username", "password: must not be the username"
    return None


def policy(password: str | None, username: str | None = None) -> None:
    """Refuse (:class:`workflow.effects.Refused` naming the rule) a password that breaks the policy."""
    wrong = problem(password, username)
    if wrong:
        raise Refused(*wrong)
