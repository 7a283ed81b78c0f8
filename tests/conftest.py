"""Suite-wide fixtures: fake AWS credentials, and the stack synthesized once per session."""

from __future__ import annotations

import os

import pytest

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
}


@pytest.fixture(scope="session")
def tuned_template() -> dict:
    """The stack synthesized with ``TUNED``'s parameters."""
    from labelwatch.local.template import synth_template

    return synth_template(TUNED)
