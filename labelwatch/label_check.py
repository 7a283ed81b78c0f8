"""Rules that cannot match: labels of interest that are not labels of the model.

A rule for ``leaf-smut`` on a model whose labels are ``Leaf Smut`` and ``ok`` never alerts, without a
word from anything at run time. The comparison is the detect function's own
(``functions/detect/rules.py``: names trimmed and compared case-insensitively), so exactly the rules
that can never fire are reported, each with the model label it most likely meant.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Any syntactically valid version ARN: the labels of interest do not depend on which model it names.
_PLACEHOLDER_MODEL_ARN = "arn:aws:rekognition:us-east-1:123456789012:project/p/version/v/1000000000000"
_SEPARATORS = re.compile(r"[\s_\-]+")


@dataclass(frozen=True)
class RuleMismatch:
    rule_label: str  # the label of interest that no model label equals
    closest: str | None  # the model label it most likely meant, or None


def _rule_key(name: str) -> str:
    """How the detect function compares a rule with a detected label (its ``normalise_name``)."""
    return name.strip().casefold()


def _loose_key(name: str) -> str:
    """Case, spaces, hyphens and underscores ignored: ``Leaf Smut`` ~ ``leaf-smut``."""
    return _SEPARATORS.sub("", name.casefold())


def _closest(rule_label: str, model_labels: list[str]) -> str | None:
    loose = [label for label in model_labels if _loose_key(label) == _loose_key(rule_label)]
    if loose:
        return loose[0]
    keys = {_rule_key(label): label for label in model_labels}
    near = difflib.get_close_matches(_rule_key(rule_label), list(keys), n=1, cutoff=0.6)
    return keys[near[0]] if near else None


def unmatched_rules(rule_labels: Iterable[str], model_labels: Iterable[str]) -> list[RuleMismatch]:
    """The labels of interest (in their order) that no model label matches as the detect function
    compares them, each with the model label it most likely meant."""
    labels = list(dict.fromkeys(model_labels))
    known = {_rule_key(label) for label in labels}
    return [
        RuleMismatch(rule_label=rule, closest=_closest(rule, labels))
        for rule in dict.fromkeys(rule_labels)
        if _rule_key(rule) not in known
    ]


def describe_mismatches(mismatches: list[RuleMismatch], model_labels: Iterable[str]) -> list[str]:
    """One line per mismatch, naming the rule, the likely meant label and every model label."""
    labels = ", ".join(dict.fromkeys(model_labels)) or "(none)"
    lines = []
    for mismatch in mismatches:
        meant = f" (did you mean {mismatch.closest!r}?)" if mismatch.closest else ""
        lines.append(
            f"label of interest {mismatch.rule_label!r} is not a label of the model{meant}; "
            f"model labels: {labels}"
        )
    return lines


def rule_labels_from_context(context: Mapping[str, Any]) -> list[str]:
    """The labels of interest of a CDK context mapping (``labelsOfInterest``), parsed as the stack
    parses them. Raises ``infra.config.ConfigError`` if the context is invalid; a missing
    ``modelArn`` is not a problem here."""
    from infra.config import LabelwatchConfig

    mapping = dict(context)
    if not mapping.get("modelArn"):
        mapping["modelArn"] = _PLACEHOLDER_MODEL_ARN
    return list(LabelwatchConfig.from_mapping(mapping).labels_of_interest)
