"""The short link's token (issue 12): short, naming one upload until an expiry, refused when tampered
with, expired, or signed by a key the stack no longer keeps (rotation, revocation)."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from links.token import TOKEN_CHARS, LinkClaims, Refused, issue, verify

SECRET = bytes(range(32))
ROTATED = bytes(range(100, 132))
CLAIMS = LinkClaims(
    image_id="0123456789abcdef0123456789abcdef", upload_day=date(2026, 12, 1), expires=2_000_000_000, key_id=3
)
NOW = 1_900_000_000
# A Lambda function URL's host is 32 characters of id plus its region's domain
LINK_BASE = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.ap-southeast-2.on.aws/i/"


def test_a_token_round_trips_and_its_link_stays_under_200_characters():
    token = issue(CLAIMS, SECRET)
    assert len(token) == TOKEN_CHARS == 54
    assert token.isascii() and all(c.isalnum() or c in "-_" for c in token)  # URL-safe, nothing to escape
    assert len(LINK_BASE + token) <= 200
    assert verify(token, {3: SECRET}, NOW) == CLAIMS


def test_every_changed_byte_is_refused():
    raw = bytearray(base64.urlsafe_b64decode(issue(CLAIMS, SECRET) + "=="))
    for index in range(len(raw)):
        changed = bytearray(raw)
        changed[index] ^= 0x01
        token = base64.urlsafe_b64encode(bytes(changed)).rstrip(b"=").decode()
        with pytest.raises(Refused):
            verify(token, {3: SECRET, 2: SECRET}, NOW)


def test_an_expired_token_is_refused():
    token = issue(CLAIMS, SECRET)
    with pytest.raises(Refused, match="expired"):
        verify(token, {3: SECRET}, CLAIMS.expires)


def test_rotation_keeps_old_links_until_their_key_is_dropped():
    old = issue(CLAIMS, SECRET)
    new = issue(LinkClaims(**{**vars(CLAIMS), "key_id": 4}), ROTATED)
    kept = {3: SECRET, 4: ROTATED}
    assert verify(old, kept, NOW).key_id == 3 and verify(new, kept, NOW).key_id == 4
    with pytest.raises(Refused, match="key-id"):  # revoked: every link of key 3 at once
        verify(old, {4: ROTATED}, NOW)
    with pytest.raises(Refused, match="signature"):  # a key id with another secret behind it
        verify(old, {3: ROTATED}, NOW)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x" * 53,
        "x" * 55,
        "!" * 54,
        None,
    ],
)
def test_malformed_tokens_are_refused(token):
    with pytest.raises(Refused, match="malformed"):
        verify(token, {3: SECRET}, NOW)


def test_a_second_spelling_of_the_same_bytes_is_refused():
    token = issue(CLAIMS, SECRET)
    # the last character carries 4 unused bits: another character with the same 2 used bits decodes alike
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    twin = alphabet[last ^ 0b0001]
    with pytest.raises(Refused, match="malformed"):
        verify(token[:-1] + twin, {3: SECRET}, NOW)


def test_issuing_names_what_is_wrong():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        issue(CLAIMS, b"short")
    with pytest.raises(ValueError, match="not 32 hex digits"):
        issue(LinkClaims(**{**vars(CLAIMS), "image_id": "xyz"}), SECRET)
