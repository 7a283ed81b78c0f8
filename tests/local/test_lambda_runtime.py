"""Lambda execution environments as worker processes (labelwatch.local.lambda_runtime), with toy handlers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from labelwatch.local.lambda_runtime import (
    FunctionConfig,
    FunctionRuntimes,
    RuntimeClosed,
    TooManyRequests,
    config_from_moto,
    event_json,
)

FIXTURES = Path(__file__).with_name("lambda_fixtures")
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d\d) ms"
    r"\tBilled Duration: (?P<billed>\d+) ms\tMemory Size: (?P<size>\d+) MB\tMax Memory Used: (?P<used>\d+) MB"
    r"(?:\tInit Duration: (?P<init>\d+\.\d\d) ms)?(?P<status>\t.*)?$",
    re.MULTILINE,
)


def toy(name: str, handler: str, **changes) -> FunctionConfig:
    changes.setdefault("timeout_s", 10)
    return FunctionConfig(name=name, handler=f"toy_handlers.{handler}", code_dir=FIXTURES, **changes)


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def runtimes(request, tmp_path):
    """Environments forked from the zygote (the default), or with ``indirect`` False each a fresh
    interpreter (the fallback when no zygote can run): the tests marked BOTH_WAYS run on both."""
    runtimes = FunctionRuntimes(
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:1"},
        tmp_path / "logs",
        credentials_for=lambda role: (f"AKIA{role.rsplit('/', 1)[-1].upper()}", "secret", "token"),
        max_unreserved=2,
        fork_server=getattr(request, "param", True),
    )
    yield runtimes
    runtimes.close()


BOTH_WAYS = pytest.mark.parametrize("runtimes", [True, False], indirect=True, ids=["forked", "fresh"])


def invoke(runtimes: FunctionRuntimes, config: FunctionConfig, event=None):
    result = runtimes.invoke(config, json.dumps(event or {}))
    return result, json.loads(result.payload)


@BOTH_WAYS
def test_each_function_sees_its_own_environment_and_none_of_the_parents(runtimes, monkeypatch):
    monkeypatch.setenv("LABELWATCH_PARENT_ONLY", "parent")
    monkeypatch.setenv("COLOUR", "parent")
    names = [
        "COLOUR",
        "LABELWATCH_PARENT_ONLY",
        "AWS_ENDPOINT_URL",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "_HANDLER",
        "LAMBDA_TASK_ROOT",
        "TZ",
    ]
    red = toy("red", "environment", environment={"COLOUR": "red"}, role_arn="arn:aws:iam::1:role/red-role")
    blue = toy("blue", "environment", environment={"COLOUR": "blue"}, region="eu-west-1", memory_mb=256)
    _, seen_red = invoke(runtimes, red, {"names": names})
    _, seen_blue = invoke(runtimes, blue, {"names": names})

    assert seen_red["COLOUR"] == "red" and seen_blue["COLOUR"] == "blue"
    assert seen_red["LABELWATCH_PARENT_ONLY"] is None and seen_blue["LABELWATCH_PARENT_ONLY"] is None
    assert seen_red["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"  # base_env reaches every function
    assert seen_red["AWS_LAMBDA_FUNCTION_NAME"] == "red" and seen_blue["AWS_LAMBDA_FUNCTION_NAME"] == "blue"
    assert seen_blue["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert seen_red["AWS_ACCESS_KEY_ID"] == "AKIARED-ROLE" and seen_red["AWS_SESSION_TOKEN"] == "token"
    assert seen_blue["AWS_REGION"] == seen_blue["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert seen_red["_HANDLER"] == "toy_handlers.environment"
    assert seen_red["LAMBDA_TASK_ROOT"] == str(FIXTURES)
    assert seen_red["TZ"] == ":UTC"


def test_the_context_object_has_lambdas_attributes(runtimes):
    config = toy("ctx", "context_fields")
    result, context = invoke(runtimes, config)
    assert context["function_name"] == "ctx"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == config.arn
    assert context["memory_limit_in_mb"] == "128"
    assert context["aws_request_id"] == result.request_id
    assert context["log_group_name"] == "/aws/lambda/ctx"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", context["log_stream_name"])
    assert 0 < context["remaining_ms"] <= 10_000
    assert context["trace_id"].startswith("Root=1-")
    assert context["cwd"] == str(FIXTURES)


def test_a_warm_environment_keeps_its_module_and_reports_init_once(runtimes):
    config = toy("counter", "counter")
    results = [invoke(runtimes, config) for _ in range(3)]
    assert [body["calls"] for _, body in results] == [1, 2, 3]
    assert {body["imports"] for _, body in results} == {1}
    assert len({body["pid"] for _, body in results}) == 1
    inits = [REPORT.search(result.logs)["init"] for result, _ in results]
    assert inits[0] is not None and inits[1:] == [None, None]
    assert results[0][0].init_duration_ms > 0 and results[1][0].init_duration_ms is None
    stats = runtimes.stats()["counter"]
    assert (stats.cold_starts, stats.invocations, len(stats.init_durations_ms)) == (1, 3, 1)


def test_reserved_concurrency_runs_that_many_environments_then_throttles(runtimes, tmp_path):
    config = toy("gated", "gate", reserved_concurrency=2)
    started, release = tmp_path / "started", tmp_path / "release"
    started.mkdir()
    event = {"started_dir": str(started), "release": str(release)}
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(invoke(runtimes, config, event))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(list(started.iterdir())) == 2)
    with pytest.raises(TooManyRequests) as refused:
        runtimes.invoke(config, json.dumps(event))
    assert refused.value.code == 429 and refused.value.error_type == "TooManyRequestsException"
    release.touch()
    for thread in threads:
        thread.join()
    assert len({body["pid"] for _, body in results}) == 2
    stats = runtimes.stats()["gated"]
    assert (stats.peak_concurrency, stats.throttled, stats.running, stats.cold_starts) == (2, 1, 0, 2)
    _, again = invoke(runtimes, config, event)  # an idle warm environment is reused, not a third one
    assert again["pid"] in {body["pid"] for _, body in results}
    assert runtimes.stats()["gated"].cold_starts == 2


def test_an_unreserved_function_waits_for_a_free_environment_at_the_local_maximum(runtimes, tmp_path):
    config = toy("unreserved", "gate")  # max_unreserved=2 in the fixture
    started, release = tmp_path / "started", tmp_path / "release"
    started.mkdir()
    event = {"started_dir": str(started), "release": str(release)}
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(invoke(runtimes, config, event))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(list(started.iterdir())) == 2 and runtimes.stats()["unreserved"].queued == 1)
    release.touch()
    for thread in threads:
        thread.join()
    stats = runtimes.stats()["unreserved"]
    assert len(results) == 3 and not any(result.errored for result, _ in results)
    assert (stats.peak_concurrency, stats.cold_starts, stats.throttled) == (2, 2, 0)


def test_prewarm_starts_idle_environments_within_the_concurrency(runtimes):
    config = toy("warm", "counter", reserved_concurrency=2)
    assert runtimes.prewarm(config, 3) == 2
    assert runtimes.stats()["warm"].environments == 2
    result, body = invoke(runtimes, config)
    assert body["calls"] == 1 and result.init_duration_ms is None
    assert runtimes.stats()["warm"].cold_starts == 2


@BOTH_WAYS
def test_a_timeout_kills_the_environment_and_the_next_call_gets_a_fresh_one(runtimes):
    config = toy("slow", "sleep", timeout_s=1)
    _, first = invoke(runtimes, config, {"seconds": 0})
    result, body = invoke(runtimes, config, {"seconds": 30})
    assert result.errored and result.error_type == "Sandbox.Timedout"
    assert body == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds",
    }
    assert f"{result.request_id} Task timed out after 1.00 seconds" in result.logs
    assert REPORT.search(result.logs)["status"] == "\tStatus: timeout"
    assert gone(first["pid"])
    fresh, after = invoke(runtimes, config, {"seconds": 0})
    assert after["pid"] != first["pid"] and fresh.init_duration_ms is not None
    assert runtimes.stats()["slow"].timeouts == 1


def test_memory_above_the_memory_size_is_out_of_memory(runtimes):
    config = toy("hungry", "allocate", memory_mb=128)
    _, first = invoke(runtimes, config, {"mb": 1})
    result, body = invoke(runtimes, config, {"mb": 256, "hold_s": 5})
    assert result.error_type == "Runtime.OutOfMemory"
    assert body == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: signal: killed",
    }
    report = REPORT.search(result.logs)
    assert int(report["used"]) > 128
    assert report["status"] == "\tStatus: error\tError Type: Runtime.OutOfMemory"
    assert gone(first["pid"])
    assert runtimes.stats()["hungry"].out_of_memory == 1


@BOTH_WAYS
def test_a_worker_that_exits_is_an_exit_error(runtimes):
    result, body = invoke(runtimes, toy("crashing", "crash"), {"code": 3})
    assert body == {
        "errorType": "Runtime.ExitError",
        "errorMessage": f"RequestId: {result.request_id} Error: Runtime exited with error: exit status 3",
    }
    assert "about to exit\n" in result.logs  # what it printed before dying is in its log
    assert runtimes.stats()["crashing"].exit_errors == 1 and runtimes.stats()["crashing"].environments == 0


def test_a_handler_exception_has_the_python_runtimes_shape_and_keeps_the_environment(runtimes):
    config = toy("failing", "fail")
    result, body = invoke(runtimes, config, {"n": 7})
    assert result.errored and set(body) == {"errorType", "errorMessage", "requestId", "stackTrace"}
    assert (body["errorType"], body["errorMessage"], body["requestId"]) == (
        "ValueError",
        "boom 7",
        result.request_id,
    )
    assert len(body["stackTrace"]) == 1 and "toy_handlers.py" in body["stackTrace"][0]
    assert ", in fail\n" in body["stackTrace"][0]
    assert "[ERROR] ValueError: boom 7\nTraceback (most recent call last):\n" in result.logs
    assert runtimes.stats()["failing"].environments == 1  # not discarded


def test_marshal_and_import_errors(runtimes):
    _, body = invoke(runtimes, toy("unmarshallable", "not_json"))
    assert body["errorType"] == "Runtime.MarshalError"
    broken = FunctionConfig(name="broken", handler="broken_import.handler", code_dir=FIXTURES)
    result, body = invoke(runtimes, broken)
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"].startswith("Unable to import module 'broken_import': No module named")
    assert "Error Type: Runtime.ImportModuleError" in result.logs


def test_the_function_log_has_output_and_start_end_report_lines(runtimes, tmp_path):
    config = toy("chatty", "chatty", memory_mb=512)
    first, _ = invoke(runtimes, config, {"n": 1})
    second, _ = invoke(runtimes, config, {"n": 2})
    text = (tmp_path / "logs" / "chatty.log").read_text()
    assert text == first.logs + second.logs
    assert text.startswith("INIT_START Runtime Version: python3.11\ntoy_handlers imported\n")
    block = second.logs.splitlines()
    request_id = second.request_id
    assert block[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert block[1:3] == ["stdout line 2", "stderr line 2"]
    assert re.fullmatch(rf"\[WARNING\]\t\d{{4}}-\d\d-\d\dT[\d:.]+Z\t{request_id}\tlogged 2", block[3])
    assert block[4] == f"END RequestId: {request_id}"
    reports = list(REPORT.finditer(text))
    assert [report["id"] for report in reports] == [first.request_id, request_id]
    assert reports[0]["init"] is not None and reports[1]["init"] is None
    for report, result in zip(reports, (first, second), strict=True):
        assert report["size"] == "512" and 0 < int(report["used"]) < 512
        assert float(report["duration"]) > 0 and report["status"] is None
        init = float(report["init"] or 0)
        assert int(report["billed"]) == result.billed_duration_ms >= float(report["duration"]) + init


@BOTH_WAYS
def test_close_leaves_no_worker_process(runtimes, tmp_path):
    started, release = tmp_path / "started", tmp_path / "release"
    started.mkdir()
    invoke(runtimes, toy("idle-one", "counter"))
    invoke(runtimes, toy("idle-two", "noop"))
    failures = []

    def busy():
        try:
            invoke(runtimes, toy("busy", "gate"), {"started_dir": str(started), "release": str(release)})
        except RuntimeClosed as error:
            failures.append(error)

    thread = threading.Thread(target=busy)
    thread.start()
    wait_until(lambda: len(list(started.iterdir())) == 1)
    pids = runtimes.worker_pids()
    assert len(pids) == 3 and not any(gone(pid) for pid in pids)
    runtimes.close()
    thread.join(10)
    assert all(gone(pid) for pid in pids)
    assert len(failures) == 1 and runtimes.worker_pids() == []
    with pytest.raises(RuntimeClosed):
        runtimes.invoke(toy("idle-one", "counter"), "{}")


def test_workers_exit_when_their_parent_dies(tmp_path):
    script = f"""
import json, sys, threading, time
sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
from labelwatch.local.lambda_runtime import FunctionConfig, FunctionRuntimes
runtimes = FunctionRuntimes({{}}, None)
config = FunctionConfig(name="orphan", handler="toy_handlers.sleep", code_dir={str(FIXTURES)!r}, timeout_s=60)
threading.Thread(target=runtimes.invoke, args=(config, json.dumps({{"seconds": 60}})), daemon=True).start()
while not runtimes.worker_pids():
    time.sleep(0.01)
print(runtimes.worker_pids()[0], flush=True)
time.sleep(60)
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    wait_until(lambda: gone(worker))  # it was reparented and reaped by init once it exited


def test_config_from_moto_reads_the_function_model():
    import io
    import zipfile

    import boto3
    from moto import mock_aws
    from moto.awslambda.models import lambda_backends

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def main(event, context):\n    return {}\n")
    with mock_aws():
        role = boto3.client("iam", region_name="eu-west-1").create_role(
            RoleName="fn-role", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        client = boto3.client("lambda", region_name="eu-west-1")
        client.create_function(
            FunctionName="fn",
            Runtime="python3.11",
            Role=role,
            Handler="handler.main",
            Code={"ZipFile": code.getvalue()},
            MemorySize=1024,
            Timeout=30,
            Environment={"Variables": {"TABLE": "t", "RETRIES": "3"}},
        )
        client.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=5)
        function = lambda_backends["123456789012"]["eu-west-1"].get_function("fn")
        config = config_from_moto(function, FIXTURES)
    assert config == FunctionConfig(
        name="fn",
        arn="arn:aws:lambda:eu-west-1:123456789012:function:fn",
        handler="handler.main",
        code_dir=FIXTURES,
        runtime="python3.11",
        memory_mb=1024,
        timeout_s=30.0,
        environment={"TABLE": "t", "RETRIES": "3"},
        reserved_concurrency=5,
        role_arn=role,
        region="eu-west-1",
    )
    assert event_json(None) == "{}" and event_json({"a": 1}) == '{"a": 1}' and event_json(b"[1]") == "[1]"
