"""The stack's Lambda functions: one way to build them (runtime, architecture, bundle, Powertools).

All three (detect, autopilot, links) run the same bundle, ``functions/`` with the detect function's
wheels, on Python 3.13 Arm, each with its own role and protected log group; only what differs is
given here.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.bundling import python_function_code
from infra.monitoring import METRICS_NAMESPACE, METRICS_SERVICE
from infra.nag import acknowledge

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64


def python_function(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    handler: str,
    memory_size: int,
    timeout: Duration,
    role: iam.IRole,
    log_group: logs.ILogGroup,
    environment: dict[str, str],
    **options,
) -> lambda_.Function:
    """A function of the bundle; ``environment`` gets Powertools' service, namespace and log level,
    ``options`` go to ``lambda_.Function`` as they are (reserved concurrency, tracing)."""
    function = lambda_.Function(
        scope,
        construct_id,
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=handler,
        code=python_function_code(
            FUNCTIONS_DIR,
            FUNCTIONS_DIR / "detect" / "requirements.txt",
            architecture=ARCHITECTURE,
            runtime=RUNTIME,
        ),
        memory_size=memory_size,
        timeout=timeout,
        role=role,
        log_group=log_group,
        environment={
            **environment,
            "POWERTOOLS_SERVICE_NAME": METRICS_SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
        },
        **options,
    )
    acknowledge(
        function,
        "AwsSolutions-L1",
        "Python 3.13 is the newest runtime the bundled wheels (Pillow, Powertools) are built and "
        "tested for; every function runs that one bundle.",
    )
    return function
