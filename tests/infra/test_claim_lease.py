"""A claim's lease is its message's visibility timeout (docs/contracts.md, "Claims")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import TUNED

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cdk")]


def definition(template: dict) -> dict[str, Any]:
    """The state machine's ASL, its references (Fn::GetAtt, Ref) written as "?"."""
    (machine,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    joined = machine["Properties"]["DefinitionString"]
    parts = joined["Fn::Join"][1] if isinstance(joined, dict) else [joined]
    return json.loads("".join(part if isinstance(part, str) else "?" for part in parts))


def lease_ms(template: dict) -> int:
    claim = definition(template)["States"]["ProcessBatch"]["ItemProcessor"]["States"]["ClaimImage"]
    return int(claim["Parameters"]["ExpressionAttributeValues"][":lease"]["N"])


def test_the_lease_follows_the_visibility_timeout(template, tuned_template):
    assert lease_ms(template) == 360_000  # cdk.json's visibilityTimeoutSeconds
    assert lease_ms(tuned_template) == TUNED["visibilityTimeoutSeconds"] * 1000
