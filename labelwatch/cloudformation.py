"""Resolve CloudFormation intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, …) in a template.

Neutral ground: the twin's provisioner resolves them to the resources it created, and `make asl`
(`statemachine/export.py`, product code that must not import the twin) to placeholders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class Unresolved(Exception):
    """A reference to a resource that does not exist (yet)."""


@dataclass
class Resolver:
    pseudo: dict[str, str]
    refs: dict[str, Any] = field(default_factory=dict)
    attrs: dict[tuple[str, str], Any] = field(default_factory=dict)
    placeholders: set[str] = field(default_factory=set)  # resources with no local counterpart

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.refs:
            return self.refs[name]
        if name in self.placeholders:
            return f"local-{name}"
        raise Unresolved(name)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if (logical_id, attribute) in self.attrs:
            return self.attrs[(logical_id, attribute)]
        if logical_id in self.placeholders:
            return f"local-{logical_id}-{attribute}"
        raise Unresolved(f"{logical_id}.{attribute}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, arg),) = value.items()
            if name == "Ref":
                return self.ref(arg)
            if name == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if name == "Fn::Join":
                separator, items = arg
                return separator.join(str(item) for item in self.resolve(items))
            if name == "Fn::Select":
                index, items = self.resolve(arg)
                return items[int(index)]
            if name == "Fn::Split":
                separator, text = self.resolve(arg)
                return text.split(separator)
            if name == "Fn::Sub":
                return self._sub(arg)
            if name == "Fn::GetAZs":
                return [f"{self.pseudo['AWS::Region']}a"]
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] not in self.pseudo:
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, text)
