"""Lambda function URLs on the twin's endpoint: ``<endpoint>/lambda-url/<function name>/<path>``.

On AWS a function URL is ``https://<id>.lambda-url.<region>.on.aws/<path>``; the twin has one port,
so a URL is a path prefix there (``provision.FUNCTION_URL_PATH``). A request becomes the payload
format 2.0 event Lambda sends (``rawPath`` is the path after the prefix), the function runs in its
execution environment as any invocation does, and its answer (``statusCode``, ``headers``, ``body``,
``isBase64Encoded``) becomes the HTTP response.

As on AWS, an ``AuthType: NONE`` URL answers only when the function's resource policy lets everyone
(``*``) call ``lambda:InvokeFunctionUrl`` (with ``FunctionUrlAuthType: NONE``) and, for URLs made
since October 2025, ``lambda:InvokeFunction`` (with ``InvokedViaFunctionUrl``); otherwise it is
403 ``Forbidden``. ``AWS_IAM`` URLs are not served (the stack has none): 403 as well.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from labelwatch.local.provision import FUNCTION_URL_PATH, FunctionUrlSpec, PermissionSpec


def public_url_refusal(url: FunctionUrlSpec, permissions: Iterable[PermissionSpec]) -> str | None:
    """Why AWS would answer 403 to an anonymous request of ``url`` (None: it would invoke)."""
    if url.auth_type != "NONE":
        return f"{url.function_name}'s URL has AuthType {url.auth_type}: the twin serves NONE only"
    mine = [p for p in permissions if p.function_arn == url.function_arn and p.principal == "*"]
    if not any(p.action == "lambda:InvokeFunctionUrl" and p.function_url_auth_type == "NONE" for p in mine):
        return f"{url.function_name}'s resource policy does not allow lambda:InvokeFunctionUrl to '*'"
    if not any(p.action == "lambda:InvokeFunction" and p.invoked_via_function_url for p in mine):
        return (
            f"{url.function_name}'s resource policy does not allow lambda:InvokeFunction to '*' via its "
            "function URL (required of function URLs since October 2025)"
        )
    return None


def url_event(method: str, path: str, query: str, headers: dict[str, str], body: bytes, host: str) -> dict:
    """The payload format 2.0 event of a function URL request."""
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "domainName": host,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": bool(body),
    }
    if body:
        event["body"] = base64.b64encode(body).decode()
    return event


class FunctionUrls:
    """WSGI middleware in front of ``app``: function URL requests go to ``invoke(name, event)``,
    which returns the function's answer (a dict) or raises ``Throttled``; everything else to ``app``."""

    class Throttled(Exception):
        pass

    class FunctionFailed(Exception):
        """The function raised (Lambda answers 502 for it)."""

    def __init__(
        self,
        app: Any,
        *,
        urls: Callable[[], list[FunctionUrlSpec]],
        permissions: Callable[[], list[PermissionSpec]],
        invoke: Callable[[str, dict], dict],
    ) -> None:
        self.app = app
        self.urls = urls
        self.permissions = permissions
        self.invoke = invoke

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        if not raw.startswith(FUNCTION_URL_PATH):
            return self.app(environ, start_response)
        target, _, query = raw.partition("?")
        name, _, rest = target[len(FUNCTION_URL_PATH) :].partition("/")
        url = next((u for u in self.urls() if u.function_name == unquote(name)), None)
        if url is None:
            return _plain(start_response, 404, "Not Found")
        if public_url_refusal(url, self.permissions()) is not None:
            return _plain(start_response, 403, "Forbidden")
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        host = environ.get("HTTP_HOST", "")
        event = url_event(environ["REQUEST_METHOD"], "/" + rest, query, headers, body, host)
        try:
            answer = self.invoke(url.function_name, event)
        except self.Throttled:
            return _plain(start_response, 429, "Rate Exceeded.")
        except self.FunctionFailed:
            return _plain(start_response, 502, "Internal Server Error")
        return _respond(start_response, answer)


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _plain(start_response: Any, status: int, message: str) -> list[bytes]:
    body = json.dumps({"Message": message}).encode()
    start_response(
        _status_line(status),
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]


def _respond(start_response: Any, answer: Any) -> list[bytes]:
    """A function's answer as Lambda's URL front end gives it: a dict with ``statusCode`` as is; any
    other JSON value as a 200 ``application/json`` body."""
    if not isinstance(answer, dict) or "statusCode" not in answer:
        body = json.dumps(answer).encode()
        headers = [("Content-Type", "application/json")]
    else:
        raw = answer.get("body") or ""
        body = base64.b64decode(raw) if answer.get("isBase64Encoded") else str(raw).encode()
        headers = [(str(k), str(v)) for k, v in (answer.get("headers") or {}).items()]
        if not any(k.lower() == "content-type" for k, _ in headers):
            headers.append(("Content-Type", "application/json"))
    status = int(answer.get("statusCode", 200)) if isinstance(answer, dict) else 200
    headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(_status_line(status), headers)
    return [body]
