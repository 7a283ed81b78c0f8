"""Compiled IAM policies and AWS's same-account evaluation logic.

A policy document is compiled once (:func:`compile_policy`): every Action/Resource/Principal pattern
becomes a regular expression and every condition a small closure, so a check is a walk over a few
statements. :func:`evaluate` applies the documented order: an explicit deny in any policy denies;
otherwise an identity-based policy or a resource-based policy that names the principal allows; a
resource-based policy that names only the account delegates to the identity-based policies. For a KMS
key (``key_policy=True``) the key policy must allow: naming the principal allows on its own, naming
the account root means an identity-based policy must allow too.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

Context = Mapping[str, Any]  # lower-case condition key -> str | list[str] | bool | number

# --- principals -----------------------------------------------------------------------------

_ASSUMED = re.compile(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/(.+)$")


@dataclass(frozen=True)
class Principal:
    """Who makes a call: an IAM role session, the account root, or an AWS service.

    ``arn`` is what AWS's error messages name (the session ARN for a role, the service name for a
    service principal). ``role_arn`` is the role an assumed-role session belongs to.
    """

    arn: str
    account: str
    kind: str  # "role" | "root" | "service" | "anonymous"
    role_arn: str | None = None

    @classmethod
    def session(cls, role_arn: str, session_name: str) -> Principal:
        _, partition, _, _, account, resource = role_arn.split(":", 5)
        name = resource.rsplit("/", 1)[-1]
        return cls(
            arn=f"arn:{partition}:sts::{account}:assumed-role/{name}/{session_name}",
            account=account,
            kind="role",
            role_arn=role_arn,
        )

    @classmethod
    def root(cls, account: str) -> Principal:
        return cls(arn=f"arn:aws:iam::{account}:root", account=account, kind="root")

    @classmethod
    def service(cls, name: str) -> Principal:
        return cls(arn=name, account="", kind="service")

    @property
    def identities(self) -> tuple[str, ...]:
        """The ARNs a policy's ``Principal`` may name to mean this principal."""
        return (self.arn, self.role_arn) if self.role_arn else (self.arn,)

    def context(self) -> dict[str, Any]:
        """The ``aws:Principal*`` keys AWS puts into every request context of this principal."""
        if self.kind == "service":
            return {"aws:principalservicename": self.arn, "aws:principalisawsservice": "true"}
        context = {
            "aws:principalarn": self.role_arn or self.arn,
            "aws:principalaccount": self.account,
            "aws:principaltype": {"role": "AssumedRole", "root": "Account"}.get(self.kind, self.kind),
            "aws:principalisawsservice": "false",
        }
        if self.kind == "role":
            context["aws:userid"] = f"AROA{self.account}:{self.arn.rsplit('/', 1)[-1]}"
        return context


# --- wildcard patterns ------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def glob(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """``*`` and ``?`` as IAM reads them; everything else literal."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _arn_matcher(pattern: str) -> Callable[[str], bool]:
    """An ARN pattern matched segment by segment (``arn:partition:service:region:account:resource``)
    as the Resource element and the Arn* operators do; a wildcard does not cross a segment's colon
    except in the resource segment, which may itself contain colons."""
    if pattern == "*":
        return lambda _value: True
    parts = pattern.split(":", 5)
    if len(parts) < 6:  # not an ARN pattern: plain wildcard match over the whole string
        regex = glob(pattern)
        return lambda value: regex.match(value) is not None
    regexes = [glob(part) for part in parts]

    def match(value: str) -> bool:
        values = value.split(":", 5)
        return len(values) == 6 and all(r.match(v) is not None for r, v in zip(regexes, values, strict=True))

    return match


def _any(matchers: list[Callable[[str], bool]]) -> Callable[[str], bool]:
    if len(matchers) == 1:
        return matchers[0]
    return lambda value: any(m(value) for m in matchers)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


# --- conditions --------------------------------------------------------------------------------


def _to_number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _to_date(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _bool_text(value: Any) -> str:
    return str(value).lower() if not isinstance(value, bool) else ("true" if value else "false")


def _string_op(name: str, policy_values: list[Any]) -> tuple[Callable[[Any], bool], bool]:
    """One operator over one request value (``matches(value)``), and whether it is negated. A
    negated operator is true when the value matches none of the policy values."""
    negated = "Not" in name
    base = name.replace("Not", "")
    texts = [_bool_text(v) if isinstance(v, bool) else str(v) for v in policy_values]
    if base == "StringEquals":
        allowed = set(texts)
        return (lambda v: str(v) in allowed), negated
    if base == "StringEqualsIgnoreCase":
        lowered = {t.lower() for t in texts}
        return (lambda v: str(v).lower() in lowered), negated
    if base == "StringLike":
        regexes = [glob(t) for t in texts]
        return (lambda v: any(r.match(str(v)) for r in regexes)), negated
    if base in ("ArnEquals", "ArnLike"):
        matcher = _any([_arn_matcher(t) for t in texts])
        return (lambda v: matcher(str(v))), negated
    if base.startswith("Numeric"):
        numbers = [n for n in (_to_number(t) for t in texts) if n is not None]
        compare = _COMPARE[base[len("Numeric") :]]
        return (lambda v: (n := _to_number(v)) is not None and any(compare(n, p) for p in numbers)), negated
    if base.startswith("Date"):
        dates = [d for d in (_to_date(t) for t in texts) if d is not None]
        compare = _COMPARE[base[len("Date") :]]
        return (lambda v: (d := _to_date(v)) is not None and any(compare(d, p) for p in dates)), negated
    if base == "Bool":
        wanted = {t.lower() for t in texts}
        return (lambda v: _bool_text(v) in wanted), negated
    if base == "BinaryEquals":
        allowed = set(texts)
        return (lambda v: str(v) in allowed), negated
    if base == "IpAddress":
        networks = [ipaddress.ip_network(t, strict=False) for t in texts]

        def in_network(v: Any) -> bool:
            try:
                address = ipaddress.ip_address(str(v))
            except ValueError:
                return False
            return any(address in network for network in networks)

        return in_network, negated
    raise ValueError(f"unsupported condition operator: {name}")


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _compile_condition(operator: str, key: str, values: Any) -> Callable[[Context], bool]:
    """One key under one operator: ``ForAnyValue:``/``ForAllValues:`` prefixes, ``IfExists`` and
    ``Null`` as the IAM reference documents them."""
    key = key.lower()
    policy_values = _as_list(values)
    qualifier, _, name = operator.rpartition(":")
    if name == "Null":
        want_missing = {_bool_text(v) for v in policy_values}

        def null_check(context: Context) -> bool:
            value = context.get(key)
            missing = value is None or (isinstance(value, list) and not value)
            return ("true" if missing else "false") in want_missing

        return null_check
    if_exists = name.endswith("IfExists")
    if if_exists:
        name = name[: -len("IfExists")]
    matches, negated = _string_op(name, policy_values)
    if qualifier == "ForAnyValue":

        def for_any(context: Context) -> bool:
            value = context.get(key)
            if value is None:
                return if_exists
            items = _as_list(value)
            return any((not matches(item)) if negated else matches(item) for item in items)

        return for_any
    if qualifier == "ForAllValues":

        def for_all(context: Context) -> bool:
            value = context.get(key)
            if value is None:
                return True
            return all((not matches(item)) if negated else matches(item) for item in _as_list(value))

        return for_all
    if qualifier:
        raise ValueError(f"unsupported condition set operator: {qualifier}")

    def single(context: Context) -> bool:
        value = context.get(key)
        if value is None:
            return True if if_exists else negated  # a missing key matches only a negated operator
        items = _as_list(value)
        if negated:
            return not any(matches(item) for item in items)
        return any(matches(item) for item in items)

    return single


def _compile_conditions(block: Mapping[str, Mapping[str, Any]] | None) -> list[Callable[[Context], bool]]:
    return [
        _compile_condition(operator, key, values)
        for operator, keys in (block or {}).items()
        for key, values in keys.items()
    ]


# --- statements and policies ---------------------------------------------------------------------

DIRECT, ACCOUNT = "direct", "account"


@dataclass
class Statement:
    effect: str
    sid: str
    action: Callable[[str], bool]
    resource: Callable[[str], bool]
    conditions: list[Callable[[Context], bool]]
    principal: Callable[[Principal], str | None] | None  # -> DIRECT / ACCOUNT / None (no match)

    def applies(self, action: str, resource: str, context: Context) -> bool:
        return self.action(action) and self.resource(resource) and all(c(context) for c in self.conditions)


@dataclass
class Policy:
    name: str
    kind: str  # "identity" | "resource"
    statements: list[Statement] = field(default_factory=list)


def _compile_actions(values: Any) -> Callable[[str], bool]:
    regexes = [glob(str(v), ignore_case=True) for v in _as_list(values)]
    if any(r.pattern == "^.*$" for r in regexes):
        return lambda _action: True
    return lambda action: any(r.match(action) is not None for r in regexes)


def _compile_principal(value: Any) -> Callable[[Principal], str | None]:
    """A ``Principal`` element: who it names, and whether it names them directly or delegates to
    the account (``{"AWS": "123456789012"}`` or ``arn:aws:iam::123456789012:root``)."""
    if value == "*":
        return lambda _principal: DIRECT
    entries: list[tuple[str, str]] = []
    for kind, names in value.items():
        entries.extend((kind, str(name)) for name in _as_list(names))
    accounts: set[str] = set()
    arns: list[Callable[[str], bool]] = []
    services: set[str] = set()
    everyone = False
    for kind, name in entries:
        if kind == "AWS":
            if name == "*":
                everyone = True
            elif re.fullmatch(r"\d{12}", name):
                accounts.add(name)
            elif (root := re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):root", name)) is not None:
                accounts.add(root.group(1))
            else:
                arns.append(_arn_matcher(name) if "*" in name else (lambda v, n=name: v == n))
        elif kind == "Service":
            services.add(name)
        # "Federated" and "CanonicalUser" never name a principal of this twin

    def match(principal: Principal) -> str | None:
        if principal.kind == "service":
            return DIRECT if (principal.arn in services or everyone) else None
        if everyone:
            return DIRECT
        if any(m(identity) for m in arns for identity in principal.identities):
            return DIRECT
        if principal.account in accounts:
            # the root user is the account itself: naming the account names it directly
            return DIRECT if principal.kind == "root" else ACCOUNT
        return None

    return match


def compile_policy(document: Mapping[str, Any] | str, *, name: str = "", kind: str = "identity") -> Policy:
    """Compile a policy document (dict or JSON text). ``kind="resource"`` requires Principal or
    NotPrincipal on each statement; identity policies have neither."""
    import json

    doc = json.loads(document) if isinstance(document, str) else document
    policy = Policy(name=name, kind=kind)
    for index, raw in enumerate(_as_list(doc.get("Statement", []))):
        if "NotAction" in raw:
            inner = _compile_actions(raw["NotAction"])
            action = lambda a, inner=inner: not inner(a)  # noqa: E731
        else:
            action = _compile_actions(raw.get("Action", []))
        if "NotResource" in raw:
            inner_r = _any([_arn_matcher(str(r)) for r in _as_list(raw["NotResource"])])
            resource = lambda r, inner=inner_r: not inner(r)  # noqa: E731
        elif "Resource" in raw:
            resource = _any([_arn_matcher(str(r)) for r in _as_list(raw["Resource"])])
        else:  # a key policy's or trust policy's statement applies to the resource it is attached to
            resource = lambda _r: True  # noqa: E731
        principal: Callable[[Principal], str | None] | None = None
        if "NotPrincipal" in raw:
            named = _compile_principal(raw["NotPrincipal"])
            principal = lambda p, named=named: None if named(p) else DIRECT  # noqa: E731
        elif "Principal" in raw:
            principal = _compile_principal(raw["Principal"])
        policy.statements.append(
            Statement(
                effect=raw.get("Effect", "Deny"),
                sid=str(raw.get("Sid", index)),
                action=action,
                resource=resource,
                conditions=_compile_conditions(raw.get("Condition")),
                principal=principal,
            )
        )
    return policy


# --- evaluation ---------------------------------------------------------------------------------

EXPLICIT_DENY_IDENTITY = "with an explicit deny in an identity-based policy"
EXPLICIT_DENY_RESOURCE = "with an explicit deny in a resource-based policy"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    principal: Principal
    action: str
    resource: str
    reason: str  # AWS's wording: "because no identity-based policy allows the s3:PutObject action"
    policy: str = ""  # the policy (and statement) that decided, when one did
    kind: str = ""  # "explicit-deny-identity" | "explicit-deny-resource" | "no-identity-allow" | ...

    @property
    def message(self) -> str:
        """What AWS says in an AccessDenied error."""
        return (
            f"User: {self.principal.arn} is not authorized to perform: {self.action} "
            f"on resource: {self.resource} {self.reason}"
        )


def evaluate(
    principal: Principal,
    action: str,
    resource: str,
    context: Context,
    identity_policies: Iterable[Policy] = (),
    resource_policy: Policy | None = None,
    *,
    identity_allows_all: bool = False,
    key_policy: bool = False,
) -> Decision:
    """AWS's same-account evaluation for one action on one resource.

    ``identity_allows_all`` stands for a principal whose identity policies allow everything (the
    twin's administrator). ``key_policy`` makes ``resource_policy`` a KMS key policy, which must allow.
    """

    def decided(allowed: bool, reason: str, policy: str, kind: str) -> Decision:
        return Decision(allowed, principal, action, resource, reason, policy, kind)

    no_identity_allow = f"because no identity-based policy allows the {action} action"
    no_resource_allow = f"because no resource-based policy allows the {action} action"
    identity_allow: str | None = "(administrator)" if identity_allows_all else None
    if principal.kind != "service":
        for policy in identity_policies:
            for statement in policy.statements:
                if statement.applies(action, resource, context):
                    if statement.effect == "Deny":
                        where = f"{policy.name}#{statement.sid}"
                        return decided(False, EXPLICIT_DENY_IDENTITY, where, "explicit-deny-identity")
                    identity_allow = identity_allow or f"{policy.name}#{statement.sid}"
    resource_allow: str | None = None  # a statement naming the principal itself
    account_allow: str | None = None  # a statement naming the principal's account only
    if resource_policy is not None:
        for statement in resource_policy.statements:
            named = statement.principal(principal) if statement.principal is not None else DIRECT
            if named is None or not statement.applies(action, resource, context):
                continue
            where = f"{resource_policy.name}#{statement.sid}"
            if statement.effect == "Deny":
                return decided(False, EXPLICIT_DENY_RESOURCE, where, "explicit-deny-resource")
            if named == DIRECT:
                resource_allow = resource_allow or where
            else:
                account_allow = account_allow or where
    resource_policy_name = resource_policy.name if resource_policy else ""
    if key_policy:
        if resource_allow:
            return decided(True, "", resource_allow, "key-policy")
        if account_allow and identity_allow:
            return decided(True, "", identity_allow, "identity")
        if account_allow:
            return decided(False, no_identity_allow, account_allow, "no-identity-allow")
        return decided(False, no_resource_allow, resource_policy_name, "key-policy-does-not-allow")
    if resource_allow:
        return decided(True, "", resource_allow, "resource")
    if identity_allow:
        return decided(True, "", identity_allow, "identity")
    if principal.kind == "service":
        return decided(False, no_resource_allow, resource_policy_name, "no-resource-allow")
    return decided(False, no_identity_allow, "", "no-identity-allow")
