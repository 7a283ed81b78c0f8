"""Create the synthesized template's resources in the embedded AWS (moto).

moto's own CloudFormation skips the Pipe, puts the state machine into the non-executing
backend and cannot run CDK's custom resources, so the template is walked here instead: each
supported resource type is created through the ordinary AWS APIs, in dependency order, with
intrinsic functions resolved to the created resources. Resources with no local meaning
(alarms, dashboards, Glue/Athena, policies) are listed in ``skipped``.

After provisioning, ``Provisioned.resources`` holds every template resource, created or skipped,
with its Properties resolved against the created ones (the IAM authorizer reads the policies there).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labelwatch.cloudformation import Resolver, Unresolved

ACCOUNT_ID = "123456789012"


@dataclass
class PipeSpec:
    """What the local Pipe runner needs from an ``AWS::Pipes::Pipe``."""

    logical_id: str
    source_queue_arn: str
    target_state_machine_arn: str
    batch_size: int
    batching_window_seconds: int
    invocation_type: str
    role_arn: str = ""
    name: str = ""


@dataclass
class ScheduleSpec:
    """What the local scheduler needs from an ``AWS::Scheduler::Schedule`` (a Lambda target)."""

    logical_id: str
    name: str
    arn: str
    expression: str  # rate(N minute[s]|hour[s])
    target_arn: str
    role_arn: str
    input: str
    state: str = "ENABLED"


@dataclass
class FunctionUrlSpec:
    """An ``AWS::Lambda::Url``: served by the twin at ``url`` (``<endpoint>/lambda-url/<name>/``)."""

    logical_id: str
    function_arn: str
    function_name: str
    auth_type: str
    url: str


@dataclass
class PermissionSpec:
    """An ``AWS::Lambda::Permission``: one statement of a function's resource policy."""

    function_arn: str
    action: str
    principal: str
    function_url_auth_type: str | None = None
    invoked_via_function_url: bool = False


@dataclass
class ResolvedResource:
    """One template resource with its intrinsic functions resolved (``created`` False when skipped)."""

    logical_id: str
    type: str
    properties: dict[str, Any]
    ref: str | None  # what Ref returns: physical name, URL or ARN (None for a skipped resource)
    arn: str | None
    created: bool


@dataclass
class Provisioned:
    resolver: Resolver
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> physical name/url/arn
    types: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    pipes: list[PipeSpec] = field(default_factory=list)
    schedules: list[ScheduleSpec] = field(default_factory=list)
    function_urls: list[FunctionUrlSpec] = field(default_factory=list)
    permissions: list[PermissionSpec] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    resources: dict[str, ResolvedResource] = field(default_factory=dict)  # every template resource

    def of_type(self, resource_type: str) -> dict[str, str]:
        return {
            lid: self.physical[lid]
            for lid, t in self.types.items()
            if t == resource_type and lid in self.physical
        }


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "labelwatch runs this function in-process from functions/\n")
    return buffer.getvalue()


def _generated_secret_string(spec: dict[str, Any]) -> str:
    """What CloudFormation's ``GenerateSecretString`` makes: a random password of its character
    classes, alone or under ``GenerateStringKey`` in the ``SecretStringTemplate`` JSON object
    (``RequireEachIncludedType`` is not enforced)."""
    import secrets
    import string

    alphabet = ""
    for chars, excluded in (
        (string.ascii_uppercase, "ExcludeUppercase"),
        (string.ascii_lowercase, "ExcludeLowercase"),
        (string.digits, "ExcludeNumbers"),
        (string.punctuation, "ExcludePunctuation"),  # Secrets Manager's: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
    ):
        if not spec.get(excluded):
            alphabet += chars
    if spec.get("IncludeSpace"):
        alphabet += " "
    alphabet = "".join(c for c in alphabet if c not in spec.get("ExcludeCharacters", ""))
    password = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "GenerateStringKey" not in spec:
        return password
    value = json.loads(spec.get("SecretStringTemplate", "{}"))
    value[spec["GenerateStringKey"]] = password
    return json.dumps(value)


def _physical_name(stack_name: str, logical_id: str, *, max_length: int, lower: bool = False) -> str:
    name = f"{stack_name}-{re.sub(r'[0-9A-F]{8}$', '', logical_id)}"
    name = name.lower() if lower else name
    return re.sub(r"[^A-Za-z0-9-]", "-", name)[:max_length].rstrip("-")


FUNCTION_URL_PATH = "/lambda-url/"  # the twin serves <endpoint>/lambda-url/<function name>/...


class Provisioner:
    def __init__(
        self,
        client: Callable[[str], Any],
        *,
        region: str,
        stack_name: str,
        endpoint: str = "http://127.0.0.1",
    ) -> None:
        self.client = client
        self.region = region
        self.stack_name = stack_name
        self.endpoint = endpoint  # where function URLs are served

    def provision(self, template: dict[str, Any]) -> Provisioned:
        resolver = Resolver(
            pseudo={
                "AWS::Region": self.region,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackName": self.stack_name,
                "AWS::StackId": (
                    f"arn:aws:cloudformation:{self.region}:{ACCOUNT_ID}:stack/{self.stack_name}/local"
                ),
                "AWS::NoValue": None,
            }
        )
        state = Provisioned(resolver=resolver)
        pending = dict(template.get("Resources", {}))
        state.types = {lid: res["Type"] for lid, res in pending.items()}
        while pending:
            progressed = False
            for logical_id, resource in list(pending.items()):
                creator = getattr(self, "_" + resource["Type"].replace("::", "_").replace("-", "_"), None)
                if creator is None:
                    state.skipped[logical_id] = resource["Type"]
                    resolver.placeholders.add(logical_id)
                    del pending[logical_id]
                    progressed = True
                    continue
                try:
                    props = resolver.resolve(resource.get("Properties", {}))
                except Unresolved:
                    continue
                creator(logical_id, props, state)
                del pending[logical_id]
                progressed = True
            if not progressed:
                raise RuntimeError(f"cannot resolve references of: {sorted(pending)}")
        for name, output in template.get("Outputs", {}).items():
            state.outputs[name] = resolver.resolve(output["Value"])
        state.resources = self.resolved_resources(template, state)
        return state

    def resolved_resources(self, template: dict[str, Any], state: Provisioned) -> dict[str, ResolvedResource]:
        """Every resource of ``template`` with resolved Properties, once ``state`` is provisioned.

        Properties that still cannot be resolved (a reference to nothing) are kept as written.
        """
        resources = {}
        for logical_id, resource in template.get("Resources", {}).items():
            raw = resource.get("Properties", {})
            try:
                properties = state.resolver.resolve(raw)
            except Unresolved:
                properties = raw
            created = logical_id in state.physical
            arn = state.resolver.attrs.get((logical_id, "Arn"))
            if arn is None and resource["Type"] == "AWS::SNS::Topic" and created:
                arn = state.physical[logical_id]
            if arn is None and resource["Type"] == "AWS::KMS::Alias" and isinstance(properties, dict):
                arn = f"arn:aws:kms:{self.region}:{ACCOUNT_ID}:{properties.get('AliasName', '')}"
            resources[logical_id] = ResolvedResource(
                logical_id=logical_id,
                type=resource["Type"],
                properties=properties if isinstance(properties, dict) else {},
                ref=state.physical.get(logical_id),
                arn=arn,
                created=created,
            )
        return resources

    # --- one method per resource type: AWS_<Service>_<Type> ---------------------------------

    def _AWS_S3_Bucket(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("BucketName") or _physical_name(self.stack_name, lid, max_length=63, lower=True)
        s3 = self.client("s3")
        kwargs = (
            {}
            if self.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        )
        s3.create_bucket(Bucket=name, **kwargs)
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if props.get("NotificationConfiguration", {}).get("EventBridgeConfiguration") is not None:
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        self._register(
            state,
            lid,
            name,
            Arn=f"arn:aws:s3:::{name}",
            DomainName=f"{name}.s3.amazonaws.com",
            RegionalDomainName=f"{name}.s3.{self.region}.amazonaws.com",
        )

    def _Custom_S3BucketNotifications(self, lid: str, props: dict, state: Provisioned) -> None:
        config = props.get("NotificationConfiguration", {})
        if "EventBridgeConfiguration" in config:
            self.client("s3").put_bucket_notification_configuration(
                Bucket=props["BucketName"], NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        self._register(state, lid, props["BucketName"])

    def _AWS_SQS_Queue(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("QueueName") or _physical_name(self.stack_name, lid, max_length=80)
        attributes = {
            key: (json.dumps(value) if isinstance(value, dict) else str(value))
            for key, value in props.items()
            if key
            in (
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "RedrivePolicy",
                "DelaySeconds",
                "ReceiveMessageWaitTimeSeconds",
                "MaximumMessageSize",
            )
        }
        self.client("sqs").create_queue(QueueName=name, Attributes=attributes)
        # Ref is the queue's URL as CloudFormation gives it on AWS, not moto's (which carries the
        # twin's port: every deploy had a new state machine definition, parsed again, ~0.3 s). SQS
        # calls name the queue by the URL's path, so the twin serves it as it is.
        url = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{name}"
        arn = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"
        self._register(state, lid, url, Arn=arn, QueueName=name, QueueUrl=url)

    def _AWS_DynamoDB_Table(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("TableName") or _physical_name(self.stack_name, lid, max_length=255)
        dynamodb = self.client("dynamodb")
        indexes = {}
        if props.get("GlobalSecondaryIndexes"):
            indexes["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index["IndexName"],
                    "KeySchema": index["KeySchema"],
                    "Projection": index["Projection"],
                }
                for index in props["GlobalSecondaryIndexes"]
            ]
        dynamodb.create_table(
            TableName=name,
            KeySchema=props["KeySchema"],
            AttributeDefinitions=props["AttributeDefinitions"],
            BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            **indexes,
        )
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        arn = f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}"
        self._register(state, lid, name, Arn=arn)

    def _AWS_KMS_Key(self, lid: str, props: dict, state: Provisioned) -> None:
        key = self.client("kms").create_key(Description=props.get("Description", lid))["KeyMetadata"]
        self._register(state, lid, key["KeyId"], Arn=key["Arn"], KeyId=key["KeyId"])

    def _AWS_SNS_Topic(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("TopicName") or _physical_name(self.stack_name, lid, max_length=256)
        arn = self.client("sns").create_topic(Name=name)["TopicArn"]
        self._register(state, lid, arn, TopicArn=arn, TopicName=name)

    def _AWS_SNS_Subscription(self, lid: str, props: dict, state: Provisioned) -> None:
        attributes = {}
        if "FilterPolicy" in props:
            attributes["FilterPolicy"] = json.dumps(props["FilterPolicy"])
        arn = self.client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        self._register(state, lid, arn)

    def _AWS_IAM_Role(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("RoleName") or _physical_name(self.stack_name, lid, max_length=64)
        role = self.client("iam").create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"])
        )["Role"]
        self._register(state, lid, name, Arn=role["Arn"], RoleId=role["RoleId"])

    def _AWS_Logs_LogGroup(self, lid: str, props: dict, state: Provisioned) -> None:
        name = (
            props.get("LogGroupName") or f"/labelwatch/{_physical_name(self.stack_name, lid, max_length=200)}"
        )
        self.client("logs").create_log_group(logGroupName=name)
        self._register(state, lid, name, Arn=f"arn:aws:logs:{self.region}:{ACCOUNT_ID}:log-group:{name}:*")

    def _AWS_Lambda_Function(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("FunctionName") or _physical_name(self.stack_name, lid, max_length=64)
        variables = dict(props.get("Environment", {}).get("Variables", {}))
        if "EXECUTION_LINK_TEMPLATE" in variables:  # no console here: the twin's trace page instead
            from labelwatch.local.trace_pages import trace_link_template

            variables["EXECUTION_LINK_TEMPLATE"] = trace_link_template(self.endpoint)
        function = self.client("lambda").create_function(
            FunctionName=name,
            Runtime=props["Runtime"],
            Role=props["Role"],
            Handler=props["Handler"],
            Code={"ZipFile": _dummy_zip()},
            Timeout=props.get("Timeout", 3),
            MemorySize=props.get("MemorySize", 128),
            Environment={"Variables": variables},
            Architectures=props.get("Architectures", ["x86_64"]),
        )
        if props.get("ReservedConcurrentExecutions") is not None:
            self.client("lambda").put_function_concurrency(
                FunctionName=name, ReservedConcurrentExecutions=int(props["ReservedConcurrentExecutions"])
            )
        self._register(state, lid, name, Arn=function["FunctionArn"])

    def _AWS_Lambda_Url(self, lid: str, props: dict, state: Provisioned) -> None:
        arn = props["TargetFunctionArn"]
        name = arn.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in arn else arn
        url = f"{self.endpoint}{FUNCTION_URL_PATH}{name}/"
        state.function_urls.append(
            FunctionUrlSpec(
                logical_id=lid,
                function_arn=arn,
                function_name=name,
                auth_type=props.get("AuthType", "AWS_IAM"),
                url=url,
            )
        )
        self._register(state, lid, arn, FunctionArn=arn, FunctionUrl=url)

    def _AWS_Lambda_Permission(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props["FunctionName"]
        arn = name
        if not name.startswith("arn:"):
            arn = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}"
        state.permissions.append(
            PermissionSpec(
                function_arn=arn,
                action=props["Action"],
                principal=props["Principal"],
                function_url_auth_type=props.get("FunctionUrlAuthType"),
                invoked_via_function_url=str(props.get("InvokedViaFunctionUrl", "")).lower() == "true",
            )
        )
        self._register(state, lid, lid)

    def _AWS_SecretsManager_Secret(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("Name") or _physical_name(self.stack_name, lid, max_length=256)
        value = props.get("SecretString")
        if value is None:
            value = _generated_secret_string(props.get("GenerateSecretString", {}))
        kwargs = {"KmsKeyId": props["KmsKeyId"]} if props.get("KmsKeyId") else {}
        arn = self.client("secretsmanager").create_secret(
            Name=name, Description=props.get("Description", ""), SecretString=value, **kwargs
        )["ARN"]
        self._register(state, lid, arn, Id=arn)

    def _AWS_StepFunctions_StateMachine(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("StateMachineName") or _physical_name(self.stack_name, lid, max_length=80)
        definition = props["DefinitionString"]
        arn = self.client("stepfunctions").create_state_machine(
            name=name,
            definition=definition if isinstance(definition, str) else json.dumps(definition),
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
        )["stateMachineArn"]
        self._register(state, lid, arn, Arn=arn, Name=name)

    def _AWS_Events_Rule(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("Name") or _physical_name(self.stack_name, lid, max_length=64)
        events = self.client("events")
        arn = events.put_rule(
            Name=name, EventPattern=json.dumps(props["EventPattern"]), State=props.get("State", "ENABLED")
        )["RuleArn"]
        targets = []
        for target in props.get("Targets", []):
            entry = {"Id": target["Id"], "Arn": target["Arn"]}
            if "DeadLetterConfig" in target:
                entry["DeadLetterConfig"] = target["DeadLetterConfig"]
            if "RetryPolicy" in target:
                entry["RetryPolicy"] = target["RetryPolicy"]
            targets.append(entry)
        if targets:
            events.put_targets(Rule=name, Targets=targets)
        self._register(state, lid, name, Arn=arn)

    def _AWS_Pipes_Pipe(self, lid: str, props: dict, state: Provisioned) -> None:
        source = props.get("SourceParameters", {}).get("SqsQueueParameters", {})
        target = props.get("TargetParameters", {}).get("StepFunctionStateMachineParameters", {})
        name = props.get("Name") or _physical_name(self.stack_name, lid, max_length=64)
        desired = props.get("DesiredState", "RUNNING")
        # in moto's Pipes, so DescribePipe/StartPipe/StopPipe work; the local Pipe honours its state
        arn = self.client("pipes").create_pipe(
            Name=name,
            Source=props["Source"],
            Target=props["Target"],
            RoleArn=props.get("RoleArn", ""),
            DesiredState=desired,
        )["Arn"]
        state.pipes.append(
            PipeSpec(
                logical_id=lid,
                source_queue_arn=props["Source"],
                target_state_machine_arn=props["Target"],
                batch_size=int(source.get("BatchSize", 10)),
                batching_window_seconds=int(source.get("MaximumBatchingWindowInSeconds", 0)),
                invocation_type=target.get("InvocationType", "FIRE_AND_FORGET"),
                role_arn=props.get("RoleArn", ""),
                name=name,
            )
        )
        self._register(state, lid, name, Arn=arn)

    def _AWS_Scheduler_Schedule(self, lid: str, props: dict, state: Provisioned) -> None:
        name = props.get("Name") or _physical_name(self.stack_name, lid, max_length=64)
        group = props.get("GroupName") or "default"
        arn = f"arn:aws:scheduler:{self.region}:{ACCOUNT_ID}:schedule/{group}/{name}"
        target = props["Target"]
        state.schedules.append(
            ScheduleSpec(
                logical_id=lid,
                name=name,
                arn=arn,
                expression=props["ScheduleExpression"],
                target_arn=target["Arn"],
                role_arn=target.get("RoleArn", ""),
                input=target.get("Input", ""),
                state=props.get("State", "ENABLED"),
            )
        )
        self._register(state, lid, name, Arn=arn)

    @staticmethod
    def _register(state: Provisioned, lid: str, ref: str, **attrs: str) -> None:
        state.physical[lid] = ref
        state.resolver.refs[lid] = ref
        for attribute, value in attrs.items():
            state.resolver.attrs[(lid, attribute)] = value
