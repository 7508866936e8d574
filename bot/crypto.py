"""Secrets at rest: the bot tokens of OAuth installations, encrypted with keys from the
environment.

Why Fernet (from `cryptography`): it is authenticated encryption (AES-128-CBC with an
HMAC-SHA256 over everything), so a token cannot be read *or* altered without the key, and
MultiFernet gives key rotation for free: the first key of TOKEN_ENCRYPTION_KEYS encrypts,
every key decrypts, and `MultiFernet.rotate` re-encrypts under the first key. A database
backup then holds ciphertext only; the keys live with the deployment's other secrets.

A stored value that is a Fernet token starts with "gAAAAA" (version byte 0x80, then a
timestamp whose high bytes are zero for the next few thousand years); a Slack token starts
with "xox". `is_encrypted` tells the two apart, so the migration and `secrets rotate` can
find plain-text rows left from before encryption.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEYS_VARIABLE = "TOKEN_ENCRYPTION_KEYS"
FERNET_PREFIX = "gAAAAA"


class TokenDecryptError(Exception):
    """A stored token that none of the configured keys opens (a removed key, or tampering)."""


def generate_key() -> str:
    """A new random key, in the form TOKEN_ENCRYPTION_KEYS expects."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(text: str | None) -> tuple[str, ...]:
    """The comma-separated keys of TOKEN_ENCRYPTION_KEYS, each checked.

    Raises ValueError with a sentence naming the bad key's position (never its value), so a
    configuration error can say which one to fix without printing a secret.
    """
    keys = tuple(part.strip() for part in (text or "").split(",") if part.strip())
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError(
                f"key {position} of {len(keys)} is not a Fernet key (44 characters of "
                "url-safe base64, 32 bytes); make one with `mlops-bot secrets generate-key`"
            )
    if len(set(keys)) != len(keys):
        raise ValueError("the same key is listed twice")
    return keys


def is_encrypted(value: str | None) -> bool:
    """Whether a stored value is a Fernet token rather than a plain-text Slack token."""
    return bool(value) and value.startswith(FERNET_PREFIX)


class TokenCipher:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise ValueError(f"{KEYS_VARIABLE} is empty")
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        self._primary = Fernet(keys[0].encode("ascii"))

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            raise TokenDecryptError(
                f"a stored token does not open with any key of {KEYS_VARIABLE}"
            ) from None

    def is_current(self, stored: str) -> bool:
        """Whether `stored` is already encrypted with the first (current) key."""
        try:
            self._primary.decrypt(stored.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def rotate(self, stored: str) -> str:
        """`stored` re-encrypted with the first key; a plain-text value is encrypted."""
        if not is_encrypted(stored):
            return self.encrypt(stored)
        try:
            return self._fernet.rotate(stored.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise TokenDecryptError(
                f"a stored token does not open with any key of {KEYS_VARIABLE}"
            ) from None
