"""Serve the twin's own calls without a socket: a botocore client hands its request to the WSGI app.

Every call the twin makes to itself (moto's Step Functions interpreter calling DynamoDB, Lambda, S3
and SNS for each Task state; the Pipe's SQS and Step Functions calls) went through HTTP on
loopback: the client's http.client and urllib3, a socket, waitress's parser and its thread hand-over.
That cost about 1.8 ms of processor per call on both sides together, with about 7 such calls per
image, in the one process (one GIL) that also runs moto. ``InProcessTransport.attach(client)`` makes
a client give its request, signed as before, to the same WSGI application the server runs
(``AuthorizingApp`` around moto), on the calling thread, and hand botocore the response as if it
had come over HTTP.

What stays the same: the request bytes and headers botocore signed, the authorizer's judgement of
them, moto's handling, limits and faults, and the response botocore parses (status, headers, body).
What goes: only the socket and the HTTP framing. The Lambda workers, the CLI, the uploader and
anything else outside the process still use the endpoint over HTTP.

The environ is built as waitress builds it (``waitress.task.WSGITask.get_environment``):
``PATH_INFO`` percent-decoded to bytes and read as latin-1, headers as ``HTTP_*`` except
``CONTENT_TYPE``/``CONTENT_LENGTH``, the body as ``wsgi.input``.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders

log = logging.getLogger(__name__)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# hop-by-hop or transport headers a WSGI server consumes itself
_TRANSPORT = {"HTTP_EXPECT", "HTTP_TRANSFER_ENCODING", "HTTP_CONNECTION"}


class _Body(io.BytesIO):
    """The raw response botocore reads (``stream()``, as urllib3's response offers it)."""

    def stream(self, amt: int = 65536, decode_content: bool | None = None) -> Iterable[bytes]:
        while chunk := self.read(amt):
            yield chunk


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    if hasattr(body, "read"):
        data = body.read()
        if hasattr(body, "seek"):
            body.seek(0)  # a retry reads it again, as over HTTP
        return data if isinstance(data, bytes) else data.encode("utf-8")
    return b"".join(body)


class InProcessTransport:
    """``attach(client)``: the client's requests are served by ``app()`` in this process."""

    def __init__(self, app: Callable[[], WsgiApp | None], *, server_name: str = "127.0.0.1") -> None:
        self._app = app  # looked up per request: the twin sets its app when its server starts
        self._server_name = server_name
        self.requests = 0

    def attach(self, client: Any) -> Any:
        client.meta.events.register_first("before-send", self._send, unique_id="labelwatch-in-process")
        return client

    def environ(self, request: Any, body: bytes) -> dict[str, Any]:
        url = urlsplit(request.url)
        path = unquote_to_bytes(url.path or "/").decode("latin-1")
        if path.startswith("/"):
            path = "/" + path.lstrip("/")
        environ: dict[str, Any] = {
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_HOST": "127.0.0.1",
            "REQUEST_METHOD": request.method.upper(),
            "SERVER_PORT": str(url.port or 80),
            "SERVER_NAME": self._server_name,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "REQUEST_URI": url.path + (f"?{url.query}" if url.query else ""),
            "QUERY_STRING": url.query,
            "wsgi.url_scheme": url.scheme or "http",
            "wsgi.version": (1, 0),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": url.netloc,
        }
        for name, value in request.headers.items():
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ[key] = text
            elif key != "CONTENT_LENGTH" and f"HTTP_{key}" not in _TRANSPORT:  # the length is the body's
                environ[f"HTTP_{key}"] = text
        return environ

    def _send(self, request: Any, **_: Any) -> AWSResponse | None:
        app = self._app()
        if app is None:  # the twin is not serving: let botocore use HTTP (and fail as it would)
            return None
        body = _body_bytes(request.body)
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers

        try:
            chunks = app(self.environ(request, body), start_response)
            try:
                data = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except Exception:  # what the server answers when the application raises
            log.exception("the embedded AWS failed on %s %s", request.method, request.url)
            captured["status"], captured["headers"] = 500, [("Content-Type", "text/plain")]
            data = b"Internal Server Error"
        self.requests += 1
        headers = HTTPHeaders()
        for name, value in captured["headers"]:
            headers[name] = value
        if request.method.upper() == "HEAD":
            data = b""
        return AWSResponse(request.url, captured["status"], headers, _Body(data))
