"""A WSGI middleware that authorizes every call before moto serves it.

``AuthorizingApp(app, authorizer)`` wraps moto's server application
(``moto.moto_server.werkzeug_app.DomainDispatcherApplication``). It reads the body where classifying
needs it (and hands moto an identical stream), classifies the request
(:func:`labelwatch.local.iam.requests.classify`), asks the :class:`Authorizer`, and on a refusal
answers with the error AWS gives for that protocol, so botocore and Step Functions' ``Catch`` see
the codes they would see on AWS:

* JSON protocols: HTTP 400, ``{"__type": "AccessDeniedException", "message": …}`` and
  ``x-amzn-ErrorType``; SQS (query-compatible JSON) HTTP 403 with ``x-amzn-query-error:
  AccessDenied;Sender`` (botocore reports ``AccessDenied``), and for its KMS key HTTP 400
  ``KMS.AccessDeniedException``.
* Lambda (REST-JSON): HTTP 403 ``AccessDeniedException``.
* SNS and the other query services: HTTP 403 XML ``AuthorizationError`` (SNS) / ``AccessDenied``;
  SNS's KMS refusal is HTTP 400 ``KMSAccessDenied``.
* S3: HTTP 403 XML ``AccessDenied`` (no body for HEAD, as S3 sends none).
* CloudWatch (Smithy RPC v2 CBOR): HTTP 403 ``AccessDenied`` in CBOR.

``/moto-api/…`` is the twin's own control plane and passes untouched.
"""

from __future__ import annotations

import io
import json
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, quote
from xml.sax.saxutils import escape

from labelwatch.local import s3_encryption
from labelwatch.local.iam.authorizer import Authorizer, Verdict
from labelwatch.local.iam.requests import ApiCall, classify, needs_body

StartResponse = Callable[..., Any]


class AuthorizingApp:
    """``authorizer`` may be None (everything passes) and set later, once the stack is provisioned."""

    def __init__(
        self,
        app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
        authorizer: Authorizer | None = None,
    ):
        self.app = app
        self.authorizer = authorizer
        self.requests = 0
        self.refused = 0
        self.seconds = 0.0  # time spent classifying and authorizing, not serving
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api") or self.authorizer is None:
            return self.app(environ, start_response)
        started = time.perf_counter()
        verdict = self.authorize_environ(environ)
        with self._lock:
            self.requests += 1
            self.seconds += time.perf_counter() - started
            if verdict is not None and not verdict.allowed:
                self.refused += 1
        if verdict is not None and not verdict.allowed:
            status, headers, body = error_response(verdict, environ.get("REQUEST_METHOD", "GET"))
            start_response(status, headers)
            return [body]
        if verdict is not None and verdict.call is not None and verdict.call.service == "s3":
            return self._serve_s3(environ, start_response, verdict.call)
        return self.app(environ, start_response)

    def _serve_s3(
        self, environ: dict[str, Any], start_response: StartResponse, call: ApiCall
    ) -> Iterable[bytes]:
        """An allowed S3 call, with SSE-C enforced as S3 does (moto would serve the bytes to anyone)."""
        assert self.authorizer is not None
        headers = _request_headers(environ)
        account = self.authorizer.account
        if call.operation in ("GetObject", "HeadObject"):
            stored = s3_encryption.customer_key_md5(account, call.params)
            refusal = s3_encryption.read_refusal(stored, headers)
            if refusal is not None:
                status, response_headers, body = refusal.response(environ.get("REQUEST_METHOD", "GET"))
                start_response(status, response_headers)
                return [body]
            if stored is not None:
                extra = s3_encryption.customer_key_headers(stored)
                return self.app(environ, _with_headers(start_response, extra))
        elif s3_encryption.uploads_customer_key(call.operation, headers):
            return self.app(environ, _remembering_customer_key(start_response, account, call, headers))
        return self.app(environ, start_response)

    def authorize_environ(self, environ: dict[str, Any]) -> Verdict | None:
        """Classify and judge one WSGI request (None when it cannot be classified)."""
        assert self.authorizer is not None
        headers = _request_headers(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        query_string = environ.get("QUERY_STRING", "")
        raw_path = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or "").split("?", 1)[0]
        if not raw_path:
            raw_path = quote(environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace"))
        body = b""
        if needs_body(headers, method, parse_qs(query_string, keep_blank_values=True)):
            body = _read_body(environ)
        call = classify(
            method,
            raw_path,
            query_string,
            headers,
            body,
            account=self.authorizer.account,
            kms_key_arn=self.authorizer.kms_key_arn,
        )
        if call is None:
            service = (
                headers.get("x-amz-target", "")
                or f"{method} {raw_path.split('/')[1] if '/' in raw_path else ''}"
            )
            self.authorizer.unclassified[service] += 1
            return None
        return self.authorizer.authorize(call)

    def stats(self) -> dict[str, Any]:
        """Requests seen, refused, and the time the authorization added (for the bench)."""
        return {
            **(self.authorizer.stats() if self.authorizer else {}),
            "requests": self.requests,
            "refused": self.refused,
            "mean_us_per_request": (self.seconds / self.requests * 1e6) if self.requests else 0.0,
        }


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return headers


def _with_headers(start_response: StartResponse, extra: list[tuple[str, str]]) -> StartResponse:
    """``start_response`` adding ``extra`` to a successful answer."""

    def starting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if status.startswith("2"):
            headers = [*headers, *extra]
        return start_response(status, headers, exc_info)

    return starting


def _remembering_customer_key(
    start_response: StartResponse, account: str, call: ApiCall, request_headers: dict[str, str]
) -> StartResponse:
    """``start_response`` that keeps the customer key's MD5 on the version moto just stored (its
    answer is complete when it starts the response) and adds S3's SSE-C headers."""

    def starting(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if status.startswith("2"):
            version = next((v for k, v in headers if k.lower() == "x-amz-version-id"), None)
            s3_encryption.remember_customer_key(account, call.params, version, request_headers)
            headers = [
                *headers,
                *s3_encryption.customer_key_headers(request_headers[s3_encryption.KEY_MD5_HEADER]),
            ]
        return start_response(status, headers, exc_info)

    return starting


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


# --- AWS's error shapes ---------------------------------------------------------------------------------


def error_response(verdict: Verdict, method: str = "POST") -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of the error AWS answers for this refusal."""
    call = verdict.call
    decision = verdict.decision
    assert call is not None and decision is not None
    request_id = str(uuid.uuid4())
    message = decision.message
    service = call.service
    if verdict.kms and call.protocol != "rest-xml":  # S3 passes on the KMS message as it is
        message = (
            f"{message} (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; "
            f"Request ID: {request_id})"
        )
    if call.protocol == "rest-xml":  # S3: its XML error, no body for a HEAD
        return s3_encryption.Refusal("403 Forbidden", "AccessDenied", message).response(method)
    if call.protocol == "query":
        if service == "sns":
            code, status = (
                ("KMSAccessDenied", "400 Bad Request")
                if verdict.kms
                else ("AuthorizationError", "403 Forbidden")
            )
            if not verdict.kms:
                message = message.replace(
                    f"perform: {decision.action}", f"perform: SNS:{decision.action[4:]}", 1
                )
        else:
            code, status = "AccessDenied", "403 Forbidden"
        body = (
            f'<ErrorResponse xmlns="https://{service}.amazonaws.com/doc/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
    if call.protocol == "smithy-rpc-v2-cbor":
        body = _cbor_map({"__type": "AccessDenied", "message": message})
        headers = [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-query-error", "AccessDenied;Sender"),
        ]
        return "403 Forbidden", headers, body
    # JSON and REST-JSON
    headers = [("x-amzn-RequestId", request_id)]
    if service == "rekognition" and verdict.access_index > 0:
        # Rekognition reads an S3Object with the caller's permissions and reports a refusal so
        code, status = "InvalidS3ObjectException", "400 Bad Request"
        message = "Unable to get object metadata from S3. Check object key, region and/or access permissions."
    elif service == "sqs":  # JSON with awsQueryCompatible: botocore reports the query-era code
        if verdict.kms:
            code, status, query_code = (
                "KmsAccessDenied",
                "400 Bad Request",
                "KMS.AccessDeniedException;Sender",
            )
        else:
            code, status, query_code = "AccessDeniedException", "403 Forbidden", "AccessDenied;Sender"
            message = message.replace(decision.action, decision.action.lower())  # as SQS writes it
        headers.append(("x-amzn-query-error", query_code))
    elif service == "monitoring":  # CloudWatch's JSON protocol is query-compatible too
        code, status = "AccessDeniedException", "403 Forbidden"
        headers.append(("x-amzn-query-error", "AccessDenied;Sender"))
    elif verdict.kms and service == "lambda":
        code, status = "KMSAccessDeniedException", "502 Bad Gateway"
    else:
        code = "AccessDeniedException"
        status = "403 Forbidden" if call.protocol == "rest-json" else "400 Bad Request"
    content_type = "application/json" if call.protocol == "rest-json" else "application/x-amz-json-1.1"
    headers += [("Content-Type", content_type), ("x-amzn-ErrorType", f"{code}:")]
    payload = {"__type": code, "message": message}
    if call.protocol == "rest-json":
        payload = {"Type": "User", "Message": message, "__type": code}
    return status, headers, json.dumps(payload).encode()


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    if length < 256:
        return bytes([major << 5 | 24, length])
    if length < 65536:
        return bytes([major << 5 | 25]) + struct.pack(">H", length)
    return bytes([major << 5 | 26]) + struct.pack(">I", length)


def _cbor_map(values: dict[str, str]) -> bytes:
    out = bytearray(_cbor_head(5, len(values)))
    for key, value in values.items():
        for text in (key, value):
            data = text.encode()
            out += _cbor_head(3, len(data)) + data
    return bytes(out)
