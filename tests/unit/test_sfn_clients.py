"""labelwatch.local.sfn_clients: one boto3 client per key for moto's Step Functions interpreter."""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import threading
import time
from pathlib import Path

import boto3
import pytest
from botocore.validate import ParamValidationDecorator
from moto import mock_aws
from moto.stepfunctions.parser.asl.utils import boto_client as moto_boto_client

from labelwatch.local import sfn_clients
from labelwatch.local.patching import PatchSet
from labelwatch.local.sfn_clients import Credentials, TaskClients

ORIGINAL = moto_boto_client.boto_client_for


def test_every_module_holding_boto_client_for_is_patched() -> None:
    import moto.stepfunctions.parser as parser

    holders = set()
    for info in pkgutil.walk_packages(parser.__path__, prefix=f"{parser.__name__}."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # a few modules of the port need what moto does not ship; never run
            continue
        if getattr(module, "boto_client_for", None) is ORIGINAL:
            holders.add(info.name)
    assert holders == {sfn_clients.DEFINING_MODULE, *sfn_clients.IMPORTING_MODULES}


def test_patches_apply_restore_and_match_the_signature() -> None:
    clients = TaskClients()
    patch_set = PatchSet(sfn_clients.patches(clients))
    assert patch_set.check_signatures() == []
    patch_set.apply()
    try:
        lambda_eval_utils = importlib.import_module(sfn_clients.IMPORTING_MODULES[2])
        assert lambda_eval_utils.boto_client_for == clients.client_for
        assert sfn_clients.is_task_clients(lambda_eval_utils.boto_client_for)
    finally:
        patch_set.restore()
    assert lambda_eval_utils.boto_client_for is ORIGINAL
    assert not sfn_clients.is_task_clients(ORIGINAL)


def test_one_client_per_region_service_endpoint_and_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_PORT", "4566")
    clients = TaskClients()
    first = clients.client_for("eu-west-1", "sns")
    assert clients.client_for("eu-west-1", "sns") is first
    assert clients.client_for(region="eu-west-1", service="sns", state_credentials=None) is first
    assert first.meta.endpoint_url == "http://localhost:4566"
    assert first.meta.region_name == "eu-west-1"
    signing = first._request_signer._credentials
    assert (signing.access_key, signing.secret_key) == ("ak", "sk")  # as moto signs
    assert first.meta.config.retries["total_max_attempts"] == 1
    assert not isinstance(first._serializer, ParamValidationDecorator)  # no parameter validation

    assert clients.client_for("eu-west-1", "lambda") is not first
    assert clients.client_for("us-east-1", "sns") is not first
    monkeypatch.setenv("MOTO_PORT", "4567")  # the endpoint follows moto_server_port()
    moved = clients.client_for("eu-west-1", "sns")
    assert moved is not first and moved.meta.endpoint_url == "http://localhost:4567"

    bound = TaskClients(host="127.0.0.1").client_for("eu-west-1", "sns")
    assert bound.meta.endpoint_url == "http://127.0.0.1:4567"

    clients.credentials = Credentials("AKIDSTATEMACHINE", "secret")
    signed = clients.client_for("eu-west-1", "sns")
    assert signed is not moved
    assert signed._request_signer._credentials.access_key == "AKIDSTATEMACHINE"
    assert clients.stats() == {"clients": 5, "created": 5, "reused": 2}
    clients.clear()
    assert clients.stats() == {"clients": 0, "created": 0, "reused": 0}


def test_resolve_maps_state_credentials() -> None:
    seen = []

    def resolve(state_credentials: object) -> Credentials:
        seen.append(state_credentials)
        return Credentials("AKIDROLE", "s")

    clients = TaskClients(resolve=resolve)
    client = clients.client_for("us-east-1", "sqs", "role-marker")
    assert seen == ["role-marker"]
    assert client._request_signer._credentials.access_key == "AKIDROLE"


def test_threads_share_one_client() -> None:
    clients = TaskClients()
    barrier = threading.Barrier(8)
    got = []

    def take() -> None:
        barrier.wait()
        got.append(clients.client_for("us-east-1", "s3"))

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(client) for client in got}) == 1
    assert clients.created == 1


def test_executions_reuse_the_client_in_process() -> None:
    """Under mock_aws (the in-process stubber) a task's client has no endpoint and is built once."""
    clients = TaskClients()
    patch_set = PatchSet(sfn_clients.patches(clients))
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        patch_set.apply()
        try:
            sns = boto3.client("sns", region_name="us-east-1")
            sfn = boto3.client("stepfunctions", region_name="us-east-1")
            iam = boto3.client("iam", region_name="us-east-1")
            topic = sns.create_topic(Name="alerts")["TopicArn"]
            role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            definition = {
                "StartAt": "Publish",
                "States": {
                    "Publish": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sns:publish",
                        "Parameters": {"TopicArn": topic, "Message.$": "$.text"},
                        "End": True,
                    }
                },
            }
            machine = sfn.create_state_machine(
                name="publish", definition=json.dumps(definition), roleArn=role
            )["stateMachineArn"]
            arns = [
                sfn.start_execution(stateMachineArn=machine, name=f"run-{n}", input='{"text": "hi"}')[
                    "executionArn"
                ]
                for n in range(3)
            ]
            deadline = time.monotonic() + 30
            statuses = []
            for arn in arns:
                while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                statuses.append(status)
            assert statuses == ["SUCCEEDED"] * 3
            assert clients.created == 1 and clients.reused == 2
            client = next(iter(clients._cache.values()))
            assert client.meta.service_model.service_name == "sns"
            assert "amazonaws.com" in client.meta.endpoint_url  # the stubber, not a server port
        finally:
            patch_set.restore()
            clients.clear()


def _run(sfn, machine: str, name: str, payload: str) -> tuple[str, list[str], object]:
    """Status, the history's event types (sorted: Map iterations interleave) and the output."""
    arn = sfn.start_execution(stateMachineArn=machine, name=name, input=payload)["executionArn"]
    deadline = time.monotonic() + 30
    while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=arn)["events"]
    output = json.loads(sfn.describe_execution(executionArn=arn).get("output") or "null")
    return status, sorted(event["type"] for event in events), output


def test_parse_caches_keep_executions_as_they_were() -> None:
    """Same histories with the caches; the definition is parsed once, JSONPaths once per string."""
    definition = {
        "StartAt": "Items",
        "States": {
            "Items": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Pick",
                    "States": {
                        "Pick": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}],
                            "Default": "Small",
                        },
                        "Big": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "End": True},
                        "Small": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "End": True},
                    },
                },
                "ResultPath": "$.sizes",
                "End": True,
            }
        },
    }
    payload = json.dumps({"items": [{"n": 1}, {"n": 2}, {"n": 3}]})
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="sfn", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        machine = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=role)[
            "stateMachineArn"
        ]
        plain = _run(sfn, machine, "plain", payload)
        caches = sfn_clients.parse_cache_patches()
        patch_set = PatchSet(caches)
        assert patch_set.check_signatures() == []
        patch_set.apply()
        try:
            assert sfn_clients.parse_caches_applied()
            trees = caches[2].replacement.__func__.__self__  # one per process: count from here
            parsed_before, reused_before = trees.parsed, trees.reused
            cached = [_run(sfn, machine, f"cached-{n}", payload) for n in range(3)]
            json_path_parse = caches[0].replacement
        finally:
            patch_set.restore()
        assert not sfn_clients.parse_caches_applied()
    assert plain[0] == "SUCCEEDED"
    assert plain[2]["sizes"] == [{"n": 1}, {"n": 2, "size": "big"}, {"n": 3, "size": "big"}]
    assert cached == [plain] * 3
    assert trees.parsed - parsed_before <= 1 and trees.reused - reused_before >= 2  # at most once
    assert json_path_parse.cache_info().hits > 0


def test_a_definition_with_errors_raises_every_time() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

    patch_set = PatchSet(sfn_clients.parse_cache_patches())
    patch_set.apply()
    try:
        for _ in range(2):
            with pytest.raises(ASLParserException):
                AmazonStateLanguageParser.parse('{"StartAt": ')
    finally:
        patch_set.restore()


# Classes of moto's interpreter whose objects are made for one evaluation (a Map run, its job pool
# and workers, a Parallel state's workers): they may change their own state. Every other class in
# the component tree is built once by the preprocessor and must only be read while it evaluates.
PER_EVALUATION = {
    "Counter",
    "MapRunRecord",
    "MapRunRecordPoolManager",
    "IterationWorker",
    "JobPool",
    "BranchWorker",
    "BranchWorkerPool",
}
_MUTATORS = {"append", "extend", "update", "add", "pop", "clear", "remove", "insert", "setdefault", "discard"}


def _self_attribute(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            return node.attr
        node = node.value
    return None


def test_the_interpreters_components_keep_no_state_of_an_evaluation() -> None:
    """Why one parsed program may serve every execution of a definition (``DefinitionTrees``).

    Scans moto's component classes: outside ``__init__`` and ``from_state_props`` (its construction)
    a component may not assign, subscript-assign or mutate an attribute of ``self``, except the
    per-evaluation classes above and ``EvalComponent.heap_key`` (a lazily drawn id, the same for
    every evaluation). A moto upgrade that
    adds state to a component fails here, before executions could share it.
    """
    import moto.stepfunctions.parser.asl.component as component_package

    root = Path(component_package.__path__[0])
    found = []
    for source in sorted(root.rglob("*.py")):
        tree = ast.parse(source.read_text())
        for cls in (node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)):
            if cls.name in PER_EVALUATION:
                continue
            for method in (node for node in cls.body if isinstance(node, ast.FunctionDef)):
                if method.name in ("__init__", "from_state_props"):  # construction, by the preprocessor
                    continue
                for node in ast.walk(method):
                    targets = (
                        node.targets
                        if isinstance(node, ast.Assign)
                        else [node.target]
                        if isinstance(node, ast.AugAssign | ast.AnnAssign)
                        else []
                    )
                    changed = [_self_attribute(target) for target in targets]
                    if (
                        isinstance(node, ast.Call)
                        and isinstance(node.func, ast.Attribute)
                        and node.func.attr in _MUTATORS
                    ):
                        changed.append(_self_attribute(node.func.value))
                    found += [f"{cls.name}.{method.name}: self.{name}" for name in changed if name]
    assert found == ["EvalComponent.heap_key: self.__heap_key"]
