"""The detect handler's log keys belong to one invocation: concurrent ones and the next one on a thread.

An execution environment runs invocations one after another and keeps the module warm (on AWS and in
the twin's worker processes), so nothing of one invocation may leak into the next; and should two
ever share a process, a log line must still carry the key of the image its invocation handles.
"""

from __future__ import annotations

import importlib
import io
import json
import threading
from dataclasses import dataclass

import pytest

# Patches the handler module process-wide: never while a local stack of this process runs.
pytestmark = pytest.mark.xdist_group("local-stack")

# Read by Powertools (at import and per invocation): the deployed function's values (infra/workflow.py).
IMPORT_ENVIRONMENT = {"POWERTOOLS_SERVICE_NAME": "labelwatch", "POWERTOOLS_METRICS_NAMESPACE": "Labelwatch"}


@dataclass
class Context:
    aws_request_id: str
    function_name: str = "detect"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:detect"
    function_version: str = "$LATEST"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _event(key: str) -> dict:
    return {
        "bucket": "in",
        "key": key,
        "sequencer": "0A",
        "eventTime": "2026-11-25T10:00:00Z",
        "object": {"key": key},
        "execution": f"exec-{key}",
        "messageId": f"msg-{key}",
    }


@pytest.fixture
def handler_module(monkeypatch):
    """``detect.handler``, imported (if nothing did yet) with the environment it has when deployed."""
    for name, value in IMPORT_ENVIRONMENT.items():  # read at import and by each invocation's metrics
        monkeypatch.setenv(name, value)
    return importlib.import_module("detect.handler")


@pytest.fixture
def logged(monkeypatch, handler_module):
    """What the handler logs (its Powertools handler writes here) and a scripted process_image."""
    from detect.settings import Settings

    out = io.StringIO()
    lock = threading.Lock()

    class Sink:
        def write(self, text: str) -> int:
            with lock:
                return out.write(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr(handler_module.logger.registered_handler, "stream", Sink())
    monkeypatch.setattr(handler_module, "load_settings", lambda: Settings(model_arn="arn:x", label_rules={}))
    both_running = threading.Barrier(2, timeout=30)

    def process_image(event, **_):
        if event["key"].startswith("together/"):
            both_running.wait()  # the two invocations overlap, whatever the machine's speed
        from detect.result import Detection

        return Detection(
            image_id=event["key"],
            image=f"s3://in/{event['key']}",
            status="ok",
            reason=None,
            normalised=None,
            labels=(),
            matches=(),
            alert=False,
            alerts=(),
            result_key=f"results/{event['key']}.json",
            result_body="",
            claim_expires_at=0,
        )

    monkeypatch.setattr(handler_module, "process_image", process_image)
    monkeypatch.setattr(handler_module.clients, "get", lambda name: None)

    def lines() -> list[dict]:
        return [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]

    return lines


def test_concurrent_invocations_each_log_their_own_image(logged, handler_module):
    errors: list[BaseException] = []

    def invoke(key: str) -> None:
        try:
            handler_module.lambda_handler(_event(key), Context(aws_request_id=f"req-{key}"))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=invoke, args=(key,)) for key in ("together/a.jpg", "together/b.jpg")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    processed = [line for line in logged() if line["message"] == "image processed"]
    assert len(processed) == 2
    for line in processed:
        key = line["image"].removeprefix("s3://in/")
        assert (line["key"], line["execution"], line["correlation_id"], line["function_request_id"]) == (
            key,
            f"exec-{key}",
            f"msg-{key}",
            f"req-{key}",
        )


def test_the_next_invocation_on_a_thread_carries_none_of_the_previous_keys(logged, handler_module):
    handler_module.lambda_handler(_event("first.jpg"), Context(aws_request_id="req-1"))
    with pytest.raises(Exception):  # noqa: B017 - an event without a key fails before any key is known
        handler_module.lambda_handler({"messageId": "msg-2"}, Context(aws_request_id="req-2"))

    failed = [line for line in logged() if line["message"] == "detection failed"]
    assert len(failed) == 1
    assert "key" not in failed[0] and "execution" not in failed[0] and "bucket" not in failed[0]
    assert (failed[0]["correlation_id"], failed[0]["function_request_id"]) == ("msg-2", "req-2")
