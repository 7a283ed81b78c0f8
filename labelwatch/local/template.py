"""The synthesized CDK template: the single source of truth for what the embedded stack creates."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".cache" / "templates"
# Everything the synthesized template depends on: the app, its context, and the Lambda code (its asset
# hash is in the template: a change to functions/ alone must not give a template of the old code)
SOURCES = ("app.py", "cdk.json", "infra", "statemachine", "functions")


def cdk_context(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The context `npx aws-cdk synth` would use: cdk.json's, then the overrides."""
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    context.update(overrides or {})
    return context


def _sources_digest(context: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(context, sort_keys=True).encode())
    for name in SOURCES:
        path = REPO_ROOT / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(REPO_ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:20]


def synth_stack(context: Mapping[str, Any] | None = None, *, nag: bool = False):
    """Build the app in-process (no Lambda bundling: the handlers run from ``functions/``)."""
    from aws_cdk import App

    from infra.app import build_app, stack_of

    full_context = {**cdk_context(context), "aws:cdk:bundling-stacks": []}
    app = App(context=full_context, outdir=tempfile.mkdtemp(prefix="labelwatch-cdk-"))
    build_app(app, nag=nag)
    return app, stack_of(app)


# The template uses the model ARN only as a string (the detect function's MODEL_ARN, its
# DetectCustomLabels grant, the ModelArn output) and its project's part followed by "/" (the
# autopilot's grant on the project), so one synthesis serves every model version: it is made with
# this placeholder, which is then replaced. A new model costs no new synth (~10 s).
MODEL_ARN_PLACEHOLDER = (
    "arn:aws:rekognition:us-east-1:123456789012:project/labelwatch-template-model"
    "/version/labelwatch-template-model.placeholder/1000000000000"
)


def _project_of(model_arn: str) -> str:
    return model_arn.partition("/version/")[0] + "/"


def synth_template(
    context: Mapping[str, Any] | None = None, *, use_cache: bool = True, by_placeholder: bool = True
) -> dict[str, Any]:
    """The stack's CloudFormation template as a dict, cached by the sources that shape it.

    A valid ``modelArn`` is put in place of ``MODEL_ARN_PLACEHOLDER`` in the template synthesized
    for the placeholder (``by_placeholder=False``: synthesized with the ARN itself).
    """
    full_context = cdk_context(context)
    arn = full_context.get("modelArn")
    synthesized = _synthesized_context(full_context, by_placeholder)
    text = _template_text(synthesized, use_cache)
    if synthesized is not full_context:
        # the whole ARN, then its project's part (the autopilot's DescribeProjectVersions grant)
        text = text.replace(MODEL_ARN_PLACEHOLDER, arn)
        return json.loads(text.replace(_project_of(MODEL_ARN_PLACEHOLDER), _project_of(arn)))
    return json.loads(text)


def _synthesized_context(full_context: dict[str, Any], by_placeholder: bool = True) -> dict[str, Any]:
    """The context the template is synthesized with: a valid ``modelArn`` becomes the placeholder."""
    from infra.config import MODEL_ARN_PATTERN

    arn = full_context.get("modelArn")
    if by_placeholder and isinstance(arn, str) and MODEL_ARN_PATTERN.match(arn):
        return {**full_context, "modelArn": MODEL_ARN_PLACEHOLDER}
    return full_context


def warm_cache(contexts: list[Mapping[str, Any] | None]) -> list[str]:
    """Synthesize every context not yet cached, in this one process; the digests it wrote.

    The first synthesis in a process costs ~6 s (the CDK's JavaScript runtime starts and loads the
    library), each further one about 1 s, so one process that makes them all costs less than each
    process making its own (test workers, ``local up`` subprocesses). The lock of every missing
    template is taken first, so a process that asks for one meanwhile waits for it and reads it.
    """
    import fcntl

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    held = []
    for context in contexts:
        full = _synthesized_context(cdk_context(context))
        cache_file = _cache_file(full)
        if cache_file.exists():
            continue
        lock = cache_file.with_suffix(".lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process is making it
            lock.close()
            continue
        held.append((full, cache_file, lock))
    written = []
    try:
        for full, cache_file, lock in held:
            if not cache_file.exists():
                _synthesized_text(full, cache_file)
                written.append(cache_file.stem)
            fcntl.flock(lock, fcntl.LOCK_UN)  # its readers may go on
    finally:
        for *_made, lock in held:  # a failed synthesis releases the rest too
            lock.close()
    return written


def _cache_file(full_context: Mapping[str, Any]) -> Path:
    return CACHE_DIR / f"{_sources_digest(full_context)}.json"


def _template_text(full_context: dict[str, Any], use_cache: bool) -> str:
    cache_file = _cache_file(full_context)
    if not use_cache:
        return _synthesized_text(full_context, cache_file)
    if cache_file.exists():
        return cache_file.read_text()
    # One process synthesizes a template at a time (test workers, two `local up`s): the others wait
    # for its cache file instead of running the CDK too (~8 s of processor each).
    import fcntl

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with cache_file.with_suffix(".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if cache_file.exists():
                return cache_file.read_text()
            return _synthesized_text(full_context, cache_file)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _synthesized_text(full_context: dict[str, Any], cache_file: Path) -> str:
    """Synthesize the template and write it to ``cache_file`` (whole: readers never see a part)."""
    from aws_cdk.assertions import Template

    _app, stack = synth_stack(full_context)
    text = json.dumps(Template.from_stack(stack).to_json())
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cache_file.with_suffix(f".{os.getpid()}.tmp")  # other processes read whole files only
    partial.write_text(text)
    partial.replace(cache_file)
    return text


# last: run as a script, the module is whole only here
if __name__ == "__main__":  # python -m labelwatch.local.template CONTEXT_JSON...: warm the cache
    import sys

    for digest in warm_cache([json.loads(argument) for argument in sys.argv[1:]]):
        print(digest)
