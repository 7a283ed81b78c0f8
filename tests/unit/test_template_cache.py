"""``warm_cache``: one process synthesizes every missing template, holding each one's lock first, so a
process that asks for one meanwhile waits and reads it; cached and already-locked ones are left."""

from __future__ import annotations

import fcntl
import json
import subprocess
import sys

import pytest

from labelwatch.local import template


@pytest.fixture
def synthesized(tmp_path, monkeypatch) -> list[dict]:
    """Synthesis replaced by writing the context as the template; the contexts it was asked for."""
    made: list[dict] = []

    def fake(full_context, cache_file):
        made.append(full_context)
        cache_file.write_text(json.dumps({"context": full_context}))
        return cache_file.read_text()

    monkeypatch.setattr(template, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(template, "_synthesized_text", fake)
    return made


def test_missing_templates_are_made_once_and_then_read_from_the_cache(synthesized):
    written = template.warm_cache([None, {"modelControl": "manual"}])
    assert len(written) == 2 and [c.get("modelControl") for c in synthesized] == [None, "manual"]
    assert template.warm_cache([None, {"modelControl": "manual"}]) == [], "both are cached now"
    assert template.synth_template({"modelControl": "manual"})["context"]["modelControl"] == "manual"
    assert len(synthesized) == 2, "synth_template read the warmed file"


def test_the_model_arn_is_synthesized_as_the_placeholder_and_put_back(synthesized):
    arn = "arn:aws:rekognition:us-east-1:123456789012:project/farm/version/farm.v2/1761955200000"
    template.warm_cache([{"modelArn": arn}])
    assert synthesized[0]["modelArn"] == template.MODEL_ARN_PLACEHOLDER
    assert template.synth_template({"modelArn": arn})["context"]["modelArn"] == arn
    assert len(synthesized) == 1, "any model version reads the placeholder's template"


def test_a_template_another_process_is_making_is_left_to_it(synthesized, tmp_path):
    digest = template._sources_digest(template._synthesized_context(template.cdk_context(None)))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX);"
            " print('locked', flush=True); sys.stdin.read()",
            str(tmp_path / f"{digest}.lock"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert template.warm_cache([None]) == [] and synthesized == [], "not made twice"
    finally:
        holder.communicate("")
    with (tmp_path / f"{digest}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: nothing of warm_cache holds it
