"""Which labelwatch stack a command talks to: the running local one, or a deployed one.

Local: the endpoint and outputs ``labelwatch local up`` wrote to ``LABELWATCH_HOME``.
Deployed: the CloudFormation outputs of the stack, with the credentials of ``--profile``.
Every command then uses the same outputs (InputBucketName, ResultsBucketName, …) either way.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from labelwatch.cli.errors import NO_STACK, CliError
from labelwatch.clients import client_factory
from labelwatch.local.home import Home

LOCAL = "local"
AWS = "aws"


@dataclass
class Target:
    kind: str
    outputs: dict[str, str]
    client: Callable[[str], Any]
    description: str
    model_arn: str | None = None
    home: Home | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == LOCAL

    def output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            raise CliError(f"the stack has no output {name!r} ({self.description})", NO_STACK) from None


def local_target(home: Home) -> Target:
    from labelwatch.local.server import endpoint_clients

    info = home.read_stack()
    if not info or not _alive(info):
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
    )


def aws_target(profile: str | None, region: str | None, stack_name: str) -> Target:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.session.Session(profile_name=profile, region_name=region)
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        raise CliError(f"cannot read stack {stack_name!r}: {error}", NO_STACK) from None
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    return Target(
        kind=AWS,
        outputs=outputs,
        client=client_factory(session),
        description=f"stack {stack_name} in {session.region_name} (profile {profile or 'default'})",
    )


def resolve_target(home: Home, *, profile: str | None, region: str | None, stack_name: str) -> Target:
    """--profile (or --region) means a deployed stack; otherwise the running local one."""
    if profile or region:
        return aws_target(profile, region, stack_name)
    return local_target(home)


def _alive(info: dict[str, Any]) -> bool:
    pid = info.get("pid")
    try:
        if pid:
            os.kill(int(pid), 0)
    except (ProcessLookupError, PermissionError, ValueError):
        return False
    url = urlparse(info.get("endpoint", ""))
    try:
        with socket.create_connection((url.hostname, url.port), timeout=1):
            return True
    except OSError:
        return False
