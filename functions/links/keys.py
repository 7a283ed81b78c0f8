"""The link secret: the signing keys by id, and which one signs new links.

The stack's Secrets Manager secret holds a JSON object ``{"current": "1", "k1": "<64 characters>"}``
(CloudFormation generates ``k1``). Rotation adds ``k2`` and sets ``current`` to ``"2"``: new links are
signed with key 2, links of key 1 keep working while ``k1`` stays. Dropping ``k1`` revokes every link it
signed (docs/links.md, "Rotating and revoking").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .token import MIN_SECRET_BYTES

KEYS_MAX_AGE = 300  # seconds a read of the secret is reused: a rotation reaches every environment


class BadLinkSecret(ValueError):
    """The secret's value is not what the stack writes (names what is wrong, never the value)."""


@dataclass(frozen=True)
class LinkKeys:
    current: int
    keys: dict[int, bytes]

    @property
    def signing_key(self) -> bytes:
        return self.keys[self.current]


def parse_link_secret(text: str) -> LinkKeys:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise BadLinkSecret("the link secret is not a JSON object") from None
    if not isinstance(value, dict):
        raise BadLinkSecret("the link secret is not a JSON object")
    keys: dict[int, bytes] = {}
    for name, key in value.items():
        if name == "current":
            continue
        if not (name.startswith("k") and name[1:].isdigit() and 0 <= int(name[1:]) <= 255):
            raise BadLinkSecret(f"unknown name {name!r} in the link secret: expected current and k0-k255")
        if not isinstance(key, str) or len(key.encode()) < MIN_SECRET_BYTES:
            raise BadLinkSecret(
                f"key {name} of the link secret must be a string of at least {MIN_SECRET_BYTES} bytes"
            )
        keys[int(name[1:])] = key.encode()
    current = value.get("current")
    if not (isinstance(current, str) and current.isdigit() and int(current) in keys):
        raise BadLinkSecret(
            f"the link secret's current must name one of its keys ({sorted(keys)}), got {current!r}"
        )
    return LinkKeys(current=int(current), keys=keys)


def load_link_keys(secret_arn: str) -> LinkKeys:
    """The link secret's keys, read through Powertools' cache (``KEYS_MAX_AGE``)."""
    from aws_lambda_powertools.utilities.parameters import get_secret

    return parse_link_secret(get_secret(secret_arn, max_age=KEYS_MAX_AGE))
