"""The link function's shell (issue 12): the secret's keys, the function URL event, and no token in
any log line."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime

import pytest
from links import handler
from links.keys import BadLinkSecret, parse_link_secret
from links.token import LinkClaims, issue

from tests.unit.test_link_service import KEYS, NOW, RESULTS, token, uploaded  # noqa: F401  (fixture)

K1 = "a" * 64
K2 = "b" * 64


def test_the_secret_names_its_keys_and_the_one_that_signs():
    keys = parse_link_secret(json.dumps({"current": "2", "k1": K1, "k2": K2}))
    assert keys.current == 2 and keys.keys == {1: K1.encode(), 2: K2.encode()}
    assert keys.signing_key == K2.encode()


@pytest.mark.parametrize(
    "value,message",
    [
        ("not json", "not a JSON object"),
        ('["k1"]', "not a JSON object"),
        (json.dumps({"current": "1", "k1": K1, "key2": K2}), "unknown name 'key2'"),
        (
            json.dumps({"current": "1", "k1": "short"}),
            "key k1 of the link secret must be a string of at least 32",
        ),
        (json.dumps({"current": "3", "k1": K1}), "current must name one of its keys ([1]), got '3'"),
    ],
)
def test_a_bad_secret_is_refused_naming_what_is_wrong_but_not_the_value(value, message):
    with pytest.raises(
        BadLinkSecret,
        match=re.escape(message),
    ) as refused:
        parse_link_secret(value)
    assert K1 not in str(refused.value)


def _event(path: str, method: str = "GET") -> dict:
    return {"version": "2.0", "rawPath": path, "requestContext": {"http": {"method": method}}}


def test_a_get_is_answered_and_other_methods_are_not(s3, uploaded, monkeypatch):  # noqa: F811
    monkeypatch.setenv("RESULTS_BUCKET", RESULTS)
    path = "/i/" + token(uploaded["image_id"])
    reply = handler.handle(_event(path), keys=lambda: KEYS, client=lambda _name: s3, now=NOW)
    assert reply.status == 302 and uploaded["version"] in reply.headers["Location"]
    posted = handler.handle(_event(path, "POST"), keys=lambda: KEYS, client=lambda _name: s3, now=NOW)
    assert (posted.status, posted.headers["Allow"]) == (405, "GET, HEAD")


def test_a_refusal_is_counted_and_logged_without_the_token(monkeypatch, capsys, lambda_context):
    monkeypatch.setenv("RESULTS_BUCKET", RESULTS)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "labelwatch")
    monkeypatch.setattr(handler, "_keys", lambda: KEYS)
    monkeypatch.setattr(handler, "_client", lambda _name: None)  # a refused token reads nothing
    forged = issue(LinkClaims("0" * 32, NOW.date(), int(NOW.timestamp()) + 60, 2), b"x" * 32)
    log = io.StringIO()  # Powertools' logger writes to the stdout it saw at import: give it this one
    monkeypatch.setattr(handler.logger.registered_handler, "stream", log)
    reply = handler.lambda_handler(_event("/i/" + forged), lambda_context)
    assert (reply["statusCode"], reply["body"]) == (403, "Forbidden\n")
    (logged,) = [json.loads(line) for line in log.getvalue().splitlines()]
    assert (logged["message"], logged["reason"]) == ("link refused", "signature")
    assert forged not in log.getvalue(), "the token is in no log line"
    out = capsys.readouterr().out  # the metric (EMF) goes to stdout
    (metric,) = [json.loads(line) for line in out.splitlines() if "LinkRefused" in line]
    assert forged not in out
    assert metric["Reason"] == "signature", "the reason is the metric's dimension"
    assert metric["LinkRefused"] in (1, 1.0, [1], [1.0])


def test_a_view_page_is_an_answer_not_a_refusal(s3, uploaded, monkeypatch, capsys, lambda_context):  # noqa: F811
    monkeypatch.setenv("RESULTS_BUCKET", RESULTS)
    monkeypatch.setattr(handler, "_keys", lambda: KEYS)
    monkeypatch.setattr(handler, "_client", lambda _name: s3)
    monkeypatch.setattr(handler, "datetime", _Frozen)
    event = {**_event("/i/" + token(uploaded["image_id"])), "rawQueryString": "view"}
    reply = handler.lambda_handler(event, lambda_context)
    assert reply["statusCode"] == 200 and reply["headers"]["Content-Type"].startswith("text/html")
    assert "LinkRefused" not in capsys.readouterr().out


class _Frozen(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW
