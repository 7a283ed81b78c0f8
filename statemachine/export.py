"""Export the deployable workflow as concrete ASL: ``statemachine/workflow.asl.json``.

The definition is taken from the synthesized template (what deploys), with each reference to
another resource written as a ``${LogicalId}`` / ``${LogicalId.Attribute}`` placeholder, so it
can be reviewed, diffed and opened in Workflow Studio. ``make asl`` regenerates it; a test
fails when it is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from labelwatch.cloudformation import Resolver

ASL_PATH = Path(__file__).resolve().parent / "workflow.asl.json"


class _PlaceholderResolver(Resolver):
    """Writes references as placeholders instead of resolving them to created resources."""

    def ref(self, name: str) -> str:
        return f"${{{name}}}"

    def get_att(self, logical_id: str, attribute: str) -> str:
        return f"${{{logical_id}.{attribute}}}"


def definition_of(definition_string: Any) -> dict[str, Any]:
    """A state machine's ``DefinitionString`` (a literal or an ``Fn::Join`` of references) as ASL,
    each reference written as its placeholder."""
    return json.loads(_PlaceholderResolver(pseudo={}).resolve(definition_string))


def state_machine_definition(template: dict[str, Any]) -> dict[str, Any]:
    (machine,) = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    return definition_of(machine["Properties"]["DefinitionString"])


def render(template: dict[str, Any]) -> str:
    return json.dumps(state_machine_definition(template), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    from labelwatch.local.template import synth_template

    ASL_PATH.write_text(render(synth_template()))
    print(
        f"wrote {ASL_PATH.relative_to(Path.cwd()) if ASL_PATH.is_relative_to(Path.cwd()) else ASL_PATH}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
