"""`labelwatch local up` with cdk.json's modelControl (on-demand), through the installed entry point:
the model starts only when images wait, `model autopilot` and `model status` say what runs and why,
`model usage` prints the metered time with the compression it ran at, before and after the stop."""

from __future__ import annotations

import json

import pytest

from labelwatch.local.model_source import StoreModelSource

from .test_cli_local_lifecycle import labelwatch, launch_local_up, trained_copy, wait_for_stack_file

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-up")]


def test_on_demand_local_up_starts_the_model_for_uploads_and_meters_it(trained_home, tmp_path_factory):
    home = trained_copy(trained_home, tmp_path_factory)
    # the copied model store keeps the status another test's stack left (a model's state outlives a
    # stack): this one starts stopped
    StoreModelSource(home.models).set_status(trained_home.arn, "STOPPED")
    process = launch_local_up(home, "--minute-seconds", "0.25")
    try:
        info = wait_for_stack_file(process, home)
        assert "compressed 240×" in info["timeCompression"]
        before = labelwatch(home, "model", "autopilot", "--format", "json")
        assert before.returncode == 0, before.stderr
        view = json.loads(before.stdout)
        assert (view["modelControl"], view["pipe"]) == ("on-demand", "STOPPED")
        assert view["model status"] in ("TRAINING_COMPLETED", "STOPPED")  # nothing waits: it is not started
        assert view["model"] == trained_home.arn and "240×" in view["times"]

        paths = [str(path) for path, _label in trained_home.incoming[:2]]
        done = labelwatch(home, "upload", *paths, "--wait", "--timeout", "150")
        assert done.returncode == 0 and "outcomes: 2 ok" in done.stdout, done.stdout + done.stderr

        status = labelwatch(home, "model", "status")
        assert status.returncode == 0, status.stderr
        assert "modelControl" in status.stdout and "on-demand" in status.stdout
        assert trained_home.arn in status.stdout.replace("\n", "")  # never cut, even when wrapped

        usage = labelwatch(home, "model", "usage", "--format", "json")
        assert usage.returncode == 0, usage.stderr
        running = json.loads(usage.stdout)
        (row,) = [entry for entry in running["versions"] if entry["arn"] == trained_home.arn]
        assert row["inference_unit_seconds"] > 0 and "240×" in running["compression"]
    finally:
        down = labelwatch(home, "local", "down")
        process.wait(60)
    assert down.returncode == 0, down.stderr
    after = labelwatch(home, "model", "usage")
    assert after.returncode == 0 and "the local stack is stopped" in after.stdout, after.stdout
    aws = labelwatch(home, "--profile", "nobody", "model", "usage")
    assert aws.returncode == 2 and aws.stderr.count("\n") == 1 and "Traceback" not in aws.stderr, aws.stderr
