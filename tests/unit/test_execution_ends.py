"""The Pipe's synchronous wait: told when an execution ends, never later, and never hangs past its bound."""

from __future__ import annotations

import threading

from labelwatch.local.executions import ExecutionEnds


class FakeExecution:
    def __init__(self, arn: str, status: str) -> None:
        self.exec_arn = arn
        self.status = status

    def to_describe_output(self) -> dict:
        return {"executionArn": self.exec_arn, "status": self.status, "output": "{}"}


def test_a_waiter_wakes_when_its_execution_ends_and_not_for_another():
    ends = ExecutionEnds()
    seen = {}
    waiter = threading.Thread(target=lambda: seen.update(ended=ends.wait("arn:one", timeout=60)))
    waiter.start()
    ends.record(FakeExecution("arn:other", "FAILED"))
    ends.record(FakeExecution("arn:one", "SUCCEEDED"))
    waiter.join(60)
    assert seen["ended"] == {"executionArn": "arn:one", "status": "SUCCEEDED", "output": "{}"}
    assert ends.wait("arn:other", timeout=0)["status"] == "FAILED", "an ending before the wait is kept"


def test_a_wait_for_an_execution_still_running_ends_at_its_bound():
    assert ExecutionEnds().wait("arn:running", timeout=0.05) is None
