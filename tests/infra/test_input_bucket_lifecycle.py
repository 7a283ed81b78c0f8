"""The versioned input bucket forgets what nobody can need any more.

Versioning keeps the uploaded version of an image after it is overwritten or deleted (the detect
function reads the version its event names), so without a rule every photo ever replaced is kept and
billed forever. ``noncurrentVersionDays`` after a version stops being current it expires; it must
outlast the DLQs' 14 days, because a redrive reads the version its message names.
"""

from __future__ import annotations

import pytest

from infra.config import ConfigError, LabelwatchConfig
from tests.conftest import TUNED

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cdk")]

ARN = "arn:aws:rekognition:us-east-1:123456789012:project/leaves/version/leaves.2026-11-01/1761955200000"
BASE = {
    "modelArn": ARN,
    "notificationEmails": "ops@example.com",
    "labelsOfInterest": "leaf-smut",
}


def input_bucket_rules(template: dict) -> list[dict]:
    (bucket,) = [
        r
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::S3::Bucket" and lid.startswith("IngestionInputBucket")
    ]
    return bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])


def test_noncurrent_versions_of_uploads_expire_after_30_days_by_default(template):
    (rule,) = input_bucket_rules(template)
    assert rule["Status"] == "Enabled"
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rule["ExpiredObjectDeleteMarker"] is True  # a delete marker left with no version goes too
    # the current version of an image, and the uploads waiting to be processed, are never expired
    assert not {"ExpirationInDays", "ExpirationDate", "Prefix", "TagFilters"} & set(rule)


def test_noncurrent_version_days_sets_the_rule(tuned_template):
    (rule,) = input_bucket_rules(tuned_template)
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": int(TUNED["noncurrentVersionDays"])}


def test_the_default_is_30_days():
    assert LabelwatchConfig.from_mapping(BASE).noncurrent_version_days == 30


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            7,
            "noncurrentVersionDays: 7 is out of range; must be between 14 and 3650 (a message redriven "
            "from a DLQ (kept 14 days) reads the version of the image it names)",
        ),
        (3651, "noncurrentVersionDays: 3651 is out of range; must be between 14 and 3650"),
        ("a month", "noncurrentVersionDays: 'a month' is not a whole number"),
    ],
)
def test_noncurrent_version_days_out_of_its_bounds_stops_synth(value, problem):
    with pytest.raises(ConfigError) as caught:
        LabelwatchConfig.from_mapping({**BASE, "noncurrentVersionDays": value})
    (found,) = caught.value.problems
    assert found.startswith(problem)
