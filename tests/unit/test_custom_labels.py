"""The Custom Labels stand-in through boto3 (moto in-process): the model lifecycle and the input rules
DetectCustomLabels applies, each with the error code AWS answers."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from PIL import Image

from labelwatch.local.custom_labels import CustomLabelsRegistry, patches
from labelwatch.local.patching import PatchSet
from tests.unit.factories import encode, noise, png_header_only

ARN = "arn:aws:rekognition:us-east-1:123456789012:project/leaves/version/leaves.v1/1700000000000"
# a project is created before its versions: its ARN carries its own time, not the version's
PROJECT_ARN = "arn:aws:rekognition:us-east-1:123456789012:project/leaves/1699999999000"
BUCKET = "images-bucket"
WAIT = 30.0  # generous bound on a state change that takes a fraction of a second


def predictor(_image: bytes) -> list[tuple[str, float, None]]:
    return [("leaf-smut", 91.0, None), ("healthy", 9.0, None)]


@pytest.fixture
def registry():
    registry = CustomLabelsRegistry(start_delay_seconds=0.3, stop_delay_seconds=0.3)
    patch_set = PatchSet(patches(registry))
    with mock_aws():
        patch_set.apply()
        try:
            yield registry
        finally:
            patch_set.restore()
            registry.cancel_pending()


@pytest.fixture
def rekognition(registry):
    return boto3.client("rekognition", region_name="us-east-1")


@pytest.fixture
def running(registry):
    registry.register(ARN, predictor, running=True)
    return registry


def status(client) -> str:
    (item,) = client.describe_project_versions(ProjectArn=PROJECT_ARN)["ProjectVersionDescriptions"]
    return item["Status"]


def jpeg(size=(200, 150)) -> bytes:
    return encode(Image.new("RGB", size, (60, 40, 30)), "JPEG")


def code_of(error) -> str:
    return error.value.response["Error"]["Code"]


# --- lifecycle ---------------------------------------------------------------------------------------


def test_start_answers_starting_then_the_version_runs(registry, rekognition):
    registry.register(ARN, predictor, running=False)
    assert status(rekognition) == "STOPPED"
    assert (
        rekognition.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)["Status"] == "STARTING"
    )
    assert registry.wait_for_status(ARN, "RUNNING", timeout=WAIT) == "RUNNING"
    assert status(rekognition) == "RUNNING"
    labels = rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": jpeg()})["CustomLabels"]
    assert [label["Name"] for label in labels] == ["leaf-smut", "healthy"]


def test_detect_while_starting_is_resource_not_ready(registry, rekognition):
    registry.start_delay_seconds = 3600  # stays STARTING for the whole test
    registry.register(ARN, predictor, running=False)
    rekognition.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    assert status(rekognition) == "STARTING"
    with pytest.raises(rekognition.exceptions.ResourceNotReadyException):
        rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": jpeg()})


def test_starting_a_starting_or_running_version_is_resource_in_use(registry, rekognition):
    registry.start_delay_seconds = 3600
    registry.register(ARN, predictor, running=False)
    rekognition.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    with pytest.raises(rekognition.exceptions.ResourceInUseException):
        rekognition.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    registry.start(ARN)  # the test's switch: RUNNING at once
    with pytest.raises(rekognition.exceptions.ResourceInUseException):
        rekognition.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)


def test_stop_answers_stopping_then_stopped_and_detect_is_refused_meanwhile(running, rekognition):
    running.stop_delay_seconds = 3600
    assert rekognition.stop_project_version(ProjectVersionArn=ARN)["Status"] == "STOPPING"
    assert status(rekognition) == "STOPPING"
    with pytest.raises(rekognition.exceptions.ResourceNotReadyException):
        rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": jpeg()})
    running.stop_delay_seconds = 0.2
    running.stop(ARN)
    assert status(rekognition) == "STOPPED"
    with pytest.raises(rekognition.exceptions.ResourceNotReadyException):
        rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": jpeg()})


def test_stop_finishes_on_its_own(running, rekognition):
    rekognition.stop_project_version(ProjectVersionArn=ARN)
    assert running.wait_for_status(ARN, "STOPPED", timeout=WAIT) == "STOPPED"


def test_stopping_a_version_that_is_not_running_is_resource_in_use(registry, rekognition):
    registry.register(ARN, predictor, running=False)
    with pytest.raises(rekognition.exceptions.ResourceInUseException):
        rekognition.stop_project_version(ProjectVersionArn=ARN)


def test_a_late_timer_does_not_undo_a_later_switch(registry, rekognition):
    registry.register(ARN, predictor, running=False)
    rekognition.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    registry.stop(ARN)  # before the start delay ends
    assert registry.wait_for_status(ARN, "RUNNING", timeout=1.0) == "STOPPED"


def test_min_inference_units_is_required_even_without_client_side_validation(registry):
    registry.register(ARN, predictor, running=False)
    unchecked = boto3.client(
        "rekognition", region_name="us-east-1", config=Config(parameter_validation=False)
    )
    for units in ({}, {"MinInferenceUnits": 0}):
        with pytest.raises(unchecked.exceptions.InvalidParameterException):
            unchecked.start_project_version(ProjectVersionArn=ARN, **units)
    assert registry.status(ARN) == "STOPPED"


def test_unknown_version_is_resource_not_found(registry, rekognition):
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": jpeg()})


# --- input rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "BMP", "TIFF"])
def test_only_jpeg_and_png_are_accepted(running, rekognition, fmt):
    body = encode(Image.new("RGB", (200, 150), (1, 2, 3)), fmt)
    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": body})


def test_png_is_accepted(running, rekognition):
    body = encode(Image.new("RGB", (200, 150), (1, 2, 3)), "PNG")
    assert rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": body})["CustomLabels"]


def test_a_jpeg_header_with_garbage_is_an_invalid_format(running, rekognition):
    with pytest.raises(rekognition.exceptions.InvalidImageFormatException):
        rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": b"\xff\xd8\xff" + b"\0" * 50})


@pytest.mark.parametrize("size", [(63, 200), (200, 63), (4097, 300), (300, 4097), (64 * 21, 64)], ids=str)
def test_sides_outside_64_to_4096_px_or_beyond_20_to_1_are_invalid_parameters(running, rekognition, size):
    body = png_header_only(*size) if max(size) > 4096 else jpeg(size)
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": body})


@pytest.mark.parametrize("size", [(64, 64), (4096, 205), (64 * 20, 64)], ids=str)
def test_the_limits_themselves_are_accepted(running, rekognition, size):
    body = png_header_only(*size) if max(size) > 2000 else jpeg(size)
    assert rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": body})["CustomLabels"]


def test_bytes_over_4_mb_are_too_large(running, rekognition):
    body = encode(noise((1400, 1400)), "PNG")
    assert len(body) > 4 * 1024 * 1024
    with pytest.raises(rekognition.exceptions.ImageTooLargeException):
        rekognition.detect_custom_labels(ProjectVersionArn=ARN, Image={"Bytes": body})


def test_an_s3_object_over_15_mb_is_too_large_and_under_it_is_read(running, rekognition):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    big = jpeg() + b"\0" * (15 * 1024 * 1024)  # trailing bytes after the JPEG's end
    s3.put_object(Bucket=BUCKET, Key="big.jpg", Body=big)
    s3.put_object(Bucket=BUCKET, Key="ok.jpg", Body=jpeg())
    with pytest.raises(rekognition.exceptions.ImageTooLargeException):
        rekognition.detect_custom_labels(
            ProjectVersionArn=ARN, Image={"S3Object": {"Bucket": BUCKET, "Name": "big.jpg"}}
        )
    answer = rekognition.detect_custom_labels(
        ProjectVersionArn=ARN, Image={"S3Object": {"Bucket": BUCKET, "Name": "ok.jpg"}}
    )
    assert answer["CustomLabels"]
    with pytest.raises(rekognition.exceptions.InvalidS3ObjectException):
        rekognition.detect_custom_labels(
            ProjectVersionArn=ARN, Image={"S3Object": {"Bucket": BUCKET, "Name": "no"}}
        )


def test_dimensions_are_read_without_decoding(monkeypatch, running):
    from labelwatch.local import custom_labels

    bomb, photo = png_header_only(4000, 3000), jpeg((300, 200))

    def no_decoding(*_args, **_kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    assert custom_labels.check_image(bomb) == (4000, 3000)
    assert custom_labels.check_image(photo) == (300, 200)


def test_patches_restore_moto():
    from moto.rekognition.responses import RekognitionResponse

    patch_set = PatchSet(patches(CustomLabelsRegistry()))
    assert patch_set.check_signatures() == []
    before = RekognitionResponse.detect_custom_labels
    patch_set.apply()
    assert RekognitionResponse.detect_custom_labels is not before
    patch_set.restore()
    assert RekognitionResponse.detect_custom_labels is before


def test_a_project_is_known_by_its_own_arn_only_as_on_aws():
    """DescribeProjects gives the project's ARN; the one a version's ARN suggests (its own time) is
    refused, as AWS refuses it, so commands that guessed it fail here as they would there."""
    registry = CustomLabelsRegistry()
    registry.register(ARN, predictor)
    fix = PatchSet(patches(registry))
    fix.apply()
    try:
        with mock_aws():
            client = boto3.client("rekognition", region_name="us-east-1")
            (project,) = client.describe_projects(ProjectNames=["leaves"])["ProjectDescriptions"]
            assert project["ProjectArn"] == PROJECT_ARN and project["Status"] == "CREATED"
            assert client.describe_projects(ProjectNames=["other"])["ProjectDescriptions"] == []
            guessed = ARN.split("/version/")[0] + "/" + ARN.split("/")[-1]
            with pytest.raises(client.exceptions.ResourceNotFoundException):
                client.describe_project_versions(ProjectArn=guessed)
            (item,) = client.describe_project_versions(ProjectArn=PROJECT_ARN)["ProjectVersionDescriptions"]
            assert item["ProjectVersionArn"] == ARN
    finally:
        fix.restore()
