"""The Pipe acts only as its role's trust policy allows, as on AWS: EventBridge Pipes assumes the role
for one pipe, with aws:SourceArn (the pipe's ARN) and aws:SourceAccount in the request, and the trust
policy's conditions decide. The strict twin judges that assumption before the Pipe signs any call."""

from __future__ import annotations

import copy

import pytest

from labelwatch.local.iam.authorizer import AssumeRoleRefused
from tests.workflow.conftest import leaf_image
from tests.workflow.helpers import queue_depth, upload

pytestmark = pytest.mark.slow


def trusting(template: dict, source_arn: str) -> dict:
    """``template`` with the Pipe role trusting Pipes only for the pipe ``source_arn``."""
    changed = copy.deepcopy(template)
    (pipe,) = [r for r in changed["Resources"].values() if r["Type"] == "AWS::Pipes::Pipe"]
    role = changed["Resources"][pipe["Properties"]["RoleArn"]["Fn::GetAtt"][0]]
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    statement["Condition"] = {"ArnEquals": {"aws:SourceArn": source_arn}}
    return changed


def test_the_stacks_pipe_may_assume_its_role(stack, model):
    pipe = stack.pipe()
    assert not [d for d in stack.emulator.authorizer.denials if d.action == "sts:AssumeRole"]
    upload(stack, "leaf.jpg", leaf_image("healthy"))
    pipe.drain()
    assert model.calls == 1


def test_a_role_that_trusts_pipes_only_for_another_pipe_leaves_the_images_on_the_queue(emulator, template):
    stack = emulator.deploy(trusting(template, "arn:aws:pipes:us-east-1:123456789012:pipe/another-pipe"))
    upload(stack, "leaf.jpg", leaf_image("healthy"))

    with pytest.raises(
        AssumeRoleRefused, match="pipes.amazonaws.com is not authorized to perform: sts:AssumeRole"
    ):
        stack.pipe()

    (denial,) = [d for d in emulator.authorizer.denials if d.action == "sts:AssumeRole"]
    assert denial.resource == emulator.authorizer.role_arn("IngestionPipeRole")
    assert queue_depth(stack, "IngestQueueUrl") == (1, 0)
