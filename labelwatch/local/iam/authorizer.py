"""The authorizer: every call a deployed principal makes, judged by the template's policies.

Built from a provisioned stack (:class:`~labelwatch.local.provision.Provisioned`): each
``AWS::IAM::Role`` becomes a principal with deterministic credentials and the identity policies
attached to it in the template; queue, topic, bucket and key policies, Lambda permissions and trust
policies become resource-based policies; the template's encryption settings say which calls also
need a customer-managed KMS key, judged by its key policy.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from labelwatch.local import s3_encryption
from labelwatch.local.iam.evaluate import Decision, Policy, Principal, compile_policy, evaluate
from labelwatch.local.iam.requests import Access, ApiCall
from labelwatch.local.provision import ACCOUNT_ID, Provisioned, ResolvedResource

log = logging.getLogger(__name__)

ADMIN_ACCESS_KEYS = ("testing",)

# (bucket, key, version id or None) -> (algorithm, KMS key id, bucket key enabled) of the stored version
ObjectEncryption = Callable[[str, str, str | None], tuple[str, str | None, bool] | None]

# AWS managed policies CDK attaches, as AWS publishes them (only the statements that matter here).
MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    },
    "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                "Resource": "*",
            }
        ],
    },
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
                "Resource": "*",
            }
        ],
    },
    "arn:aws:iam::aws:policy/CloudWatchLambdaInsightsExecutionRolePolicy": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": "*"},
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda-insights:*",
            },
        ],
    },
}

# KMS keys AWS manages for a service: their key policies allow every principal of the account that
# may use the service, so the twin requires nothing for them.
AWS_MANAGED_KEY_ALIASES = ("alias/aws/",)


def _default_key_policy(account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


class AssumeRoleRefused(PermissionError):
    """An AWS service may not assume a role for the resource that uses it: its trust policy (with
    the ``aws:SourceArn``/``aws:SourceAccount`` the service sends) does not allow it."""


@dataclass(frozen=True)
class Denial:
    """One call AWS would refuse (``enforced`` False when the authorizer is permissive)."""

    principal: str
    action: str
    resource: str
    reason: str
    message: str
    operation: str = ""
    kms: bool = False
    enforced: bool = True


@dataclass
class Verdict:
    """The outcome of one API call: allowed, or the decision that refused it."""

    allowed: bool
    call: ApiCall | None
    decision: Decision | None = None  # the refusing decision (or None when allowed)
    kms: bool = False  # refused because of a KMS key (services answer KMSAccessDenied)
    would_deny: bool = False  # permissive mode: AWS would have refused
    access_index: int = 0  # which of the call's accesses was refused (0: the call's own action)


@dataclass
class _Role:
    arn: str
    name: str
    logical_id: str
    policies: list[Policy] = field(default_factory=list)
    trust: Policy | None = None
    session_name: str = "labelwatch-local"


class Authorizer:
    """Judge calls as AWS would, from the provisioned template's policies.

    ``admin_keys`` are access keys of the account's administrator (the CLI, uploader and tests):
    identity policies allow it everything, resource-based explicit denies still apply. ``permissive``
    evaluates and records would-be denials but allows every call. ``unknown_keys``: "admin" treats
    an access key nobody registered as the administrator (listed in ``unknown_access_keys``),
    "deny" refuses its calls.
    """

    def __init__(
        self,
        provisioned: Provisioned | Mapping[str, ResolvedResource],
        *,
        region: str = "us-east-1",
        account: str = ACCOUNT_ID,
        admin_keys: Iterable[str] = ADMIN_ACCESS_KEYS,
        permissive: bool = False,
        unknown_keys: str = "admin",
        managed_policies: Mapping[str, Mapping[str, Any]] | None = None,
        object_encryption: ObjectEncryption | None = None,
    ) -> None:
        resources = provisioned.resources if isinstance(provisioned, Provisioned) else dict(provisioned)
        self.region = region
        self.account = account
        self.permissive = permissive
        self.unknown_keys = unknown_keys
        self.admin_keys = set(admin_keys)
        self.managed_policies = {**MANAGED_POLICIES, **(managed_policies or {})}
        self.warnings: list[str] = []
        self.denials: list[Denial] = []
        self.unknown_access_keys: Counter[str] = Counter()
        self.unclassified: Counter[str] = Counter()
        self.checks = 0
        self.check_seconds = 0.0
        self._lock = threading.Lock()
        self._root = Principal.root(account)
        self._keys: dict[str, tuple[Principal, bool]] = {}  # access key id -> (principal, admin)
        self._secrets: dict[str, str] = {}
        self._base_context: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, _Role] = {}  # role ARN -> role
        self.resource_policies: dict[str, Policy] = {}  # resource ARN -> policy
        self.key_policies: dict[str, Policy] = {}  # key ARN -> key policy
        self.key_aliases: dict[str, str] = {}  # alias name / key id -> key ARN
        self.encryption: dict[str, tuple[str, bool]] = {}  # topic/queue/bucket ARN -> (key ARN, bucket key)
        # role ARN -> (service principal, ARN of the resource it assumes the role for)
        self.assumed_by: dict[str, list[tuple[str, str]]] = {}
        # (bucket, key, version id) -> how S3 stored that object version, read from moto by default
        self.object_encryption: ObjectEncryption = object_encryption or functools.partial(
            s3_encryption.stored_encryption, account
        )
        self._build(resources)
        for key in self.admin_keys:
            self._keys[key] = (self._root, True)

    # --- principals ----------------------------------------------------------------------------
    def role_arn(self, logical_id_or_name: str) -> str:
        """A role's ARN by its logical id, its name, or a prefix of either."""
        for role in self.roles.values():
            if logical_id_or_name in (role.logical_id, role.name, role.arn):
                return role.arn
        matches = [r.arn for r in self.roles.values() if r.logical_id.startswith(logical_id_or_name)] or [
            r.arn for r in self.roles.values() if r.name.startswith(logical_id_or_name)
        ]
        if len(matches) == 1:
            return matches[0]
        raise KeyError(f"no single role matches {logical_id_or_name!r}: {sorted(self.roles)}")

    def credentials_for(self, role_arn: str, session_name: str | None = None) -> tuple[str, str]:
        """Deterministic (access key id, secret) of a session of ``role_arn`` (as Lambda, Step
        Functions or Pipes would get from assuming the role). The default session name is the
        function's name for a Lambda role."""
        role = self.roles.get(role_arn)
        if role is None:
            raise KeyError(f"the template has no role {role_arn}")
        refused = self.assume_role_refusal(role_arn)
        if refused is not None and not self.permissive:
            raise AssumeRoleRefused(refused.message)
        session = session_name or role.session_name
        digest = hashlib.sha256(f"{role_arn}|{session}".encode()).digest()
        access_key_id = "ASIA" + base64.b32encode(digest[:10]).decode()[:16]
        secret = base64.b64encode(hashlib.sha256(b"secret|" + digest).digest()).decode()[:40]
        self._keys[access_key_id] = (Principal.session(role_arn, session), False)
        self._secrets[access_key_id] = secret
        return access_key_id, secret

    def assume_role_refusal(self, role_arn: str) -> Decision | None:
        """Whether each service that assumes ``role_arn`` for a resource of the template (a Pipe) may,
        by the role's trust policy with the ``aws:SourceArn`` and ``aws:SourceAccount`` the service
        sends; the refusing decision (recorded), or None."""
        for service, source_arn in self.assumed_by.get(role_arn, ()):
            context = {"aws:sourcearn": source_arn, "aws:sourceaccount": self.account}
            decision = self.check(Principal.service(service), "sts:AssumeRole", role_arn, context)
            if not decision.allowed:
                self._record(decision, operation=f"AssumeRole for {source_arn}", kms=False)
                return decision
        return None

    def alias(self, access_key_id: str, role_arn: str, session_name: str | None = None) -> None:
        """Let another access key (e.g. the ``ak`` moto's Step Functions interpreter signs with) act
        as a session of ``role_arn``."""
        role = self.roles.get(role_arn)
        if role is None:
            raise KeyError(f"the template has no role {role_arn}")
        self._keys[access_key_id] = (Principal.session(role_arn, session_name or role.session_name), False)

    def principal_for(self, access_key_id: str | None) -> tuple[Principal | None, bool]:
        """(principal, is administrator) of an access key; (None, False) for an unknown key when
        ``unknown_keys="deny"``."""
        if access_key_id is None:
            return Principal(arn="anonymous", account="", kind="anonymous"), False
        known = self._keys.get(access_key_id)
        if known is not None:
            return known
        self.unknown_access_keys[access_key_id] += 1
        if self.unknown_keys == "admin":
            return self._root, True
        return None, False

    # --- checks --------------------------------------------------------------------------------
    def check(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, Any] | None = None,
        *,
        admin: bool = False,
    ) -> Decision:
        """One action on one resource, with the principal's identity policies and the resource's
        policy (the key policy when ``resource`` is a KMS key)."""
        started = time.perf_counter()
        full = self._context(principal, context)
        identity = self._identity_policies(principal)
        key_arn = resource if resource.startswith("arn:aws:kms:") and ":key/" in resource else None
        if key_arn:
            policy = self.key_policies.get(key_arn)
            if policy is None:  # a key created outside the template: the default key policy
                policy = compile_policy(
                    _default_key_policy(self.account), name=f"key policy of {key_arn}", kind="resource"
                )
                self.key_policies[key_arn] = policy
        else:
            policy = self.resource_policy(resource)
        decision = evaluate(
            principal,
            action,
            resource,
            full,
            identity,
            policy,
            identity_allows_all=admin,
            key_policy=key_arn is not None,
        )
        self.checks += 1
        self.check_seconds += time.perf_counter() - started
        return decision

    def authorize(self, call: ApiCall) -> Verdict:
        """Every authorization ``call`` needs: its own actions, then the KMS actions the template's
        encryption adds. The first refusal decides."""
        principal, admin = self.principal_for(call.access_key_id)
        if principal is None:
            decision = Decision(
                False,
                Principal(arn=f"access key {call.access_key_id}", account="", kind="anonymous"),
                call.accesses[0].action if call.accesses else call.operation,
                call.accesses[0].resource if call.accesses else "*",
                "because the security token included in the request is invalid",
                kind="unknown-access-key",
            )
            return self._refuse(call, decision, kms=False)
        for index, access in enumerate(call.accesses):
            decision = self.check(principal, access.action, access.resource, access.context, admin=admin)
            if not decision.allowed:
                return self._refuse(call, decision, kms=False, index=index)
        for access in self.kms_requirements(call.accesses, operation=call.operation):
            decision = self.check(principal, access.action, access.resource, access.context, admin=admin)
            if not decision.allowed:
                return self._refuse(call, decision, kms=True)
        return Verdict(True, call)

    def check_service_delivery(
        self,
        service_principal: str,
        source_arn: str,
        action: str,
        resource_arn: str,
        *,
        source_account: str | None = None,
    ) -> Decision:
        """A delivery an AWS service makes on its own (an EventBridge rule sending to its SQS
        target, an alarm publishing to a topic), judged by the resource's policy with
        ``aws:SourceArn``/``aws:SourceAccount``, then by the key policy of a customer-managed key
        that encrypts the resource."""
        principal = Principal.service(service_principal)
        context = {"aws:sourcearn": source_arn, "aws:sourceaccount": source_account or self.account}
        if (
            resource_arn.startswith("arn:aws:events:")
            and ":event-bus/" in resource_arn
            and resource_arn not in self.resource_policies
        ):
            # AWS services deliver to the account's event buses without a resource policy
            return Decision(True, principal, action, resource_arn, "", kind="service-event")
        decision = self.check(principal, action, resource_arn, context)
        if decision.allowed:
            for need in self.kms_requirements([Access(action, resource_arn)], operation=""):
                decision = self.check(principal, need.action, need.resource, {**context, **need.context})
                if not decision.allowed:
                    break
        if not decision.allowed:
            self._record(decision, operation=f"delivery from {source_arn}", kms=":key/" in decision.resource)
        return decision

    def kms_requirements(self, accesses: Iterable[Access], *, operation: str = "") -> list[Access]:
        """The KMS actions AWS documents for reading or writing a resource the template encrypts
        with a customer-managed key: SNS Publish and SQS SendMessage need GenerateDataKey and
        Decrypt, SQS ReceiveMessage Decrypt, S3 PutObject GenerateDataKey (and Decrypt for a
        multipart upload), S3 GetObject Decrypt (on the key the stored version names, which an
        uploader may choose)."""
        needs: list[Access] = []
        for access in accesses:
            action = access.action.lower()
            if action == "sns:publish":
                wanted, key = ("GenerateDataKey", "Decrypt"), self.encryption.get(access.resource)
                context_key, service = "aws:sns:topicArn", "sns"
                context_value = access.resource
            elif action in ("sqs:sendmessage", "sqs:receivemessage"):
                key = self.encryption.get(access.resource)
                wanted = ("GenerateDataKey", "Decrypt") if action == "sqs:sendmessage" else ("Decrypt",)
                context_key, service, context_value = "aws:sqs:arn", "sqs", access.resource
            elif action.startswith("s3:") and access.resource.startswith("arn:aws:s3:::"):
                bucket_arn = access.resource.split("/", 1)[0]
                key = self._s3_key(bucket_arn, access.context)
                if action == "s3:putobject":
                    multipart = operation in (
                        "CreateMultipartUpload",
                        "UploadPart",
                        "CompleteMultipartUpload",
                    )
                    wanted = ("GenerateDataKey", "Decrypt") if multipart else ("GenerateDataKey",)
                elif action in ("s3:getobject", "s3:getobjectversion") and operation != "HeadObject":
                    wanted, key = ("Decrypt",), self._stored_object_key(access, bucket_arn)
                else:
                    continue
                context_key, service = "aws:s3:arn", "s3"
                context_value = bucket_arn if key and key[1] else access.resource
            else:
                continue
            if not key:
                continue
            context = {
                "kms:viaservice": f"{service}.{self.region}.amazonaws.com",
                "kms:calleraccount": self.account,
                f"kms:encryptioncontext:{context_key.lower()}": context_value,
                "kms:encryptioncontextkeys": [context_key],
            }
            needs.extend(Access(f"kms:{name}", key[0], context) for name in wanted)
        return needs

    def resource_policy(self, resource_arn: str) -> Policy | None:
        """The resource-based policy that governs ``resource_arn`` (a bucket's for its objects, a
        function's for its versions and aliases)."""
        policy = self.resource_policies.get(resource_arn)
        if policy is not None or not resource_arn.startswith("arn:"):
            return policy
        if resource_arn.startswith("arn:aws:s3:::"):
            return self.resource_policies.get(resource_arn.split("/", 1)[0])
        if resource_arn.startswith("arn:aws:lambda:") and resource_arn.count(":") > 6:
            return self.resource_policies.get(":".join(resource_arn.split(":")[:7]))
        return None

    def kms_key_arn(self, key_id: str, region: str | None = None) -> str:
        """KeyId in any form (id, ARN, alias name, alias ARN) -> the key's ARN."""
        if key_id in self.key_aliases:
            return self.key_aliases[key_id]
        if ":alias/" in key_id:
            return self.key_aliases.get("alias/" + key_id.split(":alias/", 1)[1], key_id)
        if key_id.startswith("arn:"):
            return key_id
        return f"arn:aws:kms:{region or self.region}:{self.account}:key/{key_id}"

    def stats(self) -> dict[str, Any]:
        return {
            "checks": self.checks,
            "check_seconds": self.check_seconds,
            "mean_us_per_check": (self.check_seconds / self.checks * 1e6) if self.checks else 0.0,
            "denials": len(self.denials),
            "unclassified": sum(self.unclassified.values()),
            "unknown_access_keys": sum(self.unknown_access_keys.values()),
        }

    # --- internals -----------------------------------------------------------------------------
    def _refuse(self, call: ApiCall, decision: Decision, *, kms: bool, index: int = 0) -> Verdict:
        self._record(decision, operation=call.operation, kms=kms)
        if self.permissive:
            return Verdict(True, call, decision, kms=kms, would_deny=True, access_index=index)
        return Verdict(False, call, decision, kms=kms, access_index=index)

    def _record(self, decision: Decision, *, operation: str, kms: bool) -> None:
        denial = Denial(
            principal=decision.principal.arn,
            action=decision.action,
            resource=decision.resource,
            reason=decision.reason,
            message=decision.message,
            operation=operation,
            kms=kms,
            enforced=not self.permissive,
        )
        with self._lock:
            self.denials.append(denial)
        log.info("IAM %s: %s", "denied" if denial.enforced else "would deny", denial.message)

    def _context(self, principal: Principal, extra: Mapping[str, Any] | None) -> dict[str, Any]:
        base = self._base_context.get(principal.arn)
        if base is None:
            base = {
                "aws:securetransport": "true",  # the loopback endpoint stands for AWS's TLS endpoints
                "aws:requestedregion": self.region,
                "aws:sourceip": "127.0.0.1",
                "aws:viaawsservice": "false",
                **principal.context(),
            }
            self._base_context[principal.arn] = base
        now = time.time()
        context = {
            **base,
            "aws:epochtime": str(int(now)),
            "aws:currenttime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if extra:
            context.update(extra)
            if "kms:viaservice" in extra:
                context["aws:viaawsservice"] = "true"
        return context

    def _identity_policies(self, principal: Principal) -> list[Policy]:
        if principal.role_arn is None:
            return []
        role = self.roles.get(principal.role_arn)
        return role.policies if role else []

    def _s3_key(self, bucket_arn: str, context: Mapping[str, Any]) -> tuple[str, bool] | None:
        algorithm = context.get("s3:x-amz-server-side-encryption")
        if algorithm == "aws:kms" or algorithm == "aws:kms:dsse":
            key_id = context.get("s3:x-amz-server-side-encryption-aws-kms-key-id")
            if not key_id or str(key_id).startswith(AWS_MANAGED_KEY_ALIASES):
                return None
            return self.kms_key_arn(str(key_id)), False
        return self.encryption.get(bucket_arn)

    def _stored_object_key(self, access: Access, bucket_arn: str) -> tuple[str, bool] | None:
        """The customer-managed key the stored version was encrypted with (an uploader may name any
        key), else the bucket default's; None for SSE-S3 and AWS managed keys."""
        bucket, _, name = access.resource[len("arn:aws:s3:::") :].partition("/")
        stored = self.object_encryption(bucket, name, access.context.get("s3:versionid"))
        if stored is None:
            return self.encryption.get(bucket_arn)
        algorithm, key_id, bucket_key = stored
        managed = self._managed_key(key_id) if algorithm in ("aws:kms", "aws:kms:dsse") else None
        return (managed, bucket_key) if managed else None

    def _managed_key(self, key_id: str | None) -> str | None:
        """The ARN of a customer-managed key, or None for no key / an AWS managed key."""
        if not key_id:
            return None
        key_id = str(key_id)
        if key_id.startswith(AWS_MANAGED_KEY_ALIASES) or ":alias/aws/" in key_id:
            return None
        return self.kms_key_arn(key_id)

    def _build(self, resources: Mapping[str, ResolvedResource]) -> None:
        by_type: dict[str, list[ResolvedResource]] = {}
        for resource in resources.values():
            by_type.setdefault(resource.type, []).append(resource)
        queue_arn_by_url = {r.ref: r.arn for r in by_type.get("AWS::SQS::Queue", []) if r.ref and r.arn}
        # KMS keys, their aliases and policies
        for key in by_type.get("AWS::KMS::Key", []):
            if not key.arn:
                continue
            self.key_aliases[key.arn.rsplit("/", 1)[-1]] = key.arn
            document = key.properties.get("KeyPolicy") or _default_key_policy(self.account)
            self.key_policies[key.arn] = compile_policy(
                document, name=f"key policy of {key.logical_id}", kind="resource"
            )
        for alias in by_type.get("AWS::KMS::Alias", []):
            target = alias.properties.get("TargetKeyId")
            name = alias.properties.get("AliasName")
            if target and name:
                self.key_aliases[name] = self.kms_key_arn(str(target))
        # roles and the policies attached to them
        role_by_name: dict[str, _Role] = {}
        function_of_role: dict[str, str] = {}
        for function in by_type.get("AWS::Lambda::Function", []):
            if function.ref and function.properties.get("Role"):
                function_of_role[function.properties["Role"]] = function.ref
        managed_by_ref = {
            r.ref or f"local-{r.logical_id}": r for r in by_type.get("AWS::IAM::ManagedPolicy", [])
        }
        for resource in by_type.get("AWS::IAM::Role", []):
            if not resource.arn:
                continue
            role = _Role(
                arn=resource.arn,
                name=resource.ref or resource.arn.rsplit("/", 1)[-1],
                logical_id=resource.logical_id,
                session_name=function_of_role.get(resource.arn, "labelwatch-local"),
            )
            for inline in resource.properties.get("Policies", []):
                role.policies.append(
                    compile_policy(
                        inline["PolicyDocument"], name=f"{role.name}/{inline.get('PolicyName', '')}"
                    )
                )
            for managed_arn in resource.properties.get("ManagedPolicyArns", []):
                managed_arn = str(managed_arn)
                if managed_arn in managed_by_ref:
                    managed = managed_by_ref[managed_arn]
                    role.policies.append(
                        compile_policy(managed.properties.get("PolicyDocument", {}), name=managed.logical_id)
                    )
                elif managed_arn in self.managed_policies:
                    role.policies.append(
                        compile_policy(
                            self.managed_policies[managed_arn], name=managed_arn.rsplit("/", 1)[-1]
                        )
                    )
                else:
                    self.warnings.append(
                        f"role {resource.logical_id}: unknown AWS managed policy {managed_arn} grants nothing"
                    )
            if resource.properties.get("AssumeRolePolicyDocument"):
                role.trust = compile_policy(
                    resource.properties["AssumeRolePolicyDocument"],
                    name=f"trust policy of {resource.logical_id}",
                    kind="resource",
                )
                self.resource_policies[role.arn] = role.trust
            self.roles[role.arn] = role
            role_by_name[role.name] = role
        for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for resource in by_type.get(policy_type, []):
                compiled = compile_policy(
                    resource.properties.get("PolicyDocument", {}), name=resource.logical_id
                )
                for role_name in resource.properties.get("Roles", []):
                    role = role_by_name.get(str(role_name))
                    if role is None:
                        self.warnings.append(f"{resource.logical_id}: attached to unknown role {role_name}")
                    elif not (
                        policy_type == "AWS::IAM::ManagedPolicy" and _already(role, resource.logical_id)
                    ):
                        role.policies.append(compiled)
        # Pipes and Scheduler assume their role for one pipe or schedule: its ARN as provisioned
        for pipe in by_type.get("AWS::Pipes::Pipe", []):
            role_arn = str(pipe.properties.get("RoleArn", ""))
            self.assumed_by.setdefault(role_arn, []).append(("pipes.amazonaws.com", str(pipe.arn)))
        for schedule in by_type.get("AWS::Scheduler::Schedule", []):
            role_arn = str(schedule.properties.get("Target", {}).get("RoleArn", ""))
            self.assumed_by.setdefault(role_arn, []).append(("scheduler.amazonaws.com", str(schedule.arn)))
        # resource-based policies
        for resource in by_type.get("AWS::SQS::QueuePolicy", []):
            for url in resource.properties.get("Queues", []):
                arn = queue_arn_by_url.get(str(url)) or str(url)
                self._add_resource_policy(arn, resource)
        for resource in by_type.get("AWS::SNS::TopicPolicy", []):
            for topic in resource.properties.get("Topics", []):
                self._add_resource_policy(str(topic), resource)
        for resource in by_type.get("AWS::S3::BucketPolicy", []):
            bucket = str(resource.properties.get("Bucket", ""))
            self._add_resource_policy(f"arn:aws:s3:::{bucket}", resource)
        functions = {r.ref: r.arn for r in by_type.get("AWS::Lambda::Function", []) if r.ref and r.arn}
        for resource in by_type.get("AWS::Lambda::Permission", []):
            self._add_lambda_permission(resource, functions)
        # encryption at rest with customer-managed keys
        for topic in by_type.get("AWS::SNS::Topic", []):
            key = self._managed_key(topic.properties.get("KmsMasterKeyId"))
            if key and topic.arn:
                self.encryption[topic.arn] = (key, False)
        for queue in by_type.get("AWS::SQS::Queue", []):
            key = self._managed_key(queue.properties.get("KmsMasterKeyId"))
            if key and queue.arn:
                self.encryption[queue.arn] = (key, False)
        for bucket in by_type.get("AWS::S3::Bucket", []):
            rules = bucket.properties.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            for rule in rules:
                default = rule.get("ServerSideEncryptionByDefault", {})
                if default.get("SSEAlgorithm") in ("aws:kms", "aws:kms:dsse"):
                    key = self._managed_key(default.get("KMSMasterKeyID"))
                    if key and bucket.arn:
                        self.encryption[bucket.arn] = (key, bool(rule.get("BucketKeyEnabled")))

    def _add_resource_policy(self, arn: str, resource: ResolvedResource) -> None:
        compiled = compile_policy(
            resource.properties.get("PolicyDocument", {}), name=resource.logical_id, kind="resource"
        )
        existing = self.resource_policies.get(arn)
        if existing is not None:  # two policy resources on one queue/topic: the union of statements
            compiled = Policy(
                name=f"{existing.name}+{compiled.name}",
                kind="resource",
                statements=existing.statements + compiled.statements,
            )
        self.resource_policies[arn] = compiled

    def _add_lambda_permission(self, resource: ResolvedResource, functions: Mapping[str, str]) -> None:
        props = resource.properties
        name = str(props.get("FunctionName", ""))
        arn = functions.get(name) or (name if name.startswith("arn:") else None)
        if not arn:
            self.warnings.append(f"{resource.logical_id}: permission for unknown function {name}")
            return
        principal = str(props.get("Principal", ""))
        statement: dict[str, Any] = {
            "Sid": resource.logical_id,
            "Effect": "Allow",
            "Action": props.get("Action", "lambda:InvokeFunction"),
            "Resource": [arn, f"{arn}:*"],
            "Principal": {"Service": principal}
            if principal.endswith(".amazonaws.com")
            else {"AWS": principal},
        }
        conditions: dict[str, dict[str, Any]] = {}
        if props.get("SourceArn"):
            conditions.setdefault("ArnLike", {})["aws:SourceArn"] = props["SourceArn"]
        if props.get("SourceAccount"):
            conditions.setdefault("StringEquals", {})["aws:SourceAccount"] = props["SourceAccount"]
        if props.get("PrincipalOrgID"):
            conditions.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = props["PrincipalOrgID"]
        if conditions:
            statement["Condition"] = conditions
        base = ":".join(arn.split(":")[:7])
        self._add_resource_policy(
            base,
            replace(
                resource, properties={"PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}
            ),
        )


def _already(role: _Role, name: str) -> bool:
    return any(policy.name == name for policy in role.policies)
