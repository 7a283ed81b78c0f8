"""Suite-wide fixtures: fake AWS credentials, and the stack synthesized once per session."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from labelwatch.clients import shared_loader

# Never reach a real account: fake credentials and a fixed region for every test.
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
)


@pytest.fixture(scope="session")
def template() -> dict:
    """The synthesized CloudFormation template of the stack with cdk.json's parameters."""
    from labelwatch.local.template import synth_template

    return synth_template()


# Parameters away from their defaults, in one template: a synth costs ~8 s of processor, so the tests
# of each parameter's effect share it (each checks its own parameter only).
KEY_PREFIX = "field 7/c++ shots/été 100%/"  # a space, '+', a non-ASCII letter and '%'
TUNED = {
    "keyPrefix": KEY_PREFIX,
    "maxConcurrentDetections": 8,
    "visibilityTimeoutSeconds": 900,
    "noncurrentVersionDays": "90",
    "modelControl": "manual",  # no autopilot: the Pipe starts running, as before issue 11
    "executionLogLevel": "ERROR",
    "imageLinkDays": 30,
    "linkConcurrency": 0,  # the link function unreserved
}


@pytest.fixture(scope="session")
def tuned_template() -> dict:
    """The stack synthesized with ``TUNED``'s parameters."""
    from labelwatch.local.template import synth_template

    return synth_template(TUNED)


# The templates most tests use. On a fresh clone the first of a run synthesizes them, in one
# background process (the CDK's runtime starts once: ~6 s, then ~1 s a template) instead of each
# worker and `local up` subprocess starting its own; whoever asks for one meanwhile waits for it.
WARMED_CONTEXTS = [None, {"modelControl": "manual"}, TUNED]
_UNIT_TESTS = Path(__file__).parent / "unit"


def _default_sessions_on_the_shared_loader() -> None:
    """``boto3.client(...)`` in a test: moto drops boto3's default session whenever a mock starts, and
    each new default session parsed botocore's models again (0.1-0.2 s a client, ~40 tests). The
    new one reads them through the process's loader instead, as the twin's sessions do."""
    setup = boto3.setup_default_session

    def setup_on_the_shared_loader(**kwargs) -> None:
        setup(**kwargs)
        boto3.DEFAULT_SESSION._session.register_component("data_loader", shared_loader())

    boto3.setup_default_session = setup_on_the_shared_loader


_default_sessions_on_the_shared_loader()


def _needs_templates(config: pytest.Config) -> bool:
    paths = [Path(argument.split("::")[0]).resolve() for argument in config.args]
    return not paths or any(not path.is_relative_to(_UNIT_TESTS) for path in paths)


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput") or not _needs_templates(config):
        return  # an xdist worker (the controller warmed the cache), or the unit tests alone
    root = Path(__file__).resolve().parents[1]
    (root / ".cache").mkdir(exist_ok=True)
    with (root / ".cache" / "template-warm.log").open("w") as log:
        config._template_warmer = subprocess.Popen(  # type: ignore[attr-defined]
            [sys.executable, "-m", "labelwatch.local.template", *map(json.dumps, WARMED_CONTEXTS)],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,  # its own process group: a stop takes the CDK's node with it
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    warmer = getattr(session.config, "_template_warmer", None)
    if warmer is not None and warmer.poll() is None:
        with contextlib.suppress(ProcessLookupError):  # the run ended first (-x, Ctrl-C)
            os.killpg(warmer.pid, signal.SIGKILL)
        warmer.wait()
        session.config._template_warmer = None  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """A warm-up that failed is said (the tests then synthesized their templates themselves)."""
    warmer = getattr(config, "_template_warmer", None)
    if warmer is not None and warmer.returncode not in (None, 0):
        log = Path(__file__).parents[1] / ".cache" / "template-warm.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        terminalreporter.write_line(
            f"warning: warming the template cache failed (exit {warmer.returncode}): {' '.join(tail)}"
        )


@pytest.hookimpl(tryfirst=True)  # before xdist's, which reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each model-training module runs on one xdist worker (``--dist loadgroup``), so its module-scoped
    dataset and model are made once per run, not once per worker that gets one of its tests (the
    training modules' set-up was 15 s of processor spread over three workers)."""
    for item in items:
        if item.get_closest_marker("training") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(f"training-{item.module.__name__}"))
