"""The embedded stack: the synthesized template provisioned into the Emulator's moto."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labelwatch.local.clock import TwinClock
from labelwatch.local.pipe import LocalPipe, settle
from labelwatch.local.provision import Provisioned, Provisioner, ScheduleSpec
from labelwatch.local.scheduler import LocalScheduler

if TYPE_CHECKING:
    from labelwatch.local.emulator import Emulator


@dataclass
class EmbeddedStack:
    template: dict[str, Any]
    provisioned: Provisioned
    emulator: Emulator

    @classmethod
    def create(
        cls, template: dict[str, Any], emulator: Emulator, *, stack_name: str = "labelwatch"
    ) -> EmbeddedStack:
        provisioner = Provisioner(
            emulator.internal_client,
            region=emulator.region,
            stack_name=stack_name,
            endpoint=emulator.endpoint,
        )
        provisioned = provisioner.provision(template)
        for spec in provisioned.pipes:
            settle(spec, emulator.region)
        return cls(template=template, provisioned=provisioned, emulator=emulator)

    @property
    def region(self) -> str:
        return self.emulator.region

    def client(self, service: str) -> Any:
        return self.emulator.client(service)

    @property
    def outputs(self) -> dict[str, str]:
        return self.provisioned.outputs

    def pipe(self) -> LocalPipe:
        """The Pipe's part: its SQS calls signed as its role, its target start authorized as AWS would."""
        (spec,) = self.provisioned.pipes
        emulator = self.emulator

        def start_refused() -> str | None:
            if emulator.authorizer is None or not spec.role_arn:
                return None
            principal, _ = emulator.authorizer.principal_for(emulator.credentials_for(spec.role_arn)[0])
            decision = emulator.authorizer.check(
                principal, "states:StartSyncExecution", spec.target_state_machine_arn
            )
            return None if decision.allowed or emulator.authorizer.permissive else decision.message

        return LocalPipe(
            spec=spec,
            client=emulator.internal_client,
            region=self.region,
            role_client=emulator.clients_for(spec.role_arn, in_process=True) if spec.role_arn else None,
            start_refused=start_refused,
            wait_for_end=emulator.execution_ends.wait,
            wait_for_messages=lambda timeout: emulator.queue_waits.wait(
                spec.source_queue_arn.rsplit(":", 1)[1], timeout
            ),
        )

    def schedule_of(self, function_output: str) -> ScheduleSpec | None:
        """The template's schedule whose target is the function an output names (e.g.
        ``AutopilotFunctionName``, ``DigestFunctionName``); None when the stack has none."""
        name = self.outputs.get(function_output)
        for spec in self.provisioned.schedules:
            if name and spec.target_arn.rsplit(":", 1)[-1] == name:
                return spec
        return None

    def scheduler(self, clock: TwinClock, specs: list[ScheduleSpec] | None = None) -> LocalScheduler:
        """EventBridge Scheduler's part: the template's schedules (or ``specs``) fired on ``clock``
        (not started)."""
        emulator = self.emulator

        def refused(spec: ScheduleSpec) -> str | None:
            authorizer = emulator.authorizer
            if authorizer is None or authorizer.permissive:
                return None
            refusal = authorizer.assume_role_refusal(spec.role_arn)
            if refusal is not None:
                return refusal.message
            principal, _ = authorizer.principal_for(emulator.credentials_for(spec.role_arn)[0])
            decision = authorizer.check(principal, "lambda:InvokeFunction", spec.target_arn)
            return None if decision.allowed else decision.message

        def invoke(spec: ScheduleSpec, payload: str) -> tuple[str, str | None]:
            answer = emulator.internal_client("lambda").invoke(FunctionName=spec.target_arn, Payload=payload)
            return answer["Payload"].read().decode(), answer.get("FunctionError")

        chosen = self.provisioned.schedules if specs is None else specs
        return LocalScheduler(chosen, clock, invoke=invoke, refused=refused)

    def detect_function(self) -> str:
        """The name of the detect Lambda, as deployed."""
        return self._detect_configuration()["FunctionName"]

    def detect_environment(self) -> dict[str, str]:
        """The detect Lambda's environment, as deployed."""
        return self._detect_configuration()["Environment"]["Variables"]

    def _detect_configuration(self) -> dict[str, Any]:
        from infra.handlers import DETECT_HANDLER

        lambda_client = self.client("lambda")
        for name in self.provisioned.of_type("AWS::Lambda::Function").values():
            configuration = lambda_client.get_function_configuration(FunctionName=name)
            if configuration["Handler"] == DETECT_HANDLER:
                return configuration
        raise LookupError("the template has no detect function")
