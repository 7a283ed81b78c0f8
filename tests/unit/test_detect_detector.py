"""DetectCustomLabels requests, answers and errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from detect.detector import detect_labels
from detect.errors import DetectorMisconfigured, DetectorThrottled, ImageRejected, ModelNotReady

from tests.unit.factories import BUCKET, MODEL_ARN, custom_label


def call(rekognition, *, key="leaves/my photoé.jpg", version_id=None, min_confidence=70.5):
    return detect_labels(
        rekognition.client,
        model_arn=MODEL_ARN,
        bucket=BUCKET,
        key=key,
        version_id=version_id,
        min_confidence=min_confidence,
    )


def test_request_names_the_decoded_key_version_and_lowest_threshold(rekognition):
    rekognition.stubber.add_response(
        "detect_custom_labels",
        {"CustomLabels": []},
        {
            "ProjectVersionArn": MODEL_ARN,
            "Image": {"S3Object": {"Bucket": BUCKET, "Name": "leaves/my photoé.jpg", "Version": "v-3"}},
            "MinConfidence": 70.5,
        },
    )
    assert call(rekognition, version_id="v-3") == []


def test_request_without_version(rekognition):
    rekognition.stubber.add_response(
        "detect_custom_labels",
        {"CustomLabels": []},
        {
            "ProjectVersionArn": MODEL_ARN,
            "Image": {"S3Object": {"Bucket": BUCKET, "Name": "a+b.jpg"}},
            "MinConfidence": 0.0,
        },
    )
    call(rekognition, key="a+b.jpg", min_confidence=0)


def test_request_with_normalised_bytes(rekognition):
    rekognition.stubber.add_response(
        "detect_custom_labels",
        {"CustomLabels": []},
        {"ProjectVersionArn": MODEL_ARN, "Image": {"Bytes": b"\xff\xd8\xff jpeg"}, "MinConfidence": 50.0},
    )
    labels = detect_labels(
        rekognition.client,
        model_arn=MODEL_ARN,
        bucket=BUCKET,
        key="a.webp",
        version_id="v-1",
        min_confidence=50,
        image_bytes=b"\xff\xd8\xff jpeg",
    )
    assert labels == []


def test_labels_rounded_sorted_with_bounding_boxes(rekognition):
    box = {"Width": 0.25, "Height": 0.5, "Left": 0.1, "Top": 0.2}
    rekognition.stubber.add_response(
        "detect_custom_labels",
        {
            "CustomLabels": [
                custom_label("healthy", 71.004),
                custom_label("leaf-smut", 93.126, box),
            ]
        },
    )
    labels = call(rekognition)
    assert [(label.name, label.confidence, label.geometry) for label in labels] == [
        ("leaf-smut", 93.13, box),
        ("healthy", 71.0, None),
    ]


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ResourceNotReadyException", ModelNotReady),
        ("ThrottlingException", DetectorThrottled),
        ("ProvisionedThroughputExceededException", DetectorThrottled),
        ("LimitExceededException", DetectorThrottled),
        ("InternalServerError", DetectorThrottled),
        ("AccessDeniedException", DetectorMisconfigured),
        ("ResourceNotFoundException", DetectorMisconfigured),
        ("InvalidParameterException", DetectorMisconfigured),
    ],
)
def test_errors_become_typed_errors(rekognition, code, error):
    rekognition.stubber.add_client_error(
        "detect_custom_labels", service_error_code=code, service_message="no"
    )
    with pytest.raises(error) as info:
        call(rekognition)
    assert type(info.value).__name__ == error.__name__  # Step Functions matches on this name
    assert code in str(info.value) and MODEL_ARN in str(info.value)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("InvalidImageFormatException", "unsupported-format"),
        ("ImageTooLargeException", "too-large"),
        ("InvalidS3ObjectException", "object-missing"),
    ],
)
def test_image_problems_become_rejections(rekognition, code, reason):
    rekognition.stubber.add_client_error("detect_custom_labels", service_error_code=code)
    with pytest.raises(ImageRejected) as info:
        call(rekognition)
    assert info.value.reason == reason


def test_unknown_errors_propagate_unchanged(rekognition):
    rekognition.stubber.add_client_error("detect_custom_labels", service_error_code="SomethingNew")
    with pytest.raises(ClientError, match="SomethingNew"):
        call(rekognition)


@pytest.mark.parametrize(
    "network_error",
    [
        EndpointConnectionError(endpoint_url="https://rekognition.us-east-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://rekognition.us-east-1.amazonaws.com"),
    ],
)
def test_network_errors_are_retried_by_the_workflow(network_error):
    class Unreachable:
        def detect_custom_labels(self, **_request):
            raise network_error

    with pytest.raises(DetectorThrottled, match="unreachable"):
        detect_labels(
            Unreachable(), model_arn=MODEL_ARN, bucket=BUCKET, key="a.jpg", version_id=None, min_confidence=50
        )


def test_max_labels_asks_the_service_for_the_highest_ranked_only(rekognition):
    rekognition.stubber.add_response(
        "detect_custom_labels",
        {"CustomLabels": [{"Name": f"box-{n}", "Confidence": 90.0 - n} for n in range(3)]},
        {
            "ProjectVersionArn": MODEL_ARN,
            "Image": {"S3Object": {"Bucket": BUCKET, "Name": "a.jpg"}},
            "MinConfidence": 0.0,
            "MaxResults": 3,
        },
    )
    labels = detect_labels(
        rekognition.client,
        model_arn=MODEL_ARN,
        bucket=BUCKET,
        key="a.jpg",
        version_id=None,
        min_confidence=0,
        max_labels=3,
    )
    assert [label.name for label in labels] == ["box-0", "box-1", "box-2"]
