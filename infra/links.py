"""The image-link concern: the link secret, the link function and its public function URL.

Alerts carry ``<function URL>/i/<token>`` (docs/links.md): a token the detect function signs with the
secret's current key and the link function checks, answering with a redirect to the exact image
version presigned for 5 minutes, or the image's view page (``?view``).

Why a function URL and not API Gateway or CloudFront: one GET per click, no stage, no custom domain
to manage, and nothing to pay beyond the function's invocations (and the secret's $0.40 a month).
Throttling is the function's reserved concurrency (``linkConcurrency``): a flood of clicks is
answered 429 beyond it and cannot take the account's concurrency from the detect function.

Least privilege: the link function reads the secret, the result objects (``results/*``) and the
input bucket's objects and their versions under the key prefix, nothing else. The secret is
encrypted with Secrets Manager's AWS-managed key (``aws/secretsmanager``): both readers are this
stack's roles, so a customer-managed key would add a grant and $1 a month and keep no one else out.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import LabelwatchConfig
from infra.handlers import LINKS_HANDLER
from infra.log_groups import protected_log_group
from infra.nag import acknowledge, logical_id
from infra.python_function import python_function

SECRET_TEMPLATE = '{"current": "1"}'  # functions/links/keys.py: k1 is generated next to it
LINK_TIMEOUT = Duration.seconds(10)  # a view page reads one result object and one photo (≤ 15 MB)


class LinkService(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LabelwatchConfig,
        input_bucket: s3.IBucket,
        results_bucket: s3.IBucket,
        results_prefix: str,
        logs_key: kms.IKey,
        execution_link_template: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="labelwatch: the keys that sign image links (docs/links.md: rotate, revoke)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=SECRET_TEMPLATE,
                generate_string_key="k1",
                password_length=64,
                exclude_punctuation=True,
            ),
        )
        log_group = protected_log_group(self, "Logs", name="links", key=logs_key)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="labelwatch links: check image-link tokens, redirect to the exact image version",
        )
        environment = {
            "LINK_SECRET_ARN": self.secret.secret_arn,
            "RESULTS_BUCKET": results_bucket.bucket_name,
            "RESULTS_PREFIX": results_prefix,
        }
        if execution_link_template:
            environment["EXECUTION_LINK_TEMPLATE"] = execution_link_template
        self.function = python_function(
            self,
            "Function",
            description="labelwatch: answer image links from alerts (a redirect, or the view page)",
            handler=LINKS_HANDLER,
            memory_size=512,  # a view page decodes a photo of up to 16 megapixels at 1/8 scale
            timeout=LINK_TIMEOUT,
            reserved_concurrent_executions=config.link_concurrency or None,
            role=role,
            log_group=log_group,
            environment=environment,
        )
        log_group.grant_write(role)
        self.secret.grant_read(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[results_bucket.arn_for_objects(f"{results_prefix}*")]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[input_bucket.arn_for_objects(f"{config.key_prefix}*")],
            )
        )
        self.url = self.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        self._acknowledge_findings(input_bucket, results_bucket, results_prefix, config.key_prefix)

    def grant_signing(self, grantee: iam.IGrantable) -> None:
        """What a function that signs links needs: the secret's current key."""
        self.secret.grant_read(grantee)

    def _acknowledge_findings(
        self, input_bucket: s3.IBucket, results_bucket: s3.IBucket, results_prefix: str, key_prefix: str
    ) -> None:
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "Link keys are rotated by adding one and moving 'current' (docs/links.md), so that links "
            "already sent keep working for imageLinkDays; a rotation Lambda would replace the value.",
        )
        policy = self.function.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(results_bucket)}.Arn>/{results_prefix}*]",
            "Any result object may be the one a link names (its name is in the token).",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(input_bucket)}.Arn>/{key_prefix}*]",
            "Any uploaded image under the key prefix may be the one a link opens.",
        )
