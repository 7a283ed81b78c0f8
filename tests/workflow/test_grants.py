"""The strict twin refuses what AWS would refuse: the real template, one grant removed at a time.

Each test takes the synthesized template, removes one statement a deployed principal relies on,
deploys it into the twin and uploads one image. The image must end where AWS would put it: the
failure DLQ with an access-denied error that names the action (the workflow's Catch sees the
error AWS would raise), or no delivery at all when the EventBridge rule may not send to the queue.
The unmodified template processes the same image, so each refusal is caused by the missing grant.
"""

from __future__ import annotations

import copy
import re
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

from tests.workflow.conftest import leaf_image, scripted_predictor, subscribe_queue
from tests.workflow.helpers import drain_queue, queue_depth, result_objects, upload

pytestmark = pytest.mark.slow

Statement = dict
Matcher = Callable[[str, Statement], bool]


def actions(statement: Statement) -> list[str]:
    value = statement.get("Action", [])
    return value if isinstance(value, list) else [value]


def without(template: dict, policy_type: str, owner: str, matches: Callable[[Statement], bool]) -> dict:
    """A copy of ``template`` without the one statement of ``owner``'s ``policy_type`` that matches."""
    changed = copy.deepcopy(template)
    removed = []
    for logical_id, resource in changed["Resources"].items():
        if resource["Type"] != policy_type:
            continue
        properties = resource["Properties"]
        targets = properties.get("Roles", []) + properties.get("Queues", [])
        if not any(owner in str(target) for target in targets):
            continue
        document = properties["PolicyDocument"]
        kept = [s for s in document["Statement"] if not matches(s)]
        removed += [(logical_id, s) for s in document["Statement"] if matches(s)]
        document["Statement"] = kept
    assert len(removed) == 1, f"expected one statement to remove, found {removed}"
    return changed


def deploy_and_upload(emulator, template: dict, key: str = "leaf.jpg"):
    stack = emulator.deploy(template)
    stack.emulator.models.register(stack.detect_environment()["MODEL_ARN"], scripted_predictor, running=True)
    inbox = subscribe_queue(emulator.client, stack.outputs["AlertsTopicArn"], "inbox")
    upload(stack, key, leaf_image("leaf-smut"))  # a match: the workflow writes a result and alerts
    outcomes = stack.pipe().drain()
    return stack, inbox, outcomes


def the_failure(stack) -> dict:
    (failure,) = drain_queue(stack, "FailureDlqUrl")
    assert failure["image"] == f"s3://{stack.outputs['InputBucketName']}/leaf.jpg"
    return failure


def test_the_unmodified_template_processes_the_image_alerts_and_its_links_open(emulator, template):
    stack, inbox, outcomes = deploy_and_upload(emulator, template)

    assert [o.status for o in outcomes] == ["SUCCEEDED"]
    photo, page = _alert_links(inbox)  # the one alert (read once: the inbox queue gives it up)
    assert len(result_objects(stack)) == 1
    assert drain_queue(stack, "FailureDlqUrl") == []
    assert (_status_of(photo), _status_of(page)) == (200, 200)
    tampered = photo[:-1] + ("A" if photo[-1] != "A" else "B")
    assert _status_of(tampered) == 403
    assert emulator.authorizer.denials == [], "nothing the deployed stack does is refused"
    assert emulator.authorizer.stats()["checks"] > 0, "and its calls were checked"


def test_without_the_state_machines_put_object_on_results_the_image_fails_to_the_dlq(emulator, template):
    changed = without(
        template, "AWS::IAM::Policy", "StateMachineRole", lambda s: "s3:PutObject" in actions(s)
    )
    stack, inbox, _ = deploy_and_upload(emulator, changed)

    failure = the_failure(stack)
    assert "AccessDenied" in failure["error"] + failure["cause"]
    assert "s3:PutObject" in failure["cause"]
    assert result_objects(stack) == [] and inbox.messages() == []


def test_without_the_state_machines_sns_publish_no_alert_is_sent_and_the_image_fails_to_the_dlq(
    emulator, template
):
    changed = without(template, "AWS::IAM::Policy", "StateMachineRole", lambda s: "sns:Publish" in actions(s))
    stack, inbox, _ = deploy_and_upload(emulator, changed)

    failure = the_failure(stack)
    assert "AuthorizationError" in failure["error"] + failure["cause"]
    assert "SNS:Publish" in failure["cause"] or "sns:Publish" in failure["cause"]
    assert inbox.messages() == []


def test_without_the_kms_grant_on_the_topic_key_no_alert_is_sent(emulator, template):
    """The bug the strict twin found: CDK's SnsPublish grants sns:Publish but not the topic's key."""
    changed = without(
        template,
        "AWS::IAM::Policy",
        "StateMachineRole",
        lambda s: any(action.startswith("kms:") for action in actions(s)),
    )
    stack, inbox, _ = deploy_and_upload(emulator, changed)

    failure = the_failure(stack)
    assert "KMSAccessDenied" in failure["error"] + failure["cause"]
    assert "kms:GenerateDataKey" in failure["cause"]
    assert inbox.messages() == []


def test_without_the_detect_roles_detect_custom_labels_the_image_fails_to_the_dlq(emulator, template):
    changed = without(
        template,
        "AWS::IAM::Policy",
        "DetectRole",
        lambda s: "rekognition:DetectCustomLabels" in actions(s),
    )
    stack, inbox, _ = deploy_and_upload(emulator, changed)

    failure = the_failure(stack)
    assert "AccessDeniedException" in failure["cause"]
    assert "rekognition:DetectCustomLabels" in failure["cause"]
    assert result_objects(stack) == [] and inbox.messages() == []


def test_without_the_queue_policy_for_the_rule_the_event_never_reaches_the_queue(emulator, template):
    changed = without(
        template,
        "AWS::SQS::QueuePolicy",
        "IngestQueue",
        lambda s: s.get("Principal") == {"Service": "events.amazonaws.com"},
    )
    stack, inbox, outcomes = deploy_and_upload(emulator, changed)

    assert outcomes == [], "the Pipe never had anything to start"
    assert queue_depth(stack, "IngestQueueUrl") == (0, 0)
    (refused,) = emulator.refused_deliveries
    assert refused.target_arn.endswith(stack.outputs["IngestQueueUrl"].rsplit("/", 1)[1])
    assert "sqs:SendMessage" in refused.reason
    assert refused.dead_letter_arn is not None, "EventBridge sends it to the rule's DLQ instead"
    assert result_objects(stack) == [] and inbox.messages() == []


def _alert_links(inbox) -> list[str]:
    (alert,) = inbox.messages()
    return re.findall(r"^https?://\S+$", alert["Message"], flags=re.MULTILINE)


def _status_of(url: str) -> int:
    """The status a GET of ``url`` ends with (redirects followed); a 200 is of the kind the link
    names: the photo as an image, its page (``?view``) as HTML."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            kind = response.headers["Content-Type"]
            assert kind.startswith("text/html" if url.endswith("?view") else "image/"), (url, kind)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_without_the_detect_roles_read_of_the_link_secret_the_alert_fails_to_the_dlq(emulator, template):
    changed = without(
        template, "AWS::IAM::Policy", "DetectRole", lambda s: "secretsmanager:GetSecretValue" in actions(s)
    )
    stack, inbox, _ = deploy_and_upload(emulator, changed)

    failure = the_failure(stack)
    assert "AccessDeniedException" in failure["cause"]
    assert "secretsmanager:GetSecretValue" in failure["cause"]
    assert result_objects(stack) == [] and inbox.messages() == []


def test_without_the_link_roles_read_of_image_versions_a_link_redirects_to_a_refusal(emulator, template):
    changed = without(
        template, "AWS::IAM::Policy", "LinksRole", lambda s: "s3:GetObjectVersion" in actions(s)
    )
    stack, inbox, _ = deploy_and_upload(emulator, changed)

    photo, _page = _alert_links(inbox)
    assert _status_of(photo) == 403, "S3 refuses the presigned GET the link function signed"
    assert any("s3:GetObject" in denial for denial in map(str, emulator.authorizer.denials))


@pytest.mark.parametrize(
    ("removed", "status", "action"),
    [
        # the keys unreadable: the function fails, and Lambda's URL front end answers 502
        ("secretsmanager:GetSecretValue", 502, "secretsmanager:GetSecretValue"),
        # the result object unreadable: the link function refuses the link (its plain 403)
        ("s3:GetObject", 403, "s3:GetObject"),
    ],
)
def test_without_the_link_roles_secret_or_results_read_no_link_opens(
    emulator, template, removed, status, action
):
    def matches(statement: Statement) -> bool:
        if removed == "s3:GetObject":  # the results grant alone, not the input images' one
            return actions(statement) == ["s3:GetObject"]
        return removed in actions(statement)

    changed = without(template, "AWS::IAM::Policy", "LinksRole", matches)
    stack, inbox, _ = deploy_and_upload(emulator, changed)

    photo, page = _alert_links(inbox)
    assert (_status_of(photo), _status_of(page)) == (status, status)
    assert any(action in denial for denial in map(str, emulator.authorizer.denials))


@pytest.mark.parametrize("action", ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"])
def test_without_either_public_permission_the_link_url_answers_forbidden(emulator, template, action):
    changed = copy.deepcopy(template)
    (permission,) = [
        lid
        for lid, resource in changed["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Permission"
        and resource["Properties"]["Action"] == action
        and resource["Properties"].get("Principal") == "*"
    ]
    del changed["Resources"][permission]
    stack, inbox, _ = deploy_and_upload(emulator, changed)

    photo, page = _alert_links(inbox)
    assert (_status_of(photo), _status_of(page)) == (403, 403)
