"""Secrets in and out: passwords hashed with argon2id, API tokens made at random and kept as SHA-256.

Passwords are low-entropy and chosen by people, so they get a deliberately slow, memory-hard hash
(argon2-cffi with RFC 9106's low-memory profile: 64 MiB, 3 passes; the parameters travel inside each hash, so a
stronger profile later only needs :func:`needs_rehash`). API tokens are 256 random bits, where a fast hash is
right: nobody can guess one, and every API request checks one.

>>> h = hash_password("correct horse battery", hasher=FAST_FOR_TESTS)
>>> verify_password(h, "correct horse battery", hasher=FAST_FOR_TESTS), verify_password(h, "wrong", hasher=FAST_FOR_TESTS)
(True, False)
>>> token = new_token()
>>> token.startswith(TOKEN_PREFIX), len(token_digest(token))
(True, 64)
"""  # noqa: E501

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from safeground.domain.errors import ValidationError

#: argon2id with RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes): about a second on a busy laptop.
PRODUCTION = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)

#: The hasher for new passwords (tests swap in :data:`FAST_FOR_TESTS`).
HASHER = PRODUCTION

#: A cheap argon2id for tests and doctests only (the cost lives in the hash, so verification still works).
FAST_FOR_TESTS = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

#: Tokens start with this, so a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "sgt_"

MIN_PASSWORD = 10
MAX_PASSWORD = 1024


def check_password(password: str, username: str) -> None:
    """Refuse a password that is too short, too long, blank-edged or the username (NIST SP 800-63B's rules)."""
    problem = None
    if len(password) < MIN_PASSWORD:
        problem = f"is shorter than {MIN_PASSWORD} characters"
    elif len(password) > MAX_PASSWORD:
        problem = f"is longer than {MAX_PASSWORD} characters"
    elif password.strip() != password:
        problem = "begins or ends with a space"
    elif username and username.lower() in password.lower():
        problem = "contains the username"
    if problem:
        raise ValidationError("user.bad_password", f"The password {problem}.",
                              hint=f"Choose a passphrase of {MIN_PASSWORD} characters or more, e.g. four "
                                   "unrelated words; it is kept only as an argon2id hash.")


def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    """The argon2id hash of ``password`` (salted; its parameters are inside it)."""
    return (hasher or HASHER).hash(password)


def verify_password(hashed: str | None, password: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Whether ``password`` matches ``hashed``; a missing or malformed hash never matches."""
    if not hashed:
        (hasher or HASHER).hash(password)  # same cost as a real check: no timing hint that the user has none
        return False
    try:
        return (hasher or HASHER).verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hashed: str, *, hasher: PasswordHasher | None = None) -> bool:
    """Whether ``hashed`` was made with other parameters than the current hasher's."""
    return (hasher or HASHER).check_needs_rehash(hashed)


def new_token() -> str:
    """A new API token: the prefix and 256 random bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The SHA-256 (hex) kept for a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
