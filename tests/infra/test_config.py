"""Unit tests of the deployment parameters' rules (infra/config.py): no CDK, no synth."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError

import pytest

from infra.config import (
    CONTEXT_KEYS,
    ConfigError,
    LabelwatchConfig,
    Subscriber,
    bucket_name_problems,
)

ARN = "arn:aws:rekognition:us-east-1:123456789012:project/leaves/version/leaves.2026-11-01/1761955200000"
BASE = {
    "modelArn": ARN,
    "notificationEmails": "ops@example.com",
    "labelsOfInterest": "leaf-smut,bacterial-leaf-blight",
}


def parse(**overrides):
    return LabelwatchConfig.from_mapping({**BASE, **overrides})


def problems(**overrides) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(**overrides)
    return caught.value.problems


def only_problem(**overrides) -> str:
    found = problems(**overrides)
    assert len(found) == 1, found
    return found[0]


# -- valid input and defaults ----------------------------------------------------------------------


def test_minimal_parameters_take_the_defaults():
    config = parse()
    assert config.model_arn == ARN
    assert config.subscribers == (Subscriber("ops@example.com", ()),)
    assert config.labels_of_interest == ("leaf-smut", "bacterial-leaf-blight")
    assert config.min_confidence == 70.0
    assert config.label_rules == {"leaf-smut": 70.0, "bacterial-leaf-blight": 70.0}
    assert (config.input_bucket_name, config.results_bucket_name) == (None, None)
    assert config.image_links is True
    assert (config.image_link_days, config.link_concurrency) == (7, 5)
    assert config.key_prefix == ""
    assert (config.batch_size, config.batch_window_seconds) == (10, 2)
    assert (config.max_receive_count, config.visibility_timeout_seconds) == (12, 360)
    assert (config.map_concurrency, config.claim_retention_days) == (10, 14)
    assert config.ops_email is None
    assert config.analytics_database == "labelwatch"


def test_config_is_frozen():
    with pytest.raises(FrozenInstanceError):
        parse().batch_size = 3


def test_every_parameter_given_as_cli_strings():
    config = parse(
        notificationEmails="a@x.com,b@y.com=leaf-smut|bacterial-leaf-blight",
        labelsOfInterest="leaf-smut=80, bacterial-leaf-blight",
        minConfidence="65.5",
        inputBucketName="my-input.bucket",
        resultsBucketName="my-results-bucket",
        imageLinks="no",
        imageLinkDays="30",
        linkConcurrency="0",
        keyPrefix="leaves/",
        batchSize="50",
        batchWindowSeconds="0",
        maxReceiveCount="1000",
        visibilityTimeoutSeconds="330",
        mapConcurrency="40",
        maxConcurrentDetections="8",
        claimRetentionDays="365",
        opsEmail="oncall@example.org",
        analyticsDatabase="leaf_results",
    )
    assert config.subscribers == (
        Subscriber("a@x.com", ()),
        Subscriber("b@y.com", ("leaf-smut", "bacterial-leaf-blight")),
    )
    assert config.label_rules == {"leaf-smut": 80.0, "bacterial-leaf-blight": 65.5}
    assert config.min_confidence == 65.5
    assert config.input_bucket_name == "my-input.bucket"
    assert config.results_bucket_name == "my-results-bucket"
    assert config.image_links is False
    assert (config.image_link_days, config.link_concurrency) == (30, 0)
    assert config.key_prefix == "leaves/"
    assert (config.batch_size, config.batch_window_seconds, config.max_receive_count) == (50, 0, 1000)
    assert (config.visibility_timeout_seconds, config.map_concurrency) == (330, 40)
    assert config.max_concurrent_detections == 8
    assert config.claim_retention_days == 365
    assert config.ops_email == "oncall@example.org"
    assert config.analytics_database == "leaf_results"


def test_json_lists_and_objects():
    config = parse(
        notificationEmails=[
            "a@x.com",
            {"email": "b@y.com", "labels": ["leaf-smut"]},
            {"email": "c@z.com", "labels": "leaf-smut|healthy"},
            "d@w.com=healthy",
        ],
        labelsOfInterest=["leaf-smut=85", "healthy"],
        minConfidence=50,
    )
    assert [s.labels for s in config.subscribers] == [
        (),
        ("leaf-smut",),
        ("leaf-smut", "healthy"),
        ("healthy",),
    ]
    assert config.label_rules == {"leaf-smut": 85.0, "healthy": 50.0}


def test_json_given_as_a_string_and_label_object_form():
    config = parse(
        notificationEmails=json.dumps([{"email": "b@y.com", "labels": ["healthy"]}]),
        labelsOfInterest='{"leaf-smut": 90, "healthy": null}',
    )
    assert config.subscribers == (Subscriber("b@y.com", ("healthy",)),)
    assert config.label_rules == {"leaf-smut": 90.0, "healthy": 70.0}


def test_label_rules_is_ready_for_json():
    rules = parse(labelsOfInterest="a=80,b").label_rules
    assert json.loads(json.dumps(rules)) == {"a": 80.0, "b": 70.0}


def test_email_local_part_may_hold_an_equals_sign():
    config = parse(notificationEmails="x=y@example.com=leaf-smut")
    assert config.subscribers == (Subscriber("x=y@example.com", ("leaf-smut",)),)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("FALSE", False),
        ("yes", True),
        ("no", False),
        ("1", True),
        ("0", False),
        (1, True),
        (0, False),
    ],
)
def test_image_links_booleans(raw, expected):
    assert parse(imageLinks=raw).image_links is expected


def test_blank_optional_values_mean_not_given():
    config = parse(inputBucketName="", opsEmail=None, keyPrefix="", minConfidence="")
    assert (config.input_bucket_name, config.ops_email, config.key_prefix) == (None, None, "")
    assert config.min_confidence == 70.0


class ContextNode:
    """A construct's ``node`` as far as the parameters need it: the whole context."""

    def __init__(self, values):
        self.values = values

    def get_all_context(self):
        return dict(self.values)


def test_from_context_reads_the_context():
    config = LabelwatchConfig.from_context(ContextNode({**BASE, "batchSize": 5}))
    assert config.batch_size == 5


def test_from_context_reports_a_misspelt_parameter():
    """`cdk deploy -c minConfidance=90` must not deploy with the default threshold of 70."""
    with pytest.raises(ConfigError) as caught:
        LabelwatchConfig.from_context(ContextNode({**BASE, "minConfidance": 90}))
    assert caught.value.problems == ["minConfidance: 90 is not a parameter; did you mean 'minConfidence'?"]


@pytest.mark.parametrize(
    "key",
    [
        "@aws-cdk/core:newStyleStackSynthesis",  # feature flags
        "aws:cdk:bundling-stacks",  # the CLI's settings
        "availability-zones:account=123456789012:region=us-east-1",  # cdk.context.json's lookups
        "acknowledged-issue-numbers",  # `cdk acknowledge`
        "assets-ecr-repository-name",
        "stackName",  # the app's own (infra/app.py)
    ],
)
def test_cdk_and_app_context_keys_are_not_parameters(key):
    assert parse(**{key: "x"}).batch_size == 10


def test_an_unknown_name_without_a_near_miss_lists_the_parameters():
    message = only_problem(colour="blue")
    assert message == f"colour: 'blue' is not a parameter; the parameters are {', '.join(CONTEXT_KEYS)}"


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("minConfidance", "minConfidence"),
        ("min_confidence", "minConfidence"),
        ("keyprefix", "keyPrefix"),
        ("opsMail", "opsEmail"),
        ("batchWindow", "batchWindowSeconds"),
        ("notificationEmail", "notificationEmails"),
    ],
)
def test_an_unknown_name_names_the_closest_parameter(key, meant):
    assert only_problem(**{key: 1}) == f"{key}: 1 is not a parameter; did you mean {meant!r}?"


# -- one message per broken rule: parameter, value and rule ----------------------------------------


def test_eleven_labels():
    message = only_problem(labelsOfInterest=",".join(f"label-{n}" for n in range(11)))
    assert message == "labelsOfInterest: 11 labels given; 1 to 10 are allowed"


def test_no_labels():
    assert only_problem(labelsOfInterest=[]) == "labelsOfInterest: 0 labels given; 1 to 10 are allowed"


def test_confidence_120():
    assert only_problem(minConfidence=120) == "minConfidence: 120 is out of range; must be between 0 and 100"


def test_confidence_not_a_number():
    assert only_problem(minConfidence="high").startswith("minConfidence: 'high' is not a number")


@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), -0.5])
def test_confidence_odd_values(value):
    assert only_problem(minConfidence=value).startswith("minConfidence: ")


def test_override_out_of_range():
    message = only_problem(labelsOfInterest="leaf-smut=101,healthy")
    assert message == (
        "labelsOfInterest: 'leaf-smut=101': threshold 101 is out of range; must be between 0 and 100"
    )


def test_override_not_a_number():
    message = only_problem(labelsOfInterest="leaf-smut=lots")
    assert message.startswith("labelsOfInterest: 'leaf-smut=lots': threshold 'lots' is not a number")


def test_non_version_model_arn():
    arn = "arn:aws:rekognition:us-east-1:123456789012:project/x/1"
    assert only_problem(modelArn=arn) == (
        f"modelArn: {arn!r} is not a Rekognition Custom Labels project version ARN "
        "(arn:aws:rekognition:<region>:<account>:project/<name>/version/<name>/<13-digit timestamp>)"
    )


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:rekognition:us-east-1:123456789012:project/leaves/1761955200000",  # the project ARN
        "arn:aws:rekognition:us-east-1:12345678901:project/a/version/b/1761955200000",
        "arn:aws:rekognition:us-east-1:123456789012:project/a/version/b/176195520000",
        "arn:aws:s3:us-east-1:123456789012:project/a/version/b/1761955200000",
        "arn:aws:rekognition:us-east-1:123456789012:project/a b/version/b/1761955200000",
    ],
)
def test_other_bad_model_arns(arn):
    assert only_problem(modelArn=arn).startswith(f"modelArn: {arn!r} is not a Rekognition")


def test_partition_arns_are_accepted():
    arn = "arn:aws-us-gov:rekognition:us-gov-west-1:123456789012:project/p/version/v.1/1761955200000"
    config = parse(modelArn=arn)
    assert (config.model_arn, config.model_partition, config.model_region) == (
        arn,
        "aws-us-gov",
        "us-gov-west-1",
    )


def version_arn(partition: str, region: str) -> str:
    return f"arn:{partition}:rekognition:{region}:123456789012:project/p/version/v.1/1761955200000"


@pytest.mark.parametrize(
    ("partition", "region", "rule"),
    [
        ("aws", "us-moon-1", "region 'us-moon-1', which is not a region of partition 'aws' where Amazon"),
        ("aws", "cn-north-1", "region 'cn-north-1', which is not a region of partition 'aws' where Amazon"),
        ("aws-us-gov", "us-east-1", "region 'us-east-1', which is not a region of partition 'aws-us-gov'"),
        ("aws-cn", "cn-north-1", "partition 'aws-cn', where Amazon Rekognition runs in no region"),
        (
            "aws-moon",
            "us-east-1",
            "partition 'aws-moon', which is not an AWS partition (aws, aws-cn, aws-us-gov",
        ),
    ],
)
def test_model_arns_outside_rekognitions_regions(partition, region, rule):
    """Such a model can never answer: every image would fail (a typo, or an ARN from another partition)."""
    arn = version_arn(partition, region)
    assert only_problem(modelArn=arn).startswith(f"modelArn: {arn!r} is in {rule}")


def test_a_region_outside_rekognition_lists_rekognitions_regions():
    listed = only_problem(modelArn=version_arn("aws", "us-moon-1")).rpartition(" runs (")[2]
    assert "us-east-1, " in listed and "eu-west-1, " in listed and listed.endswith(")")


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "a@b", "a@@b.com", "a b@c.com", "a@-b.com", ".a@b.com", "a..b@c.com", "a@b.com."],
)
def test_malformed_email(email):
    assert (
        only_problem(notificationEmails=email)
        == f"notificationEmails: {email!r} is not a valid e-mail address"
    )


def test_email_too_long():
    email = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"
    assert only_problem(notificationEmails=email) == (
        f"notificationEmails: {email!r} is longer than 254 characters"
    )


def test_filter_label_not_in_labels_of_interest():
    message = only_problem(notificationEmails="a@x.com=leaf-rot")
    assert message == (
        "notificationEmails: 'a@x.com=leaf-rot' filters on 'leaf-rot', which is not one of "
        "labelsOfInterest ('leaf-smut', 'bacterial-leaf-blight')"
    )


def test_duplicate_subscriber():
    assert "'A@x.com' is listed more than once" in only_problem(notificationEmails="a@x.com,A@x.com")


def test_emails_required():
    assert only_problem(notificationEmails=None).startswith("notificationEmails: not set; it is required")
    assert only_problem(notificationEmails=[]).startswith("notificationEmails: [] has no address")


def test_model_arn_and_labels_required():
    found = problems(modelArn="", labelsOfInterest=None)
    assert [p.split(":")[0] for p in found] == ["modelArn", "labelsOfInterest"]
    assert all("not set; it is required" in p for p in found)


@pytest.mark.parametrize(
    ("labels", "fragment"),
    [
        ("a,,b", "labelsOfInterest: '' is blank"),
        (["  "], "labelsOfInterest: '' is blank"),
        (["x" * 101], "is longer than 100 characters"),
        (["a|b"], "contains '|'"),
        ("leaf-smut,Leaf-Smut", "'Leaf-Smut' is listed more than once (as 'leaf-smut')"),
        ([5], "labelsOfInterest: 5 is not a label name"),
        ("[not json", "labelsOfInterest: '[not json' is not valid JSON"),
    ],
)
def test_bad_labels(labels, fragment):
    assert fragment in only_problem(labelsOfInterest=labels)


@pytest.mark.parametrize(
    ("label", "character"),
    [
        ("leaf\u200bsmut", "U+200B ZERO WIDTH SPACE"),
        ("leaf\u200dsmut", "U+200D ZERO WIDTH JOINER"),
        ("\ufeffleaf-smut", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("leaf\tsmut", "U+0009"),
        ("leaf\x07smut", "U+0007"),
        ("leaf\u202esmut", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("leaf\u2028smut", "U+2028 LINE SEPARATOR"),
    ],
)
def test_labels_with_control_or_invisible_characters(label, character):
    """Such a name never equals the model's label (an alert that cannot fire) and hides in e-mails."""
    assert only_problem(labelsOfInterest=[label]) == (
        f"labelsOfInterest: {label!r} contains {character}; "
        "label names may not contain control or invisible characters"
    )


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("My-Bucket", "may contain only lowercase letters, digits, hyphens and dots"),
        ("ab", "must be 3 to 63 characters long (it has 2)"),
        ("a" * 64, "must be 3 to 63 characters long (it has 64)"),
        ("192.168.5.4", "must not be formatted as an IP address"),
        ("my..bucket", "must not contain two adjacent dots"),
        ("-bucket", "must begin and end with a lowercase letter or digit"),
        ("bucket.", "must begin and end with a lowercase letter or digit"),
        ("my_bucket", "may contain only lowercase letters, digits, hyphens and dots"),
        ("xn--bucket", "must not start with 'xn--'"),
        ("bucket-s3alias", "must not end with '-s3alias'"),
        ("bucket--ol-s3", "must not end with '--ol-s3'"),
    ],
)
def test_bad_bucket_names(name, fragment):
    message = only_problem(inputBucketName=name)
    assert message.startswith(f"inputBucketName: {name!r} is not a valid S3 bucket name: ")
    assert fragment in message


def test_bucket_name_rules_all_listed():
    assert bucket_name_problems("A") == [
        "must be 3 to 63 characters long (it has 1)",
        "may contain only lowercase letters, digits, hyphens and dots",
    ]
    assert bucket_name_problems("labelwatch-results-123") == []


def test_buckets_must_differ():
    message = only_problem(inputBucketName="same-bucket", resultsBucketName="same-bucket")
    assert message == (
        "resultsBucketName: 'same-bucket' is also the inputBucketName; the two buckets must differ"
    )


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        ("batchSize", 0, "batchSize: 0 is out of range; must be between 1 and 50"),
        ("batchSize", 51, "batchSize: 51 is out of range; must be between 1 and 50"),
        ("batchWindowSeconds", 301, "batchWindowSeconds: 301 is out of range; must be between 0 and 300"),
        ("maxReceiveCount", 0, "maxReceiveCount: 0 is out of range; must be between 1 and 1000"),
        ("mapConcurrency", 41, "mapConcurrency: 41 is out of range; must be between 1 and 40"),
        (
            "maxConcurrentDetections",
            1001,
            "maxConcurrentDetections: 1001 is out of range; must be between 0 and 1000",
        ),
        (
            "claimRetentionDays",
            366,
            "claimRetentionDays: 366 is out of range; must be between 14 and 365 "
            "(a message redriven from a DLQ (kept 14 days) must still find its claim)",
        ),
        ("maxLabelsPerImage", 101, "maxLabelsPerImage: 101 is out of range; must be between 1 and 100"),
        ("imageLinkDays", 31, "imageLinkDays: 31 is out of range; must be between 1 and 30"),
        ("linkConcurrency", 101, "linkConcurrency: 101 is out of range; must be between 0 and 100"),
        (
            "visibilityTimeoutSeconds",
            300,
            "visibilityTimeoutSeconds: 300 is out of range; must be between 330",
        ),
        ("batchSize", "2.5", "batchSize: '2.5' is not a whole number"),
        ("batchSize", "ten", "batchSize: 'ten' is not a whole number"),
        ("batchSize", True, "batchSize: True is not a whole number"),
    ],
)
def test_integer_ranges(parameter, value, expected):
    assert only_problem(**{parameter: value}).startswith(expected)


def test_range_messages_say_why():
    assert "Express workflow's 5-minute worst case" in only_problem(visibilityTimeoutSeconds=120)
    assert "reserved concurrency" in only_problem(linkConcurrency=-1)


def test_a_retired_parameter_says_what_replaced_it():
    assert only_problem(imageLinkExpiryMinutes=60) == (
        "imageLinkExpiryMinutes: 60 is not a parameter; it was replaced by imageLinkDays (1-30): alert "
        "links no longer expire with the signing role's credentials"
    )


def test_bad_boolean():
    assert only_problem(imageLinks="maybe") == (
        "imageLinks: 'maybe' is not a boolean; use true/false, yes/no or 1/0"
    )


def test_key_prefix_rules():
    assert only_problem(keyPrefix="/leaves/") == (
        "keyPrefix: '/leaves/' starts with '/'; S3 keys have no leading slash"
    )
    assert "is longer than 512 characters" in only_problem(keyPrefix="k" * 513)


@pytest.mark.parametrize("wildcard", ["*", "?"])
def test_key_prefix_without_iam_wildcards(wildcard):
    """The prefix ends up in the detect function's IAM grant, where '*' and '?' match any key."""
    prefix = f"field{wildcard}/"
    assert only_problem(keyPrefix=prefix) == (
        f"keyPrefix: {prefix!r} contains {wildcard!r}; '*' and '?' are IAM wildcards and would widen the "
        "detect function's read access beyond the prefix"
    )


def test_key_prefix_may_hold_spaces_and_plus_signs():
    assert parse(keyPrefix="field 7/c++ shots/").key_prefix == "field 7/c++ shots/"


def test_ops_email_and_database():
    assert only_problem(opsEmail="oncall") == "opsEmail: 'oncall' is not a valid e-mail address"
    assert only_problem(analyticsDatabase="Label-Watch").startswith(
        "analyticsDatabase: 'Label-Watch' is not a valid Glue database name"
    )


def test_several_errors_are_reported_together():
    with pytest.raises(ConfigError) as caught:
        parse(
            modelArn="arn:aws:rekognition:us-east-1:123456789012:project/x/1",
            labelsOfInterest=",".join(f"l{n}" for n in range(11)),
            minConfidence=120,
            notificationEmails="bad-address",
            inputBucketName="UPPER",
            batchSize=0,
        )
    error = caught.value
    assert isinstance(error, ValueError)
    assert [p.split(":")[0] for p in error.problems] == [
        "modelArn",
        "minConfidence",
        "labelsOfInterest",
        "notificationEmails",
        "inputBucketName",
        "batchSize",
    ]
    text = str(error)
    assert text.startswith("invalid labelwatch configuration (6 problems):")
    for problem in error.problems:
        assert f"\n  - {problem}" in text


def test_claims_are_remembered_as_long_as_the_dlqs_keep_messages():
    """A redrive on day 10 of a message whose claim was forgotten on day 7 alerted a second time."""
    assert only_problem(claimRetentionDays=7) == (
        "claimRetentionDays: 7 is out of range; must be between 14 and 365 "
        "(a message redriven from a DLQ (kept 14 days) must still find its claim)"
    )


@pytest.mark.parametrize(("window", "visibility"), [(300, 360), (31, 360), (100, 400)])
def test_the_visibility_timeout_outlasts_the_batching_window_and_the_execution(window, visibility):
    """The visibility timeout is the claim's lease: shorter than window + 300 s + margin, SQS hands a
    message whose execution still runs to a second execution (two alerts)."""
    needed = window + 330
    assert only_problem(batchWindowSeconds=window, visibilityTimeoutSeconds=visibility) == (
        f"visibilityTimeoutSeconds: {visibility} is too short for batchWindowSeconds={window}; it must be"
        f" at least batchWindowSeconds + 300 (an Express execution's limit) + 30 = {needed}"
    )
    assert (
        parse(batchWindowSeconds=window, visibilityTimeoutSeconds=needed).visibility_timeout_seconds == needed
    )


# -- the model autopilot and the log level (issue 11) ----------------------------------------------


def test_the_model_runs_on_demand_by_default_with_one_unit_and_full_execution_logs():
    config = parse()
    assert (config.model_control, config.model_idle_minutes, config.max_wait_minutes) == ("on-demand", 10, 60)
    assert (config.min_inference_units, config.max_inference_units) == (1, 0)
    assert config.execution_log_level == "ALL"


def test_autopilot_parameters_as_cli_strings():
    config = parse(
        modelControl="always-on",
        modelIdleMinutes="30",
        maxWaitMinutes="45",
        minInferenceUnits="2",
        maxInferenceUnits="5",
        executionLogLevel="error",
    )
    assert (config.model_control, config.model_idle_minutes, config.max_wait_minutes) == ("always-on", 30, 45)
    assert (config.min_inference_units, config.max_inference_units) == (2, 5)
    assert config.execution_log_level == "ERROR"


def test_an_unknown_model_control_names_the_choices():
    assert only_problem(modelControl="sometimes") == (
        "modelControl: 'sometimes' is not one of manual, on-demand, always-on"
    )
    assert only_problem(executionLogLevel="DEBUG") == (
        "executionLogLevel: 'DEBUG' is not one of ALL, ERROR, FATAL, OFF"
    )


def test_max_inference_units_below_the_minimum_is_refused():
    assert only_problem(minInferenceUnits=3, maxInferenceUnits=2) == (
        "maxInferenceUnits: 2 is below minInferenceUnits=3; it must be at least minInferenceUnits "
        "(or 0 for no auto-scaling)"
    )


def test_the_backlog_alarm_fires_before_the_queue_drops_an_image():
    message = only_problem(maxWaitMinutes=20160)
    assert message.startswith("maxWaitMinutes: 20160 is out of range; must be between 1 and 20159")
    assert "14-day retention" in message
    assert only_problem(modelIdleMinutes=0).startswith("modelIdleMinutes: 0 is out of range")


def test_links_may_not_outlive_the_versions_they_open():
    assert only_problem(imageLinkDays=30, noncurrentVersionDays=14).startswith(
        "imageLinkDays: 30 is more than noncurrentVersionDays=14; a link opens the version it was sent for"
    )
