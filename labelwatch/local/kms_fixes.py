"""moto's KMS without an RSA key per symmetric key.

moto gives every KMS key a private key for Sign/Verify/GetPublicKey, and for a symmetric key
(SYMMETRIC_DEFAULT, HMAC_*) it generates a 2048-bit RSA key it never needs: ~110 ms of processor
per CreateKey, the largest single cost of deploying a stack in the twin (the tests deploy one per
test). Here such a key's private key is made on first use instead, so moto answers every call as
before; asymmetric keys are made at once, as moto makes them (their specs are validated then).
"""

from __future__ import annotations

import threading
from typing import Any

from moto.kms import models

from labelwatch.local.patching import Patch

_original_generate = models.generate_private_key
SYMMETRIC_SPECS = frozenset({"SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512"})


class LazyPrivateKey:
    """What ``generate_private_key(spec)`` returns, generated when something first uses it."""

    def __init__(self, key_spec: str) -> None:
        self._key_spec = key_spec
        self._key: Any = None
        self._lock = threading.Lock()

    def _made(self) -> Any:
        with self._lock:
            if self._key is None:
                self._key = _original_generate(self._key_spec)
            return self._key

    def __getattr__(self, name: str) -> Any:  # only for what this class does not define
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._made(), name)


def generate_private_key(key_spec: str) -> Any:
    if str(getattr(key_spec, "value", key_spec)) in SYMMETRIC_SPECS:
        return LazyPrivateKey(key_spec)
    return _original_generate(key_spec)


def patches() -> list[Patch]:
    return [
        Patch(
            models,
            "generate_private_key",
            generate_private_key,
            signature="(key_spec: str) -> moto.kms.utils.AbstractPrivateKey",
        )
    ]
