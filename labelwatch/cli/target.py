"""Which labelwatch stack a command talks to: the running local one, a deployed one, or a saved run.

Local: the endpoint and outputs ``labelwatch local up`` wrote to ``LABELWATCH_HOME``.
Deployed: the CloudFormation outputs of the stack, with the credentials of ``--profile``.
Every command then uses the same outputs (InputBucketName, ResultsBucketName, …) either way.
Offline: no stack runs, but the last local run's results were saved (``labelwatch.local.last_run``);
commands that only read results accept it and say that is what they show.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from labelwatch.cli.errors import NO_STACK, CliError, from_aws_error
from labelwatch.clients import client_factory
from labelwatch.local.home import Home
from labelwatch.processes import process_alive

LOCAL = "local"
AWS = "aws"
OFFLINE = "offline"


@dataclass
class Target:
    kind: str
    outputs: dict[str, str]
    client: Callable[[str], Any]
    description: str
    model_arn: str | None = None
    home: Home | None = None
    saved: Any = None  # the SavedRun an OFFLINE target reads
    endpoint: str | None = None  # the local stack's

    @property
    def is_local(self) -> bool:
        """The embedded stack, running or saved: DuckDB answers queries, the outbox holds alerts."""
        return self.kind in (LOCAL, OFFLINE)

    @property
    def is_offline(self) -> bool:
        return self.kind == OFFLINE

    def result_objects(self):
        """Every result object of the results bucket (or of the saved run)."""
        if self.saved is not None:
            return self.saved.result_objects()
        from labelwatch.analytics.results_source import iter_result_objects

        return iter_result_objects(self.client("s3"), self.output("ResultsBucketName"))

    def output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            raise CliError(f"the stack has no output {name!r} ({self.description})", NO_STACK) from None


def running_stack(home: Home) -> dict[str, Any] | None:
    """The stack file of a live ``labelwatch local up`` on this home, else None."""
    info = home.read_stack()
    return info if info and _alive(info) else None


def local_target(home: Home, *, offline_ok: bool = False) -> Target:
    from labelwatch.local.endpoint import endpoint_clients

    info = running_stack(home)
    if info is None and offline_ok:
        from labelwatch.local import last_run

        saved = last_run.load(home)
        if saved is not None:
            return _offline_target(home, saved)
    if info is None:
        raise CliError(
            f"no local stack is running (looked in {home.stack_file})",
            NO_STACK,
            hint="start one in another terminal with `labelwatch local up`, or pass --profile for AWS",
        )
    return Target(
        kind=LOCAL,
        outputs=info["outputs"],
        client=endpoint_clients(info["endpoint"], info["region"]),
        description=f"local stack at {info['endpoint']}",
        model_arn=info.get("modelArn"),
        home=home,
        endpoint=info["endpoint"],
    )


def _offline_target(home: Home, saved: Any) -> Target:
    from labelwatch.cli.console import err_console

    def no_client(service: str) -> Any:
        raise CliError(f"no local stack is running; {saved.describe()} has results only", NO_STACK)

    err_console.print(f"[dim]no stack is running: showing {saved.describe()}[/]", highlight=False)
    return Target(
        kind=OFFLINE,
        outputs=saved.outputs,
        client=no_client,
        description=saved.describe(),
        home=home,
        saved=saved,
    )


def aws_target(profile: str | None, region: str | None, stack_name: str) -> Target:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        known = from_aws_error(error)
        if known is not None and known.code == NO_STACK:  # profile, credentials, region, network
            raise known from None
        raise CliError(f"cannot read stack {stack_name!r}: {error}", NO_STACK) from None
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    return Target(
        kind=AWS,
        outputs=outputs,
        client=client_factory(session),
        description=f"stack {stack_name} in {session.region_name} (profile {profile or 'default'})",
    )


def resolve_target(
    home: Home, *, profile: str | None, region: str | None, stack_name: str, offline_ok: bool = False
) -> Target:
    """--profile (or --region) means a deployed stack; otherwise the running local one (or, for
    commands that only read results, the last local run's saved results)."""
    if profile or region:
        return aws_target(profile, region, stack_name)
    return local_target(home, offline_ok=offline_ok)


def _alive(info: dict[str, Any]) -> bool:
    pid = info.get("pid")
    if pid and not process_alive(pid):
        return False
    url = urlparse(info.get("endpoint", ""))
    try:
        with socket.create_connection((url.hostname, url.port), timeout=1):
            return True
    except OSError:
        return False
