"""Tell who waits for an execution when it ends, without polling DescribeExecution over HTTP.

The Pipe's ``StartSyncExecution`` is one call on AWS that returns when the execution ends. moto has
no such call, so ``LocalPipe`` starts the execution and waits. Polling ``DescribeExecution`` every
50 ms cost each image about 6 ms of the twin's processor (a request on both sides) and up to 50 ms
of latency; instead moto's interpreter reports the end of each execution here (the one place every
execution passes when it ends: ``BaseExecutionWorkerCommunication.terminated``) and the waiter wakes.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

from labelwatch.local.patching import Patch

_original_terminated = BaseExecutionWorkerCommunication.terminated
KEPT_ENDINGS = 10_000  # endings nobody waited for (executions started by tests) are kept this long


class ExecutionEnds:
    """The end of every execution (status, output, error, cause), as DescribeExecution reports it."""

    def __init__(self) -> None:
        self._ended: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._changed = threading.Condition()
        self.listeners: list[Callable[[Any], None]] = []  # told of each ended moto execution first

    def record(self, execution: Any) -> None:
        for listener in self.listeners:
            listener(execution)
        described = execution.to_describe_output()  # what DescribeExecution would answer
        described["status"] = str(getattr(described["status"], "value", described["status"]))
        with self._changed:
            self._ended[execution.exec_arn] = described
            while len(self._ended) > KEPT_ENDINGS:
                self._ended.popitem(last=False)
            self._changed.notify_all()

    def wait(self, execution_arn: str, timeout: float) -> dict[str, Any] | None:
        """The execution's description once it has ended; None if it is still running at ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while execution_arn not in self._ended:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)
            return self._ended.pop(execution_arn)

    def clear(self) -> None:
        with self._changed:
            self._ended.clear()

    def patches(self) -> list[Patch]:
        ends = self

        def terminated(self: BaseExecutionWorkerCommunication) -> None:
            try:
                _original_terminated(self)
            finally:
                ends.record(self.execution)

        return [
            Patch(
                BaseExecutionWorkerCommunication,
                "terminated",
                terminated,
                signature=str(inspect.signature(_original_terminated)),
            )
        ]
