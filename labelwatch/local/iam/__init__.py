"""IAM for the embedded twin: every call a deployed principal makes is judged by the synthesized
template's policies before moto serves it, and refused as AWS would refuse it.

moto checks no IAM policy and no KMS key policy, so a stack whose state machine may ``sns:Publish``
but not use the topic's KMS key passes every local test and sends no alert on AWS. This package
closes that gap for the calls this stack makes.

Why our own evaluator. moto's ``moto/iam/access_control.py`` ignores resource-based policies,
NotResource and NotPrincipal, matches actions case-sensitively, evaluates conditions only in trust
relationships, knows nothing of KMS key policies and checks most services against resource ``*``.
``@cloud-copilot/iam-simulate`` is complete but is Node (a sidecar process) and AGPL-3.0-or-later,
which we do not put in a tool shipped under Apache-2.0. policyuniverse and parliament parse and lint
policies; they do not evaluate them. So :mod:`.evaluate` is a compact implementation of AWS's
documented same-account evaluation logic:

* Effect, Action/NotAction (case-insensitive, ``*``/``?``), Resource/NotResource (wildcards, per
  ARN segment), Principal/NotPrincipal (``*``, account id or ``:root``, role ARN, assumed-role
  session, ``Service``);
* Condition: String*, Arn*, Numeric*, Date*, Bool, BinaryEquals, IpAddress/NotIpAddress, Null,
  ``…IfExists``, ``ForAnyValue:``/``ForAllValues:``; several keys AND, several values OR; a missing
  key matches only negated operators (and IfExists/Null/ForAllValues as documented);
* an explicit deny anywhere denies; otherwise an identity-based policy or a resource-based policy
  naming the principal (its role or session) allows; a resource policy naming only the account
  delegates to the identity-based policies; a KMS key policy must allow, on its own when it names
  the principal, together with an identity-based policy when it names the account root;
* the KMS actions a call needs because the template encrypts its resource with a customer-managed
  key (SNS topics, SQS queues, S3 buckets with SSE-KMS), with ``kms:ViaService``,
  ``kms:CallerAccount`` and the service's encryption context;
* deliveries AWS services make on their own (EventBridge rule → SQS), judged by the resource policy
  with ``aws:SourceArn``/``aws:SourceAccount``;
* a service assuming a role for one of the template's resources (EventBridge Pipes for its pipe),
  judged by the role's trust policy with the ``aws:SourceArn``/``aws:SourceAccount`` it sends
  (refused: ``AssumeRoleRefused``, the Pipe gets no credentials).

Not covered: service control policies, resource control policies, permission boundaries, session
policies, cross-account access (everything is one account), policy variables (``${aws:username}``
is matched literally), tag-based keys (``aws:ResourceTag``, ``aws:PrincipalTag``, ``s3:ExistingObjectTag``),
KMS grants and DynamoDB/Lambda/Logs/Step Functions customer-managed-key encryption, S3 ACLs,
Object Ownership and Block Public Access, VPC endpoints and ``aws:SourceVpce``, and policies changed
at run time through the API (the authorizer reads the template once). Requests it cannot classify
and unsigned requests are allowed and counted (``Authorizer.unclassified``); ``/moto-api`` is
always allowed.

Modules: :mod:`.evaluate` (policies, decisions), :mod:`.requests` (HTTP request → API call → IAM
actions), :mod:`.authorizer` (principals, credentials, resource and key policies from the
provisioned template), :mod:`.middleware` (the WSGI wrapper around moto's server).
"""

from labelwatch.local.iam.authorizer import Authorizer, Denial, Verdict
from labelwatch.local.iam.evaluate import Decision, Principal, compile_policy, evaluate
from labelwatch.local.iam.middleware import AuthorizingApp

__all__ = [
    "Authorizer",
    "AuthorizingApp",
    "Decision",
    "Denial",
    "Principal",
    "Verdict",
    "compile_policy",
    "evaluate",
]
