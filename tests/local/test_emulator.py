"""The Emulator owns every change the twin makes to moto: on start they are applied, on stop all gone."""

from __future__ import annotations

import os

import pytest

from labelwatch.local.emulator import Emulator, EmulatorBusy
from labelwatch.processes import process_alive

# Starts the embedded AWS (process-wide moto backends): never beside another stack of this process.
pytestmark = pytest.mark.xdist_group("local-stack")


def _current(patch):
    return (
        vars(patch.target).get(patch.name)
        if isinstance(patch.target, type)
        else getattr(patch.target, patch.name, None)
    )


def test_stop_removes_every_patch_worker_and_variable_it_set(template):
    emulator = Emulator()
    before = {patch.where: _current(patch) for patch in emulator.patches.patches}
    endpoint_before = os.environ.get("AWS_ENDPOINT_URL")

    emulator.start()
    try:
        assert all(_current(p) is p.replacement for p in emulator.patches.patches), "all applied"
        stack = emulator.deploy(template)
        emulator.client("lambda").invoke(FunctionName=stack.detect_function(), Payload=b"{}")
        workers = emulator.functions.worker_pids()
        assert workers, "the invocation ran in a worker process"
    finally:
        emulator.stop()

    after = {patch.where: _current(patch) for patch in emulator.patches.patches}
    assert after == before, "nothing stays patched after stop"
    assert [pid for pid in workers if process_alive(pid)] == []
    assert os.environ.get("AWS_ENDPOINT_URL") == endpoint_before
    assert emulator.authorizer is None


def test_one_embedded_aws_per_process():
    with Emulator(), pytest.raises(EmulatorBusy):
        Emulator().start()
    with Emulator() as again:  # the first one's stop freed the process
        assert again.running


def test_a_zero_byte_upload_is_answered():
    """botocore sends an empty PutObject with Expect: 100-continue; the server must still answer it."""
    import boto3
    from botocore.config import Config

    with Emulator() as emulator:
        s3 = boto3.client(
            "s3",
            endpoint_url=emulator.endpoint,
            region_name=emulator.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(read_timeout=20, retries={"max_attempts": 1}),  # a hang fails, not waits
        )
        s3.create_bucket(Bucket="zero-bytes")
        s3.put_object(Bucket="zero-bytes", Key="empty.jpg", Body=b"")
        assert s3.head_object(Bucket="zero-bytes", Key="empty.jpg")["ContentLength"] == 0


def test_the_suite_keeps_each_group_of_tests_on_one_worker(request):
    """`make test` (--dist loadgroup) runs a group's tests in one worker process: the local-up tests
    one at a time, the load tests apart. pytest 9.2 silently broke this with pytest-xdist 3.8
    (pytest-xdist#1386), hence the pin below 9.2; this test fails if the grouping is lost again."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("only meaningful under --dist loadgroup (make test)")
    assert request.node.nodeid.endswith("@local-stack"), request.node.nodeid
