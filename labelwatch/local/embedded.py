"""The embedded stack: the synthesized template provisioned into moto, with its runtimes.

Works with any boto3 client factory: in-process ``mock_aws`` (tests) or clients pointed at
moto's server (``labelwatch local up``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labelwatch.local import custom_labels, dynamodb_fixes, lambdas, s3_events, sfn_fixes
from labelwatch.local.pipe import LocalPipe
from labelwatch.local.provision import Provisioned, Provisioner

DEFAULT_REGION = "us-east-1"


def expire_visibility_timeouts(queue_url: str, *, region: str = DEFAULT_REGION) -> int:
    """Fast-forward a queue's clock: in-flight messages become receivable, as after their timeout.

    In-flight messages cannot be reached through the SQS API, so this acts on moto's queue. It lets
    tests and the soak run see a retry without waiting out the stack's visibility timeout.
    """
    from moto.sqs.models import sqs_backends

    from labelwatch.local.provision import ACCOUNT_ID

    queue = sqs_backends[ACCOUNT_ID][region].queues[queue_url.rsplit("/", 1)[1]]
    messages = list(queue._messages)
    for message in messages:
        message.change_visibility(0)
    return len(messages)


def install_runtimes() -> None:
    """Make moto behave like AWS where the workflow depends on it (idempotent)."""
    lambdas.install()
    custom_labels.install()
    s3_events.install()
    sfn_fixes.install()
    dynamodb_fixes.install()


@dataclass
class EmbeddedStack:
    template: dict[str, Any]
    provisioned: Provisioned
    client: Callable[[str], Any]
    region: str
    # The functions' environment in the process, held from create() until close() (lambdas.ENVIRONMENT)
    environment: lambdas.EnvironmentHold | None = field(default=None, repr=False)

    @classmethod
    def create(
        cls,
        template: dict[str, Any],
        client: Callable[[str], Any],
        *,
        region: str = DEFAULT_REGION,
        stack_name: str = "labelwatch",
    ) -> EmbeddedStack:
        install_runtimes()
        provisioned = Provisioner(client, region=region, stack_name=stack_name).provision(template)
        stack = cls(template=template, provisioned=provisioned, client=client, region=region)
        # Once, before anything can invoke a function: the process environment is shared by every
        # thread and must not change while invocations run (see lambdas.FunctionEnvironment).
        stack.environment = lambdas.ENVIRONMENT.hold(stack.function_environments())
        return stack

    def close(self) -> None:
        """Give the process environment back (once nothing invokes this stack's functions)."""
        if self.environment is not None:
            self.environment.release()
            self.environment = None

    def function_environments(self) -> dict[str, dict[str, str]]:
        """Function name -> its environment variables, as deployed."""
        lambda_client = self.client("lambda")
        return {
            name: lambda_client.get_function_configuration(FunctionName=name)
            .get("Environment", {})
            .get("Variables", {})
            for name in self.provisioned.of_type("AWS::Lambda::Function").values()
        }

    @property
    def outputs(self) -> dict[str, str]:
        return self.provisioned.outputs

    def pipe(self) -> LocalPipe:
        (spec,) = self.provisioned.pipes
        return LocalPipe(spec=spec, client=self.client, region=self.region)

    def detect_environment(self) -> dict[str, str]:
        """The detect Lambda's environment, as deployed."""
        from infra.workflow import DETECT_HANDLER

        for name in self.provisioned.of_type("AWS::Lambda::Function").values():
            config = self.client("lambda").get_function_configuration(FunctionName=name)
            if config["Handler"] == DETECT_HANDLER:
                return config["Environment"]["Variables"]
        raise LookupError("the template has no detect function")
