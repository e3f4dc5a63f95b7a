"""Encryption of the firms' secrets at rest: MultiFernet over MATTERFLOW_SECRET_KEYS (the
first key encrypts, every key decrypts, so keys rotate without losing a secret)."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class CipherUnavailable(RuntimeError):
    """No key, or a key that opens nothing stored: the message names the variable."""


def _cipher() -> MultiFernet:
    keys = current_app.config.get("MATTERFLOW_SECRET_KEYS") or []
    if not keys:
        raise CipherUnavailable("MATTERFLOW_SECRET_KEYS is not set: secrets cannot be read.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as error:
        raise CipherUnavailable(
            f"MATTERFLOW_SECRET_KEYS holds a key that is not a Fernet key: {error}"
        ) from None


def encrypt(value: str) -> bytes:
    return _cipher().encrypt(value.encode())


def decrypt(ciphertext: bytes) -> str:
    try:
        return _cipher().decrypt(ciphertext).decode()
    except InvalidToken:
        raise CipherUnavailable(
            "A secret cannot be decrypted with MATTERFLOW_SECRET_KEYS: the key it was "
            "written with is missing."
        ) from None


def rotate(ciphertext: bytes) -> bytes:
    """The same value encrypted with the first key (MultiFernet.rotate)."""
    try:
        return _cipher().rotate(ciphertext)
    except InvalidToken:
        raise CipherUnavailable(
            "A secret cannot be decrypted with MATTERFLOW_SECRET_KEYS: the key it was "
            "written with is missing, so it cannot be rotated."
        ) from None
