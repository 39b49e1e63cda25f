"""AES-256-CBC for encrypted WebSocket payloads (SPEC §15.5): base64 text, PKCS#7 padding.

The key (32 characters) and IV (16 characters) come from the subscribe ack's `body.output` and
are used as their UTF-8 bytes. Errors surface as ValueError; the protocol layer turns them into
PayloadError so that callers handle one exception type for every unreadable frame.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_BLOCK_BITS = 128


def _cipher(key: str, iv: str) -> Cipher[modes.CBC]:
    key_bytes = key.encode("utf-8")
    iv_bytes = iv.encode("utf-8")
    if len(key_bytes) != 32:
        raise ValueError(f"AES-256 key must be 32 bytes, got {len(key_bytes)}")
    if len(iv_bytes) != 16:
        raise ValueError(f"AES IV must be 16 bytes, got {len(iv_bytes)}")
    return Cipher(algorithms.AES(key_bytes), modes.CBC(iv_bytes))


def decrypt_payload(data: str, key: str, iv: str) -> str:
    """Decrypt one base64 payload to its `^`-separated text."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"payload is not base64: {exc}") from None
    if not raw or len(raw) % 16:
        raise ValueError(f"ciphertext length {len(raw)} is not a multiple of the AES block")
    decryptor = _cipher(key, iv).decryptor()
    padded = decryptor.update(raw) + decryptor.finalize()
    unpadder = padding.PKCS7(_BLOCK_BITS).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except ValueError as exc:  # bad padding (wrong key/iv) or bad UTF-8
        raise ValueError(f"cannot decrypt payload: {exc}") from None


def encrypt_payload(text: str, key: str, iv: str) -> str:
    """Encrypt `^`-separated text the way KIS does (used by the simulator and tests)."""
    padder = padding.PKCS7(_BLOCK_BITS).padder()
    padded = padder.update(text.encode("utf-8")) + padder.finalize()
    encryptor = _cipher(key, iv).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")
