"""Images at the detect function's limits, through the strict twin: its Lambda environment enforces
the function's 1024 MB as Lambda does (the process is killed: no ``MemoryError`` to catch), and
DetectCustomLabels refuses what AWS refuses."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.workflow.helpers import drain_queue, result_records, upload

pytestmark = pytest.mark.slow


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_small_files_that_decode_to_deep_pixels_stay_within_the_functions_memory(stack, model, emulator):
    """A 190 KB 16-bit gray PNG and a 670 KB float TIFF of 10000 x 10000 px: converted to 8 bits at
    full size they took over 1 GB and the environment was killed (Runtime.OutOfMemory, the image
    looping through the failure DLQ); downscaled first, each is processed."""
    deep = np.zeros((10_000, 10_000), np.uint16)
    upload(stack, "scans/gray16.png", encoded(Image.fromarray(deep), "PNG"))
    floats = Image.fromarray(np.zeros((10_000, 10_000), np.float32), "F")
    upload(stack, "scans/float.tiff", encoded(floats, "TIFF", compression="tiff_adobe_deflate"))

    stack.pipe().drain()

    records = {record["key"]: record for record in result_records(stack)}
    assert {key: records[key]["status"] for key in records} == {
        "scans/gray16.png": "ok",
        "scans/float.tiff": "ok",
    }
    assert {(record["width"], record["height"]) for record in records.values()} == {(10_000, 10_000)}
    assert "16-bit→8-bit" in records["scans/gray16.png"]["normalised"]
    assert "float gray→gray" in records["scans/float.tiff"]["normalised"]
    assert drain_queue(stack, "FailureDlqUrl") == []
    assert emulator.functions.stats()[stack.detect_function()].out_of_memory == 0


def test_an_image_over_20_to_1_is_rejected_before_the_model_sees_it(stack, model):
    """Custom Labels refuses more than 20:1; such a strip used to go to the model as the S3 object."""
    upload(stack, "strips/row-7.jpg", encoded(Image.new("RGB", (3000, 100), (40, 160, 60)), "JPEG"))

    stack.pipe().drain()

    (record,) = result_records(stack)
    assert (record["status"], record["reason"]) == ("rejected", "extreme-aspect-ratio")
    assert model.calls == 0


def test_a_progressive_jpeg_scan_bomb_is_rejected_without_decoding(stack, model, emulator):
    """A 4096 px progressive JPEG with 2,000 extra scans (165 KB) takes about 20 s of processor time
    to decode: the function timed out and was retried. Its scans are counted first."""
    from tests.unit.factories import progressive_scan_bomb

    upload(stack, "drone/pass-3.jpg", progressive_scan_bomb(4096, 2_000))

    stack.pipe().drain()

    (record,) = result_records(stack)
    assert (record["status"], record["reason"]) == ("rejected", "too-many-scans")
    stats = emulator.functions.stats()[stack.detect_function()]
    assert (stats.invocations, stats.timeouts) == (1, 0)


def test_a_hundred_boxes_under_a_1024_byte_key_end_in_one_result_and_one_alert(emulator, template, inbox_for):
    """An object-detection model's label per box, each record repeating a 1,024-byte key: the
    detect function's answer was over Step Functions' 256 KiB, and States.DataLimitExceeded (no Catch
    takes it) failed the execution and every other image of the batch, delivery after delivery."""
    import copy

    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        if "MAX_LABELS" in variables:
            variables["MAX_LABELS"] = "100"  # maxLabelsPerImage at its largest
    stack = emulator.deploy(changed)
    box = {"Width": 0.01, "Height": 0.02, "Left": 0.3, "Top": 0.4}
    predictions = [("leaf-smut", 99.0, box)] + [("healthy", 98.0 - n * 0.5, box) for n in range(99)]
    emulator.models.register(
        stack.detect_environment()["MODEL_ARN"], lambda _image: predictions, running=True
    )
    inbox = inbox_for(stack)
    key = "champ-rangée-7/" + "🌿" * 251 + ".jpg"
    assert len(key.encode()) == 1024
    upload(stack, key, encoded(Image.new("RGB", (200, 150), (60, 40, 30)), "JPEG"))
    upload(stack, "field-2/leaf.jpg", encoded(Image.new("RGB", (200, 150), (40, 160, 60)), "JPEG"))

    outcomes = stack.pipe().drain()

    assert [outcome.status for outcome in outcomes] == ["SUCCEEDED"]
    records = result_records(stack)
    long_key = [record for record in records if record["key"] == key]
    # the lowest-confidence boxes that matched no rule are left out (each record holds the key twice)
    assert 0 < len(long_key) < 100
    assert [record["confidence"] for record in long_key] == [p[1] for p in predictions[: len(long_key)]]
    assert [record["label"] for record in long_key if record["alert"]] == ["leaf-smut"]
    assert {record["key"] for record in records} == {key, "field-2/leaf.jpg"}
    assert len(inbox.messages()) == 2  # one alert per image (both carry leaf-smut at 99 %)
    assert drain_queue(stack, "FailureDlqUrl") == []
