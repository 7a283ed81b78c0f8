"""200 uploads at once through the embedded stack: each gets its outcome, and its own log line.

Regressions of issue 8: the in-process runtime used to apply the function's environment to the
shared ``os.environ`` per invocation (and remove it when none ran) while the Step Functions
interpreter's threads built boto3 clients from it, which sent valid images to the failure DLQ
with ``States.Runtime`` / ``'MODEL_ARN'``; and the handler's log keys were process-wide, so a
concurrent invocation's "image processed" line carried another image's key.
"""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from labelwatch.cli.local_cmd import start_stack_model
from labelwatch.demo.leaves import LABELS, leaf_photo
from labelwatch.demo.outcomes_wait import wait_for_outcomes
from labelwatch.dlq import list_dead_letters
from labelwatch.local.home import Home
from labelwatch.local.model_source import StoreModelSource
from labelwatch.local.server import LocalStack
from labelwatch.outcomes import OK, REJECTED, key_of

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-stack-load")]

IMAGES = 200
SIZE = 96  # small: the test is about concurrency, not the model
PHOTOS = 20  # distinct photos, each uploaded under ten keys (drawing 200 cost ~8 s of processor)


def _photo(index: int) -> bytes:
    import io

    photo = leaf_photo(LABELS[index % len(LABELS)], random.Random(f"concurrent-{index}"), SIZE)
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def test_200_concurrent_uploads_each_get_an_outcome_and_their_own_log_line(trained_home, tmp_path):
    home = Home.resolve(tmp_path / "home")
    stack = LocalStack(
        home,
        context={"modelArn": trained_home.arn, "modelControl": "manual"},  # started below
        model_source=StoreModelSource(trained_home.home.models),
        model_start_seconds=0.5,  # time compressed (local up: 3 s)
    ).start()
    try:
        assert start_stack_model(stack), "the model starts (and is RUNNING before the uploads)"
        photos = [_photo(index) for index in range(PHOTOS)]
        bodies = [photos[index % PHOTOS] for index in range(IMAGES)]
        keys = [f"concurrent/{index:03d}-leaf.jpg" for index in range(IMAGES)]
        s3 = stack.client("s3")
        bucket = stack.outputs["InputBucketName"]
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:  # concurrent uploads: overlapping executions
            list(pool.map(lambda key, body: s3.put_object(Bucket=bucket, Key=key, Body=body), keys, bodies))

        outcomes = wait_for_outcomes(stack.client, stack.outputs, set(keys), timeout=300)
        seconds = time.monotonic() - started

        letters = list_dead_letters(stack.client, stack.outputs)
        assert letters == [], f"nothing in the DLQs, got {[(d.error, d.cause) for d in letters[:5]]}"
        assert set(outcomes) == set(keys), f"{IMAGES - len(outcomes)} images got no outcome in {seconds:.0f}s"
        kinds = {key: [outcome.kind for outcome in found] for key, found in outcomes.items()}
        wrong = {key: kind for key, kind in kinds.items() if len(kind) != 1 or kind[0] not in (OK, REJECTED)}
        assert wrong == {}, "exactly one ok/rejected result per image"
        assert stack.pipe_errors == []

        function_name = stack.stack.detect_function()
        lines = [
            json.loads(line)
            for line in (home.logs / f"{function_name}.log").read_text().splitlines()
            if line.startswith("{")
        ]
        processed = [line for line in lines if line.get("message") == "image processed"]
        assert sorted(key_of(line["image"]) for line in processed) == sorted(keys), "one line per image"
        mismatched = [line for line in processed if line.get("key") != key_of(line["image"])]
        assert mismatched == [], f"{len(mismatched)} of {len(processed)} lines carry another image's key"
    finally:
        stack.stop()
