"""The twin's trace page: what the image view's execution link opens locally (no console here).

``<endpoint>/_labelwatch/trace?execution=<ARN>&key=<KEY>`` answers the page of ``labelwatch trace
KEY --html``: the image's path on the workflow's graph, from the execution log group as the twin
wrote it. The link function's ``EXECUTION_LINK_TEMPLATE`` points here on the twin (on AWS it is the
console's Express execution page).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

TRACE_PATH = "/_labelwatch/trace"


def trace_link_template(endpoint: str) -> str:
    return f"{endpoint}{TRACE_PATH}?execution={{arn}}&key={{key}}"


class TracePages:
    """WSGI middleware in front of ``app``: ``TRACE_PATH`` is answered here, the rest by ``app``."""

    def __init__(
        self, app: Any, *, outputs: Callable[[], dict[str, str]], client: Callable[[str], Any]
    ) -> None:
        self.app = app
        self.outputs = outputs
        self.client = client

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != TRACE_PATH or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        arn, key = query.get("execution", [""])[0], query.get("key", [""])[0]
        status, page = self.page(arn, key)
        body = page.encode()
        start_response(
            status,
            [
                ("Content-Type", "text/html; charset=utf-8" if status.startswith("200") else "text/plain"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]

    def page(self, arn: str, key: str) -> tuple[str, str]:
        from labelwatch.trace import fetch_events, is_execution_arn, trace_execution
        from labelwatch.trace_html import render_trace_page

        outputs = self.outputs()
        group, machine = outputs.get("ExecutionLogGroupName"), outputs.get("StateMachineArn")
        if not group or not machine or not is_execution_arn(arn):
            return "404 Not Found", "no such execution on this stack\n"
        events = fetch_events(self.client("logs"), group, arn)
        trace = trace_execution(arn, events)
        image = trace.image(key)
        if image is None:
            return "404 Not Found", "this execution logged no such image (its log level may leave it out)\n"
        machine_description = self.client("stepfunctions").describe_state_machine(stateMachineArn=machine)
        return "200 OK", render_trace_page(json.loads(machine_description["definition"]), trace, image)
