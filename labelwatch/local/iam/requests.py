"""Classify an HTTP request to the embedded AWS endpoint into the API call and the IAM actions it needs.

The service comes from the SigV4 credential scope (``Authorization`` header or presigned
``X-Amz-Credential``), the operation from ``X-Amz-Target`` (JSON protocols), ``Action=`` (query
protocol), the ``/service/…/operation/…`` path (Smithy RPC v2 CBOR) or the method, path and query
(S3, and the REST-JSON services through botocore's request URIs). Each call becomes one or more
:class:`Access` (IAM action, resource ARN, condition keys). Calls it cannot classify return ``None``
and are listed by the authorizer, not refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_SIGV2 = re.compile(r"^AWS ([^:]+):")

# Signing names whose IAM service prefix differs
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "execute-api"}


@dataclass
class Access:
    """One IAM authorization a call needs."""

    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict)  # lower-case condition keys


@dataclass
class ApiCall:
    service: str  # signing name: s3, sqs, sns, states, monitoring, …
    operation: str  # the API operation (botocore's name)
    protocol: str  # json | query | rest-xml | rest-json | smithy-rpc-v2-cbor
    region: str
    access_key_id: str | None
    accesses: list[Access]
    params: dict[str, Any] = field(default_factory=dict, repr=False)
    presigned: bool = False

    @property
    def primary(self) -> Access | None:
        return self.accesses[0] if self.accesses else None


@dataclass(frozen=True)
class Credential:
    access_key_id: str | None
    region: str
    service: str | None
    presigned: bool


def credential_of(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> Credential | None:
    """Who signed the request and for which service, or None for an unsigned request."""
    authorization = headers.get("authorization", "")
    if authorization:
        match = _SCOPE.search(authorization)
        if match:
            return Credential(match.group(1), match.group(3), match.group(4), False)
        v2 = _SIGV2.match(authorization)
        if v2:
            return Credential(v2.group(1), "us-east-1", "s3", False)
    scope = (query.get("X-Amz-Credential") or [""])[0]
    if scope:
        parts = scope.split("/")
        if len(parts) >= 5:
            return Credential(parts[0], parts[2], parts[3], True)
    if query.get("AWSAccessKeyId"):
        return Credential(query["AWSAccessKeyId"][0], "us-east-1", "s3", True)
    return None


def needs_body(headers: Mapping[str, str], method: str, query: Mapping[str, list[str]]) -> bool:
    """Whether classifying this request reads its body (never for S3 object uploads)."""
    content_type = headers.get("content-type", "")
    if "amz-json" in content_type or "x-www-form-urlencoded" in content_type:
        return True
    if headers.get("x-amz-target"):
        return True
    if method == "POST" and "delete" in query:  # S3 DeleteObjects
        return True
    return "json" in content_type and method in ("POST", "PUT")  # REST-JSON (Lambda)


def classify(
    method: str,
    raw_path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    account: str,
    kms_key_arn: Callable[[str, str], str] | None = None,
) -> ApiCall | None:
    """The API call an HTTP request makes. ``headers`` have lower-case names. ``raw_path`` is the
    request path as sent (percent-encoded). ``kms_key_arn(key_id, region)`` turns a KMS KeyId
    (id, ARN, alias name or alias ARN) into the key's ARN."""
    query = parse_qs(query_string, keep_blank_values=True)
    credential = credential_of(headers, query)
    if credential is None or credential.service is None:
        return None
    service = credential.service
    region = credential.region
    prefix = IAM_PREFIX.get(service, service)
    target = headers.get("x-amz-target", "")
    content_type = headers.get("content-type", "")
    if service == "s3":
        call = _classify_s3(method, raw_path, query, headers, body, account)
    elif target:
        operation = target.rsplit(".", 1)[-1]
        params = _json(body)
        call = ApiCall(service, operation, "json", region, None, [], params)
    elif "/operation/" in raw_path and headers.get("smithy-protocol") == "rpc-v2-cbor":
        operation = raw_path.rstrip("/").rsplit("/", 1)[-1]
        call = ApiCall(service, operation, "smithy-rpc-v2-cbor", region, None, [], {})
    elif "x-www-form-urlencoded" in content_type or "Action" in query:
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True) if body else {}
        params = {k: v[0] for k, v in {**query, **form}.items()}
        operation = params.get("Action", "")
        if not operation:
            return None
        call = ApiCall(service, operation, "query", region, None, [], params)
    else:
        call = _classify_rest_json(service, method, raw_path, query, body)
        if call is None:
            return None
        call.region = region
    call.access_key_id = credential.access_key_id
    call.presigned = credential.presigned
    call.region = region
    if not call.accesses:
        resolver = _RESOLVERS.get(service)
        call.accesses = (
            resolver(call, account, kms_key_arn) if resolver else [Access(f"{prefix}:{call.operation}", "*")]
        )
    return call


def _json(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- JSON and query protocol services ------------------------------------------------------------------


def queue_arn(queue: str, region: str, account: str) -> str:
    """A queue URL (any host) or name -> its ARN."""
    if queue.startswith("arn:"):
        return queue
    if "/" in queue:
        parts = urlsplit(queue).path.strip("/").split("/")
        if len(parts) >= 2:
            return f"arn:aws:sqs:{region}:{parts[-2]}:{parts[-1]}"
        queue = parts[-1]
    return f"arn:aws:sqs:{region}:{account}:{queue}"


_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    action = "sqs:" + _SQS_BATCH.get(call.operation, call.operation)
    params = call.params
    if "QueueUrl" in params:
        return [Access(action, queue_arn(params["QueueUrl"], call.region, account))]
    if "QueueName" in params:
        owner = params.get("QueueOwnerAWSAccountId") or account
        return [Access(action, f"arn:aws:sqs:{call.region}:{owner}:{params['QueueName']}")]
    return [Access(action, "*")]


def _sns(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    operation = "Publish" if call.operation == "PublishBatch" else call.operation
    params = call.params
    arn = params.get("TopicArn") or params.get("TargetArn") or params.get("ResourceArn")
    if not arn and params.get("SubscriptionArn", "").count(":") >= 6:
        arn = params["SubscriptionArn"].rsplit(":", 1)[0]
    if not arn and call.operation == "CreateTopic" and params.get("Name"):
        arn = f"arn:aws:sns:{call.region}:{account}:{params['Name']}"
    return [Access(f"sns:{operation}", arn or "*")]


def _dynamodb(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    params = call.params

    def table(name: str, index: str | None = None) -> str:
        arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{call.region}:{account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if call.operation in ("BatchWriteItem", "BatchGetItem"):
        return [Access(f"dynamodb:{call.operation}", table(name)) for name in params.get("RequestItems", {})]
    if call.operation in ("TransactWriteItems", "TransactGetItems"):
        accesses = []
        for item in params.get("TransactItems", []):
            for kind, spec in item.items():
                action = {
                    "Put": "PutItem",
                    "Update": "UpdateItem",
                    "Delete": "DeleteItem",
                    "Get": "GetItem",
                }.get(kind, "ConditionCheckItem")
                accesses.append(Access(f"dynamodb:{action}", table(spec.get("TableName", "*"))))
        return accesses
    if "TableName" in params:
        return [Access(f"dynamodb:{call.operation}", table(params["TableName"], params.get("IndexName")))]
    if "ResourceArn" in params:
        return [Access(f"dynamodb:{call.operation}", params["ResourceArn"])]
    return [Access(f"dynamodb:{call.operation}", "*")]


def _states(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    params = call.params
    for name in ("stateMachineArn", "executionArn", "activityArn", "mapRunArn", "resourceArn"):
        if params.get(name):
            return [Access(f"states:{call.operation}", params[name])]
    if call.operation == "CreateStateMachine" and params.get("name"):
        arn = f"arn:aws:states:{call.region}:{account}:stateMachine:{params['name']}"
        return [Access("states:CreateStateMachine", arn)]
    return [Access(f"states:{call.operation}", "*")]


def _kms(call: ApiCall, account: str, kms_key_arn: Callable[[str, str], str] | None) -> list[Access]:
    params = call.params
    key_id = params.get("KeyId") or params.get("TargetKeyId") or params.get("DestinationKeyId")
    context: dict[str, Any] = {"kms:calleraccount": account}
    encryption_context = params.get("EncryptionContext") or {}
    if encryption_context:
        for key, value in encryption_context.items():
            context[f"kms:encryptioncontext:{key.lower()}"] = value
        context["kms:encryptioncontextkeys"] = list(encryption_context)
    if not key_id:
        return [Access(f"kms:{call.operation}", "*", context)]
    arn = kms_key_arn(key_id, call.region) if kms_key_arn else key_id
    if not arn.startswith("arn:"):
        arn = f"arn:aws:kms:{call.region}:{account}:key/{arn}"
    return [Access(f"kms:{call.operation}", arn, context)]


def _logs(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    params = call.params
    group = params.get("logGroupName") or params.get("logGroupIdentifier")
    if not group:
        return [Access(f"logs:{call.operation}", "*")]
    if group.startswith("arn:"):
        group = group.split(":log-group:", 1)[1].removesuffix(":*")
    arn = f"arn:aws:logs:{call.region}:{account}:log-group:{group}"
    if params.get("logStreamName"):
        arn = f"{arn}:log-stream:{params['logStreamName']}"
    return [Access(f"logs:{call.operation}", arn)]


def _rekognition(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    params = call.params
    arn = params.get("ProjectVersionArn") or params.get("ProjectArn") or "*"
    accesses = [Access(f"rekognition:{call.operation}", arn)]
    image = params.get("Image") or {}
    s3_object = image.get("S3Object") if isinstance(image, dict) else None
    if s3_object and s3_object.get("Bucket") and s3_object.get("Name"):
        # Rekognition reads the object with the caller's permissions
        action = "s3:GetObjectVersion" if s3_object.get("Version") else "s3:GetObject"
        accesses.append(Access(action, f"arn:aws:s3:::{s3_object['Bucket']}/{s3_object['Name']}"))
    return accesses


def _sts(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    if call.operation == "GetCallerIdentity":
        return []  # needs no permission
    return [Access(f"sts:{call.operation}", call.params.get("RoleArn") or "*")]


def _cloudwatch(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    context = {}
    if call.params.get("Namespace"):
        context["cloudwatch:namespace"] = call.params["Namespace"]
    return [Access(f"cloudwatch:{call.operation}", "*", context)]


def _events(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    params = call.params

    def bus(name: str | None) -> str:
        name = name or "default"
        return name if name.startswith("arn:") else f"arn:aws:events:{call.region}:{account}:event-bus/{name}"

    if call.operation == "PutEvents":
        buses = {bus(entry.get("EventBusName")) for entry in params.get("Entries", [])} or {bus(None)}
        return [Access("events:PutEvents", arn) for arn in sorted(buses)]
    rule = params.get("Rule") or (params.get("Name") if "Rule" in call.operation else None)
    if rule:
        bus_name = params.get("EventBusName")
        path = f"rule/{bus_name}/{rule}" if bus_name and bus_name != "default" else f"rule/{rule}"
        return [Access(f"events:{call.operation}", f"arn:aws:events:{call.region}:{account}:{path}")]
    return [Access(f"events:{call.operation}", "*")]


def _lambda(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    action = {"Invoke": "InvokeFunction", "InvokeAsync": "InvokeFunction"}.get(call.operation, call.operation)
    if call.operation == "InvokeWithResponseStream":
        action = "InvokeFunction"
    name = call.params.get("FunctionName")
    if not name:
        return [Access(f"lambda:{action}", "*")]
    return [
        Access(f"lambda:{action}", function_arn(name, call.params.get("Qualifier"), call.region, account))
    ]


def _pipes(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    name = call.params.get("Name")
    resource = f"arn:aws:pipes:{call.region}:{account}:pipe/{name}" if name else "*"
    return [Access(f"pipes:{call.operation}", resource)]


def _secretsmanager(call: ApiCall, account: str, _kms: Any) -> list[Access]:
    """The secret by its ARN as given (the stack's functions name it so: ``LINK_SECRET_ARN``). A bare
    name is judged as the ARN without the six characters AWS appends, which an ARN-scoped policy does
    not match: the twin refuses what AWS would resolve and allow (said in the README's table)."""
    secret = call.params.get("SecretId") or call.params.get("Name")
    if not secret:
        return [Access(f"secretsmanager:{call.operation}", "*")]
    arn = (
        secret
        if secret.startswith("arn:")
        else f"arn:aws:secretsmanager:{call.region}:{account}:secret:{secret}"
    )
    return [Access(f"secretsmanager:{call.operation}", arn)]


def function_arn(name: str, qualifier: str | None, region: str, account: str) -> str:
    """FunctionName in any of its forms (name, name:qualifier, partial or full ARN) -> ARN."""
    name = unquote(name)
    if name.startswith("arn:"):
        parts = name.split(":")
        base, arn_qualifier = ":".join(parts[:7]), (parts[7] if len(parts) > 7 else None)
    else:
        parts = name.split(":")
        if len(parts) >= 3 and parts[1] == "function":  # 123456789012:function:name[:qualifier]
            account, name = parts[0], parts[2]
            arn_qualifier = parts[3] if len(parts) > 3 else None
        else:
            name, arn_qualifier = parts[0], (parts[1] if len(parts) > 1 else None)
        base = f"arn:aws:lambda:{region}:{account}:function:{name}"
    qualifier = qualifier or arn_qualifier
    return f"{base}:{qualifier}" if qualifier else base


_RESOLVERS: dict[str, Callable[[ApiCall, str, Any], list[Access]]] = {
    "sqs": _sqs,
    "sns": _sns,
    "dynamodb": _dynamodb,
    "states": _states,
    "kms": _kms,
    "logs": _logs,
    "rekognition": _rekognition,
    "secretsmanager": _secretsmanager,
    "sts": _sts,
    "monitoring": _cloudwatch,
    "events": _events,
    "lambda": _lambda,
    "pipes": _pipes,
}


# --- REST-JSON services (Lambda, X-Ray, …) through botocore's request URIs -----------------------------


@lru_cache(maxsize=32)
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path regex, operation) for each operation of a REST service, most literal first."""
    import botocore.session

    session = botocore.session.get_session()
    names = {
        session.get_service_model(n).signing_name: n
        for n in ("lambda", "xray", "pipes", "scheduler", "apigateway", "glue")
        if n in session.get_available_services()
    }
    model = session.get_service_model(names.get(service, service))
    routes = []
    for operation in model.operation_names:
        http = model.operation_model(operation).http
        uri = http.get("requestUri", "/").split("?", 1)[0]
        pattern = re.sub(
            r"\\\{(\w+)(\\\+)?\\\}",
            lambda m: f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)",
            re.escape(uri),
        )
        literal = len(re.sub(r"\{[^}]+\}", "", uri))
        routes.append((literal, http.get("method", "POST"), re.compile(f"^{pattern}/?$"), operation))
    routes.sort(key=lambda route: -route[0])
    return [(method, regex, operation) for _, method, regex, operation in routes]


def _classify_rest_json(
    service: str, method: str, raw_path: str, query: Mapping[str, list[str]], body: bytes
) -> ApiCall | None:
    try:
        routes = _rest_routes(service)
    except Exception:  # not a botocore service name
        return None
    path = raw_path.split("?", 1)[0]
    for route_method, regex, operation in routes:
        if route_method != method:
            continue
        match = regex.match(path)
        if match:
            params: dict[str, Any] = {k: unquote(v) for k, v in match.groupdict().items()}
            for name, values in query.items():
                params.setdefault(name, values[0])
            return ApiCall(service, operation, "rest-json", "", None, [], params)
    return None


# --- S3 --------------------------------------------------------------------------------------------------

_S3_HOST = re.compile(r"^(?P<bucket>.+?)\.s3(?:[.-][^.]+)*\.amazonaws\.com$|^(?P<local>.+)\.localhost$")

# sub-resource query parameter -> (IAM action suffix for GET, PUT, DELETE) on a bucket
_BUCKET_SUBRESOURCES = {
    "notification": ("GetBucketNotification", "PutBucketNotification", None),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "versioning": ("GetBucketVersioning", "PutBucketVersioning", None),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "acl": ("GetBucketAcl", "PutBucketAcl", None),
    "cors": ("GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    "location": ("GetBucketLocation", None, None),
    "logging": ("GetBucketLogging", "PutBucketLogging", None),
    "ownershipControls": (
        "GetBucketOwnershipControls",
        "PutBucketOwnershipControls",
        "PutBucketOwnershipControls",
    ),
    "publicAccessBlock": (
        "GetBucketPublicAccessBlock",
        "PutBucketPublicAccessBlock",
        "PutBucketPublicAccessBlock",
    ),
    "uploads": ("ListBucketMultipartUploads", None, None),
    "versions": ("ListBucketVersions", None, None),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
    "replication": (
        "GetReplicationConfiguration",
        "PutReplicationConfiguration",
        "PutReplicationConfiguration",
    ),
    "object-lock": ("GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration", None),
    "accelerate": ("GetAccelerateConfiguration", "PutAccelerateConfiguration", None),
    "requestPayment": ("GetBucketRequestPayment", "PutBucketRequestPayment", None),
}


def s3_bucket_and_key(raw_path: str, host: str) -> tuple[str | None, str | None]:
    """Bucket and key of a path-style or virtual-hosted-style S3 request."""
    host = host.split(":", 1)[0].lower()
    path = raw_path.split("?", 1)[0]
    match = _S3_HOST.match(host)
    bucket = (match.group("bucket") or match.group("local")) if match else None
    if bucket:
        key = unquote(path[1:]) if len(path) > 1 else None
        return bucket, key
    parts = path[1:].split("/", 1)
    if not parts[0]:
        return None, None
    return unquote(parts[0]), (unquote(parts[1]) if len(parts) > 1 and parts[1] else None)


def _classify_s3(
    method: str,
    raw_path: str,
    query: Mapping[str, list[str]],
    headers: Mapping[str, str],
    body: bytes,
    account: str,
) -> ApiCall:
    bucket, key = s3_bucket_and_key(raw_path, headers.get("host", ""))
    q = {name: values[0] for name, values in query.items()}
    auth = headers.get("authorization", "")
    context: dict[str, Any] = {
        "s3:tlsversion": "1.3",
        "s3:signatureversion": "AWS"
        if ("AWSAccessKeyId" in q or auth.startswith("AWS "))
        else "AWS4-HMAC-SHA256",
        "s3:authtype": "REST-QUERY-STRING"
        if ("X-Amz-Credential" in q or "AWSAccessKeyId" in q)
        else "REST-HEADER",
    }
    for header in (
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-acl",
        "x-amz-storage-class",
        "x-amz-copy-source",
        "x-amz-content-sha256",
    ):
        if header in headers:
            context[f"s3:{header}"] = headers[header]
    version = q.get("versionId")
    if version is not None:
        context["s3:versionid"] = version

    def call(operation: str, *accesses: tuple[str, str]) -> ApiCall:
        return ApiCall(
            "s3",
            operation,
            "rest-xml",
            "",
            None,
            [Access(f"s3:{action}", resource, dict(context)) for action, resource in accesses],
            {"Bucket": bucket, "Key": key, **q},
        )

    if bucket is None:
        return call("ListBuckets", ("ListAllMyBuckets", "*"))
    bucket_arn = f"arn:aws:s3:::{bucket}"
    if key is None:
        for name, (get, put, delete) in _BUCKET_SUBRESOURCES.items():
            if name in q:
                action = {"GET": get, "HEAD": get, "PUT": put, "DELETE": delete}.get(method)
                if action:
                    if name in ("versions",):
                        _list_context(context, q)
                    return call(action, (action, bucket_arn))
        if method in ("GET", "HEAD"):
            if method == "GET":
                _list_context(context, q)
            operation = (
                "HeadBucket"
                if method == "HEAD"
                else "ListObjectsV2"
                if q.get("list-type") == "2"
                else "ListObjects"
            )
            return call(operation, ("ListBucket", bucket_arn))
        if method == "PUT":
            return call("CreateBucket", ("CreateBucket", bucket_arn))
        if method == "DELETE":
            return call("DeleteBucket", ("DeleteBucket", bucket_arn))
        if method == "POST" and "delete" in q:
            keys = [unquote(k) for k in re.findall(rb"<Key>(.*?)</Key>", body)] if body else []
            objects = [k.decode("utf-8", "replace") if isinstance(k, bytes) else k for k in keys]
            accesses = [("DeleteObject", f"{bucket_arn}/{_xml_unescape(k)}") for k in objects] or [
                ("DeleteObject", f"{bucket_arn}/*")
            ]
            return call("DeleteObjects", *accesses)
        return call(f"{method}Bucket", (f"{method}Bucket", bucket_arn))  # unknown: named after the method
    object_arn = f"{bucket_arn}/{key}"
    versioned = version is not None
    if method in ("GET", "HEAD"):
        if "tagging" in q:
            action = "GetObjectVersionTagging" if versioned else "GetObjectTagging"
            return call("GetObjectTagging", (action, object_arn))
        if "acl" in q:
            return call("GetObjectAcl", ("GetObjectVersionAcl" if versioned else "GetObjectAcl", object_arn))
        if "uploadId" in q:
            return call("ListParts", ("ListMultipartUploadParts", object_arn))
        if "attributes" in q:
            if versioned:
                return call(
                    "GetObjectAttributes",
                    ("GetObjectVersion", object_arn),
                    ("GetObjectVersionAttributes", object_arn),
                )
            return call("GetObjectAttributes", ("GetObject", object_arn), ("GetObjectAttributes", object_arn))
        operation = "HeadObject" if method == "HEAD" else "GetObject"
        return call(operation, ("GetObjectVersion" if versioned else "GetObject", object_arn))
    if method == "PUT":
        if "tagging" in q:
            return call(
                "PutObjectTagging",
                ("PutObjectVersionTagging" if versioned else "PutObjectTagging", object_arn),
            )
        if "acl" in q:
            return call("PutObjectAcl", ("PutObjectVersionAcl" if versioned else "PutObjectAcl", object_arn))
        source = headers.get("x-amz-copy-source")
        accesses: list[tuple[str, str]] = [("PutObject", object_arn)]
        if source:
            source_path, _, source_query = unquote(source).lstrip("/").partition("?")
            source_version = parse_qs(source_query).get("versionId")
            accesses.append(
                ("GetObjectVersion" if source_version else "GetObject", f"arn:aws:s3:::{source_path}")
            )
        if "x-amz-tagging" in headers:
            accesses.append(("PutObjectTagging", object_arn))
        operation = (
            ("UploadPartCopy" if source else "UploadPart")
            if "uploadId" in q
            else ("CopyObject" if source else "PutObject")
        )
        return call(operation, *accesses)
    if method == "POST":
        if "uploads" in q:
            return call("CreateMultipartUpload", ("PutObject", object_arn))
        if "uploadId" in q:
            return call("CompleteMultipartUpload", ("PutObject", object_arn))
        if "restore" in q:
            return call("RestoreObject", ("RestoreObject", object_arn))
        return call("PostObject", ("PutObject", object_arn))
    if method == "DELETE":
        if "tagging" in q:
            action = "DeleteObjectVersionTagging" if versioned else "DeleteObjectTagging"
            return call("DeleteObjectTagging", (action, object_arn))
        if "uploadId" in q:
            return call("AbortMultipartUpload", ("AbortMultipartUpload", object_arn))
        return call("DeleteObject", ("DeleteObjectVersion" if versioned else "DeleteObject", object_arn))
    return call(f"{method}Object", (f"{method}Object", object_arn))


def _list_context(context: dict[str, Any], q: Mapping[str, str]) -> None:
    for name in ("prefix", "delimiter", "max-keys"):
        if name in q:
            context[f"s3:{name}"] = q[name]


def _xml_unescape(text: str) -> str:
    return (
        text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", '"')
        .replace("&apos;", "'")
        .replace("&amp;", "&")
    )
