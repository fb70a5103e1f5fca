"""Pulumi's passphrase secrets provider, re-implemented for tests only.

What the CLI does (pulumi/pulumi, pkg/secrets/passphrase and sdk/go/common/resource/config):
the key is PBKDF2-HMAC-SHA256(passphrase, salt, 1,000,000 iterations, 32 bytes); a value is
AES-256-GCM sealed with a random 12-byte nonce and written ``v1:<base64 nonce>:<base64 sealed>``;
a stack's ``encryptionsalt`` is ``v1:<base64 salt>:`` followed by the sealed text "pulumi", which
is how the CLI tells a wrong passphrase ("incorrect passphrase").
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ITERATIONS = 1_000_000


class IncorrectPassphrase(Exception):
    pass


def key_for(passphrase: str, salt_state: str) -> bytes:
    """The key a stack's ``encryptionsalt`` and passphrase give, checked like the CLI checks it."""
    version, salt_b64, check = salt_state.split(":", 2)
    if version != "v1":
        raise ValueError("unknown state version")
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), base64.b64decode(salt_b64), ITERATIONS, 32)
    try:
        if decrypt(key, check) != "pulumi":
            raise IncorrectPassphrase
    except Exception as error:  # any failure to open the check value is a wrong passphrase
        raise IncorrectPassphrase from error
    return key


def decrypt(key: bytes, value: str) -> str:
    version, nonce, sealed = value.split(":")
    if version != "v1":
        raise ValueError("bad value")
    return AESGCM(key).decrypt(base64.b64decode(nonce), base64.b64decode(sealed), None).decode()


def encrypt(key: bytes, plaintext: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), None)
    return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"


def new_salt_state(passphrase: str) -> tuple[str, bytes]:
    """What `pulumi stack init --secrets-provider passphrase` writes: an 8-byte salt and the check."""
    salt = os.urandom(8)
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, ITERATIONS, 32)
    return f"v1:{base64.b64encode(salt).decode()}:{encrypt(key, 'pulumi')}", key
