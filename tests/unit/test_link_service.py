"""The link service's answer (issue 12): a good token opens the exact uploaded version as image/*, by a
redirect presigned when the link is followed; everything else gets the same plain 403."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from detect.keys import image_id, result_key
from links.service import REDIRECT_SECONDS, answer
from links.token import LinkClaims, issue
from PIL import Image

from labelwatch.clients import boto3_session
from tests.unit.factories import BUCKET

RESULTS = "labelwatch-results"
KEYS = {1: bytes(range(32)), 2: bytes(range(50, 82))}
UPLOADED = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (80, 60), (60, 40, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def uploaded(s3):
    """A photo uploaded (versioned), then overwritten, and the result of the first version."""
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=RESULTS)
    key = "field-7/<script>leaf.jpg"
    photo = _jpeg()
    first = s3.put_object(Bucket=BUCKET, Key=key, Body=photo, ContentType="text/html")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"a later upload of the same key")
    id_ = image_id(BUCKET, key, "0065F1")
    record = {"bucket": BUCKET, "key": key, "version_id": first, "image_format": "jpeg", "label": "leaf-smut"}
    s3.put_object(Bucket=RESULTS, Key=result_key("results/", UPLOADED, id_), Body=json.dumps(record) + "\n")
    return {"key": key, "version": first, "photo": photo, "image_id": id_}


def token(image_id_: str, *, key_id: int = 2, expires: datetime = NOW + timedelta(days=7)) -> str:
    claims = LinkClaims(
        image_id=image_id_, upload_day=date(2026, 11, 30), expires=int(expires.timestamp()), key_id=key_id
    )
    return issue(claims, KEYS[key_id])


def ask(s3, path: str, *, secrets=KEYS, presign_s3=None, now: datetime = NOW, **options):
    """The service's answer to ``path`` (``options``: its ``query`` and ``execution_link``)."""
    return answer(
        path,
        secrets=secrets,
        s3=s3,
        presign_s3=presign_s3 or s3,
        results_bucket=RESULTS,
        results_prefix="results/",
        now=now,
        **options,
    )


def test_a_link_redirects_to_the_exact_version_as_an_image(s3, uploaded):
    reply = ask(s3, "/i/" + token(uploaded["image_id"]), presign_s3=_client("AKIALINKSERVICEROLE1"))
    assert reply.status == 302 and reply.reason == "ok"
    location = reply.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["versionId"] == [uploaded["version"]]
    assert query["response-content-type"] == ["image/jpeg"], "not the uploader's text/html"
    assert query["X-Amz-Expires"] == [str(REDIRECT_SECONDS)]
    assert reply.headers["Cache-Control"] == "no-store"
    followed = requests.get(location, timeout=10)  # moto answers the presigned GET
    assert followed.status_code == 200 and followed.content == uploaded["photo"]
    assert followed.headers["Content-Type"] == "image/jpeg"


def test_the_link_outlives_the_credentials_that_were_current_when_it_was_sent(s3, uploaded):
    """The token carries no credentials: the redirect is signed when the link is followed, by
    whatever credentials the service has then (here, after a rotation)."""
    path = "/i/" + token(uploaded["image_id"])
    with_old = ask(s3, path, presign_s3=_client("AKIAOLDOLDOLDOLDOLD1"))
    with_new = ask(s3, path, presign_s3=_client("AKIANEWNEWNEWNEWNEW2"), now=NOW + timedelta(days=6))
    assert "AKIAOLDOLDOLDOLDOLD1" in with_old.headers["Location"]
    assert with_new.status == 302 and "AKIANEWNEWNEWNEWNEW2" in with_new.headers["Location"]


def _client(access_key: str):
    return boto3_session(
        region_name="us-east-1", aws_access_key_id=access_key, aws_secret_access_key="secret"
    ).client("s3", config=boto3.session.Config(signature_version="s3v4"))


@pytest.mark.parametrize(
    "case,reason",
    [("tampered", "signature"), ("expired", "expired"), ("revoked", "key-id"), ("garbage", "malformed")],
)
def test_tampered_expired_and_revoked_links_get_the_same_plain_403(s3, uploaded, case, reason):
    good = token(uploaded["image_id"])
    path = {
        "tampered": "/i/" + good[:-2] + ("AA" if good[-2:] != "AA" else "BB"),
        "expired": "/i/" + token(uploaded["image_id"], expires=NOW - timedelta(seconds=1)),
        "revoked": "/i/" + token(uploaded["image_id"], key_id=1),
        "garbage": "/i/<script>alert(1)</script>",
    }[case]
    secrets = {2: KEYS[2]} if case == "revoked" else KEYS  # key 1 dropped: its links are revoked
    reply = ask(s3, path, secrets=secrets)
    assert (reply.status, reply.body, reply.reason) == (403, "Forbidden\n", reason)
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8" and "Location" not in reply.headers
    assert path[3:] not in reply.body + json.dumps(reply.headers), "the token is never echoed"


def test_a_result_that_cannot_be_read_is_the_same_plain_403(s3, uploaded):
    s3.put_object(Bucket=RESULTS, Key=result_key("results/", UPLOADED, "d" * 32), Body=b"{not json")
    reply = ask(s3, "/i/" + token("d" * 32))
    assert (reply.status, reply.body, reply.reason) == (403, "Forbidden\n", "unreadable-result")

    def refused(**_kwargs):  # the role's read refused (a missing grant, a KMS key policy)
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "GetObject")

    s3.get_object = refused
    denied = ask(s3, "/i/" + token(uploaded["image_id"]))
    assert (denied.status, denied.body, denied.reason) == (403, "Forbidden\n", "unreadable-result")


def test_a_good_token_without_a_result_or_for_a_non_image_is_refused(s3, uploaded):
    assert ask(s3, "/i/" + token("f" * 32)).reason == "no-result"
    record = {"bucket": BUCKET, "key": uploaded["key"], "version_id": None, "image_format": "pdf"}
    s3.put_object(Bucket=RESULTS, Key=result_key("results/", UPLOADED, "e" * 32), Body=json.dumps(record))
    refused = ask(s3, "/i/" + token("e" * 32))
    assert (refused.status, refused.reason) == (403, "not-an-image"), "only ever image/*"
    assert ask(s3, "/other/" + token(uploaded["image_id"])).reason == "path"
