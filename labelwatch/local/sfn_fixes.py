"""Make moto's Step Functions interpreter name Lambda API errors as AWS does.

For a Lambda task, AWS reports an error of the Invoke API itself (the function throttled by its
reserved concurrency, for one) as ``Lambda.<ErrorCode>``, e.g. ``Lambda.TooManyRequestsException``;
the workflow's Retry and Catch match on that name. moto's interpreter names every such error
``Exception``, which would send a throttled image to the failure DLQ instead of back to the queue.
"""

from __future__ import annotations

import inspect
from typing import Any

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

from labelwatch.local.patching import Patch

_original = StateTaskLambda._from_error


def _from_error(self: StateTaskLambda, env: Any, ex: Exception) -> FailureEvent:
    if not isinstance(ex, ClientError):
        return _original(self, env, ex)
    error = f"Lambda.{ex.response['Error']['Code']}"
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.LambdaFunctionFailed,
        event_details=EventDetails(
            lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(
                error=error, cause=ex.response["Error"].get("Message", "")
            )
        ),
    )


def patches() -> list[Patch]:
    return [Patch(StateTaskLambda, "_from_error", _from_error, signature=str(inspect.signature(_original)))]
