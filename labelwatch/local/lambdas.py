"""Route moto's Lambda invocations to execution environments that are worker processes.

moto would start a Docker container; there is none here. ``LambdaFunction._invoke_lambda`` is the
one place every invocation passes (Invoke, Step Functions tasks, event source mappings), so it is
replaced by a call into ``lambda_runtime.FunctionRuntimes``: each environment is a process of its
own with the deployed function's environment variables and role credentials, its memory size,
timeout and reserved concurrency, and Lambda's START/END/REPORT lines in the function's log. The
handler reaches the embedded AWS through boto3 (``AWS_ENDPOINT_URL``) exactly as on AWS.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from moto.awslambda.models import LambdaFunction

from labelwatch.local.lambda_runtime import FunctionRuntimes, config_from_moto, event_json
from labelwatch.local.patching import Patch

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"

_original_invoke = LambdaFunction._invoke_lambda


def patches(runtimes: Callable[[], FunctionRuntimes], code_dir: Path = FUNCTIONS_DIR) -> list[Patch]:
    """Every moto Lambda invocation runs in ``runtimes()`` (handlers from ``code_dir``)."""

    def _invoke_lambda(self: LambdaFunction, event: object = None) -> tuple[str, bool, str]:
        return runtimes().invoke(config_from_moto(self, code_dir), event_json(event)).as_moto()

    return [
        Patch(
            LambdaFunction,
            "_invoke_lambda",
            _invoke_lambda,
            signature=str(inspect.signature(_original_invoke)),
        )
    ]
