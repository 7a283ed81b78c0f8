"""What AWS services may do in the stack's name, judged on the synthesized template by the strict twin's
policy evaluator (AWS's documented evaluation logic, labelwatch/local/iam/evaluate.py).

A service principal in a trust or key policy without conditions lets that service act for anyone's
resource: another account's pipe could name our role, and any CloudWatch alarm could have the topics
key encrypt and decrypt for any topic under it. The conditions AWS documents narrow each to this stack.
"""

from __future__ import annotations

import pytest

from labelwatch.cloudformation import Resolver
from labelwatch.local.iam.evaluate import Principal, compile_policy, evaluate

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cdk")]

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Labelwatch",
}


def of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def deployed(template: dict) -> Resolver:
    """Resolves the template as one deployment in us-east-1 would: a topic's Ref is its ARN (by its
    TopicName when it has one), a pipe's Arn its ARN (by its Name), anything else a placeholder."""
    resolver = Resolver(pseudo=PSEUDO, placeholders=set(template["Resources"]))
    for lid, topic in of_type(template, "AWS::SNS::Topic").items():
        name = resolver.resolve(topic["Properties"].get("TopicName", lid))
        resolver.refs[lid] = f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}"
    for lid, pipe in of_type(template, "AWS::Pipes::Pipe").items():
        name = resolver.resolve(pipe["Properties"].get("Name", lid))
        resolver.attrs[(lid, "Arn")] = f"arn:aws:pipes:us-east-1:{ACCOUNT}:pipe/{name}"
    return resolver


def output(template: dict, resolver: Resolver, name: str) -> str:
    return resolver.resolve(template["Outputs"][name]["Value"])


def kms_context(topic_arn: str) -> dict:
    """The request context of SNS using a topic's key (its encryption context: aws:sns:topicArn)."""
    return {
        "kms:encryptioncontext:aws:sns:topicarn": topic_arn,
        "kms:encryptioncontextkeys": ["aws:sns:topicArn"],
        "kms:viaservice": "sns.us-east-1.amazonaws.com",
    }


def test_cloudwatch_may_use_the_topics_key_for_the_ops_topic_only(template):
    """Alarms publish to the encrypted ops topic as cloudwatch.amazonaws.com, which needs the key;
    the alerts topic shares the key and CloudWatch has no business there."""
    resolver = deployed(template)
    ops, alerts = output(template, resolver, "OpsTopicArn"), output(template, resolver, "AlertsTopicArn")
    (key_id,) = {
        topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
        for topic in of_type(template, "AWS::SNS::Topic").values()
    }
    key_policy = compile_policy(
        resolver.resolve(template["Resources"][key_id]["Properties"]["KeyPolicy"]), kind="resource"
    )
    cloudwatch = Principal.service("cloudwatch.amazonaws.com")
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/topics"

    def may(action: str, topic_arn: str) -> bool:
        decision = evaluate(
            cloudwatch, action, key_arn, kms_context(topic_arn), (), key_policy, key_policy=True
        )
        return decision.allowed

    assert may("kms:GenerateDataKey", ops) and may("kms:Decrypt", ops)
    assert not may("kms:GenerateDataKey", alerts) and not may("kms:Decrypt", alerts)
    assert not may("kms:GenerateDataKey", f"arn:aws:sns:us-east-1:{ACCOUNT}:someone-elses-topic")


def test_only_this_stacks_pipe_in_this_account_may_assume_the_pipe_role(template):
    resolver = deployed(template)
    (pipe_lid, pipe) = next(iter(of_type(template, "AWS::Pipes::Pipe").items()))
    role_lid = pipe["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    trust = compile_policy(
        resolver.resolve(template["Resources"][role_lid]["Properties"]["AssumeRolePolicyDocument"]),
        kind="resource",
    )
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/pipe-role"
    pipe_arn = resolver.get_att(pipe_lid, "Arn")
    pipes = Principal.service("pipes.amazonaws.com")

    def may_assume(source_arn: str, source_account: str) -> bool:
        context = {"aws:sourcearn": source_arn, "aws:sourceaccount": source_account}
        return evaluate(pipes, "sts:AssumeRole", role_arn, context, (), trust).allowed

    assert may_assume(pipe_arn, ACCOUNT)
    assert not may_assume(f"arn:aws:pipes:us-east-1:{ACCOUNT}:pipe/another-pipe", ACCOUNT)
    assert not may_assume(
        f"arn:aws:pipes:us-east-1:{OTHER_ACCOUNT}:pipe/{pipe_arn.rsplit('/', 1)[1]}", OTHER_ACCOUNT
    )


def test_the_pipes_name_fits_pipes_rules_for_a_long_stack_name():
    """The trust policy names the Pipe's ARN, so the Pipe has a fixed name: at most 64 characters of
    letters, digits, '.', '-' and '_', one per stack (stack names have up to 128)."""
    import re

    from infra.ingestion import pipe_name

    names = [pipe_name("L" + "x" * 127), pipe_name("L" + "x" * 126 + "y")]
    assert all(len(name) <= 64 and re.fullmatch(r"[.\-_A-Za-z0-9]+", name) for name in names)
    assert len(set(names)) == 2
    assert pipe_name("Labelwatch") == "Labelwatch-ingest"
