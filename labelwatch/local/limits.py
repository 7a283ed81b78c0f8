"""Service limits AWS enforces and moto does not (or enforces differently), as data and as patches.

``Limits`` holds AWS's values; a test lowers one (the Express duration, say) to trip it quickly.
``patches(limits)`` returns the moto replacements that enforce them, each closing over ``limits``
(read at call time, so a test may change a field while the twin runs):

- Step Functions: a state's input/output and a task's result at most ``sfn_payload_bytes`` (UTF-8)
  or the execution fails with ``States.DataLimitExceeded``, which ``States.ALL`` does not catch (moto
  enforces 256 KiB minus one byte and lets ``States.ALL`` catch it); StartExecution with a larger
  input is ``ValidationException``; an Express execution running longer than
  ``express_max_seconds`` ends ``TIMED_OUT`` (moto lets it run for ever).
- S3: a key over ``s3_key_bytes`` (UTF-8) is ``KeyTooLongError``; a key with a line feed is routed
  like any other (moto's server answers 404: its key route is a regex whose ``.`` does not match
  ``\\n``, so the werkzeug URL map finds no rule for ``PUT /bucket/a%0Ab``).
- SQS: a message (body and attributes, in UTF-8 bytes) longer than its queue's
  ``MaximumMessageSize`` is ``InvalidParameterValue``; a batch over ``sqs_batch_bytes`` is
  ``BatchRequestTooLong`` (moto counts characters, and only the body).
- SNS: a Subject that is empty, longer than ``sns_subject_chars``, not printable ASCII or holding a
  line break is ``InvalidParameter`` (moto answers an error only for the length); a message with its
  attributes over ``sns_message_bytes`` (UTF-8 bytes, moto counts characters) is ``InvalidParameter``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.moto_server.utilities import RegexConverter
from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend
from moto.sns.responses import SNSInvalidParameter, SNSResponse
from moto.sqs.exceptions import SQSException
from moto.sqs.responses import SQSResponse
from moto.stepfunctions.models import StepFunctionBackend
from moto.stepfunctions.parser.asl.component.common.error_name import error_equals_decl
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state import state as state_module
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from labelwatch.local.patching import Patch

KIB = 1024


@dataclass
class Limits:
    """AWS's values (November 2026). Lower one in a test to trip it without a huge payload or a wait."""

    sfn_payload_bytes: int = 256 * KIB  # a state's input/output, a task's result, an execution's input
    express_max_seconds: float = 300.0  # an Express execution runs at most 5 minutes
    s3_key_bytes: int = 1024
    # SQS: each queue's MaximumMessageSize applies (AWS's default and maximum are 1 MiB since
    # August 2025); this is the cap on one SendMessageBatch request.
    sqs_batch_bytes: int = 1024 * KIB
    sns_message_bytes: int = 256 * KIB  # message and attributes
    sns_subject_chars: int = 100


def json_size(value: Any) -> int:
    """A state's data as Step Functions counts it: its JSON text in UTF-8 (a string with its quotes)."""
    return len(to_json_str(value).encode("utf-8"))


class KeyTooLongError(S3ClientError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__("KeyTooLongError", "Your key is too long")
        self.size = size
        self.max_size_allowed = limit


def _sqs_attributes_size(attributes: dict[str, Any] | None) -> int:
    """Attribute names, types and values count toward an SQS message's size, as on AWS."""
    size = 0
    for name, attribute in (attributes or {}).items():
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode())
        for field in ("StringValue", "BinaryValue"):
            value = attribute.get(field)
            if value is not None:
                size += len(value) if isinstance(value, bytes) else len(str(value).encode())
    return size


def _sns_attributes_size(attributes: dict[str, Any] | None) -> int:
    size = 0
    for name, attribute in (attributes or {}).items():
        size += len(name.encode())
        if isinstance(attribute, dict):
            size += sum(len(str(value).encode()) for value in attribute.values())
        else:
            size += len(str(attribute).encode())
    return size


def check_sns_subject(subject: str | None, limit: int) -> None:
    """SNS: printable ASCII, no line breaks or control characters, 1 to ``limit`` characters."""
    if subject is None:
        return
    if not subject or len(subject) > limit or any(not (" " <= char <= "~") for char in subject):
        raise SNSInvalidParameter("Invalid parameter: Subject")


def patches(limits: Limits) -> list[Patch]:
    return [
        *_step_functions_patches(limits),
        *_s3_patches(limits),
        *_sqs_patches(limits),
        *_sns_patches(limits),
    ]


# --- Step Functions -------------------------------------------------------------------------------------


def _step_functions_patches(limits: Limits) -> list[Patch]:
    def is_within_size_quota(value: Any) -> bool:
        return json_size(value) <= limits.sfn_payload_bytes

    # States.ALL matches every error name except the terminal States.DataLimitExceeded.
    original_error_equals = error_equals_decl.ErrorEqualsDecl._eval_body
    data_limit = StatesErrorName(typ=StatesErrorNameType.StatesStatesDataLimitExceeded)
    states_all = StatesErrorName(typ=StatesErrorNameType.StatesALL)

    def error_equals_eval_body(self: Any, env: Any) -> None:
        error_name = env.stack[-1] if env.stack else None
        if states_all in self.error_names and error_name == data_limit:
            env.stack.pop()
            env.stack.append(False)
            return
        original_error_equals(self, env)

    def check_input(execution_input: Any) -> None:
        if execution_input is not None and len(execution_input.encode("utf-8")) > limits.sfn_payload_bytes:
            raise JsonRESTError(
                "ValidationException",
                "1 validation error detected: Value at 'input' failed to satisfy constraint: "
                f"Member must have length less than or equal to {limits.sfn_payload_bytes}",
            )

    original_parser_start = StepFunctionsParserBackend.start_execution
    original_start = StepFunctionBackend.start_execution

    def parser_start_execution(
        self: Any, state_machine_arn: str, name: str = None, execution_input: str = None, trace_header=None
    ) -> Any:
        check_input(execution_input)
        execution = original_parser_start(self, state_machine_arn, name, execution_input, trace_header)
        # moto runs every execution as STANDARD; the state machine knows its type
        if getattr(self.describe_state_machine(state_machine_arn), "type", None) == "EXPRESS":
            _time_out_after(execution, limits.express_max_seconds)
        return execution

    def start_execution(self: Any, state_machine_arn: str, name: str, execution_input: str) -> Any:
        check_input(execution_input)
        return original_start(self, state_machine_arn, name, execution_input)

    quota_signature = "(value: Any) -> bool"
    return [
        Patch(state_module, "is_within_size_quota", is_within_size_quota, signature=quota_signature),
        Patch(state_task_lambda, "is_within_size_quota", is_within_size_quota, signature=quota_signature),
        Patch(state_task_service, "is_within_size_quota", is_within_size_quota, signature=quota_signature),
        Patch(
            error_equals_decl.ErrorEqualsDecl,
            "_eval_body",
            error_equals_eval_body,
            signature="(self, env: moto.stepfunctions.parser.asl.eval.environment.Environment) -> None",
        ),
        Patch(
            StepFunctionsParserBackend,
            "start_execution",
            parser_start_execution,
            signature="(self, state_machine_arn: str, name: str = None, execution_input: str = None, "
            "trace_header: str = None) -> moto.stepfunctions.parser.backend.execution.Execution",
        ),
        Patch(
            StepFunctionBackend,
            "start_execution",
            start_execution,
            signature="(self, state_machine_arn: 'str', name: 'str', execution_input: 'str') -> 'Execution'",
        ),
    ]


def time_out(execution: Any) -> bool:
    """End a running execution TIMED_OUT (ExecutionTimedOut), as its time limit does: no Catch runs,
    the state it is in is abandoned. False when it was no longer running."""
    worker = execution.exec_worker
    if worker is not None and worker.env is not None and worker.env.is_running():
        worker.env.set_timed_out()
        return True
    return False


def _time_out_after(execution: Any, seconds: float) -> None:
    """An Express execution still running after ``seconds`` ends TIMED_OUT (ExecutionTimedOut)."""

    def watch() -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if str(getattr(execution.exec_status, "value", execution.exec_status)) != "RUNNING":
                return
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        time_out(execution)

    threading.Thread(target=watch, name="express-time-limit", daemon=True).start()


# --- S3 ---------------------------------------------------------------------------------------------------


PUT_OBJECT_SIGNATURE = (
    "(self, bucket_name: 'str', key_name: 'str', value: 'bytes', storage: 'str | None' = None, "
    "etag: 'str | None' = None, multipart: 'FakeMultipart | None' = None, "
    "encryption: 'str | None' = None, kms_key_id: 'str | None' = None, bucket_key_enabled: 'Any' = None, "
    "lock_mode: 'str | None' = None, lock_legal_status: 'str | None' = None, "
    "lock_until: 'str | None' = None, checksum_value: 'str | None' = None, "
    "request_method: 'str | None' = 'PUT', disable_notification: 'bool | None' = False) -> 'FakeKey'"
)


_original_converter_init = RegexConverter.__init__


def converter_init(self: Any, url_map: Any, *items: Any) -> None:
    """moto's URL converter, with "." matching a line feed: a URL path is percent-decoded before
    routing, so a key with a line break must still route. One function for every twin, so an app
    built with it (``server_fixes.backend_app``) routes the same for all of them."""
    _original_converter_init(self, url_map, *items)
    self.regex = f"(?s:{self.regex})"


def _s3_patches(limits: Limits) -> list[Patch]:
    def check_key(key_name: str) -> None:
        size = len(key_name.encode("utf-8"))
        if size > limits.s3_key_bytes:
            raise KeyTooLongError(size, limits.s3_key_bytes)

    original_put = S3Backend.put_object
    original_multipart = S3Backend.create_multipart_upload

    def put_object(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        check_key(key_name)
        return original_put(self, bucket_name, key_name, *args, **kwargs)

    def create_multipart_upload(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        check_key(key_name)
        return original_multipart(self, bucket_name, key_name, *args, **kwargs)

    return [
        Patch(RegexConverter, "__init__", converter_init, signature="(self, url_map: Any, *items: Any)"),
        Patch(
            S3Backend,
            "put_object",
            put_object,
            signature=PUT_OBJECT_SIGNATURE,
        ),
        Patch(
            S3Backend,
            "create_multipart_upload",
            create_multipart_upload,
            signature="(self, bucket_name: 'str', key_name: 'str', metadata: 'CaseInsensitiveDict', "
            "storage_type: 'str', tags: 'dict[str, str]', acl: 'FakeAcl | None', sse_encryption: 'str', "
            "kms_key_id: 'str') -> 'FakeMultipart'",
        ),
    ]


# --- SQS --------------------------------------------------------------------------------------------------


def _sqs_patches(limits: Limits) -> list[Patch]:
    original_send = SQSResponse.send_message
    original_batch = SQSResponse.send_message_batch

    def too_long(limit: int) -> SQSException:
        return SQSException(
            "InvalidParameterValue",
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes.",
        )

    def entry_size(body: Any, attributes: Any) -> int:
        return len(str(body or "").encode("utf-8")) + _sqs_attributes_size(attributes)

    def send_message(self: SQSResponse) -> Any:
        queue = self.sqs_backend.get_queue(self._get_queue_name())
        size = entry_size(self._get_param("MessageBody"), self._get_param("MessageAttributes", {}))
        if size > int(queue.maximum_message_size):
            raise too_long(int(queue.maximum_message_size))
        return original_send(self)

    def send_message_batch(self: SQSResponse) -> Any:
        queue = self.sqs_backend.get_queue(self._get_queue_name())
        entries = self._get_param("Entries", []) or []
        sizes = [entry_size(e.get("MessageBody"), e.get("MessageAttributes")) for e in entries]
        if sum(sizes) > limits.sqs_batch_bytes:
            raise SQSException(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {limits.sqs_batch_bytes} bytes. "
                f"You have sent {sum(sizes)} bytes.",
            )
        if any(size > int(queue.maximum_message_size) for size in sizes):
            raise too_long(int(queue.maximum_message_size))
        return original_batch(self)

    return [
        Patch(
            SQSResponse, "send_message", send_message, signature="(self) -> moto.core.responses.ActionResult"
        ),
        Patch(
            SQSResponse,
            "send_message_batch",
            send_message_batch,
            signature="(self) -> moto.core.responses.ActionResult",
        ),
    ]


# --- SNS --------------------------------------------------------------------------------------------------


def _sns_patches(limits: Limits) -> list[Patch]:
    original_publish = SNSResponse.publish

    def publish(self: SNSResponse) -> Any:
        check_sns_subject(self._get_param("Subject"), limits.sns_subject_chars)
        message = self._get_param("Message") or ""
        size = len(message.encode("utf-8")) + _sns_attributes_size(self._parse_message_attributes())
        if size > limits.sns_message_bytes:
            raise SNSInvalidParameter("Invalid parameter: Message too long")
        return original_publish(self)

    return [Patch(SNSResponse, "publish", publish, signature="(self) -> moto.core.responses.ActionResult")]
