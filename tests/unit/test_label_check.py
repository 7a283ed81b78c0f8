"""Labels of interest that are not labels of the model: rules that can never alert."""

from __future__ import annotations

import pytest
from detect.rules import normalise_name

from infra.config import ConfigError
from labelwatch.label_check import (
    RuleMismatch,
    _rule_key,
    describe_mismatches,
    rule_labels_from_context,
    unmatched_rules,
)
from labelwatch.local.template import cdk_context


def test_a_rule_that_names_no_model_label_is_reported_with_the_label_it_meant():
    assert unmatched_rules(["leaf-smut"], ["Leaf Smut", "ok"]) == [RuleMismatch("leaf-smut", "Leaf Smut")]
    assert unmatched_rules(["bacterial_leaf_blight"], ["bacterial-leaf-blight"]) == [
        RuleMismatch("bacterial_leaf_blight", "bacterial-leaf-blight")
    ]
    assert unmatched_rules(["leaf-smutt"], ["leaf-smut", "healthy"]) == [
        RuleMismatch("leaf-smutt", "leaf-smut")
    ]
    assert unmatched_rules(["rust"], ["leaf-smut", "healthy"]) == [RuleMismatch("rust", None)]


def test_rules_match_as_the_detect_function_matches_them():
    """Trimmed and case-insensitive, as functions/detect/rules.py compares names; nothing looser."""
    assert unmatched_rules(["Leaf-Smut", " healthy "], ["leaf-smut", "healthy"]) == []
    for name in ("Leaf-Smut", " healthy ", "ÆSIR", "straße"):
        assert _rule_key(name) == normalise_name(name)
    assert [m.rule_label for m in unmatched_rules(["a", "b", "a", "c"], ["b"])] == [
        "a",
        "c",
    ]  # once each, in order
    assert unmatched_rules([], ["x"]) == []


def test_each_mismatch_is_one_line_naming_the_model_labels():
    mismatches = unmatched_rules(["leaf-smut", "rust"], ["Leaf Smut", "ok"])
    assert describe_mismatches(mismatches, ["Leaf Smut", "ok"]) == [
        "label of interest 'leaf-smut' is not a label of the model (did you mean 'Leaf Smut'?); "
        "model labels: Leaf Smut, ok",
        "label of interest 'rust' is not a label of the model; model labels: Leaf Smut, ok",
    ]
    assert describe_mismatches([], ["x"]) == []


def test_the_labels_of_interest_come_from_the_cdk_context():
    assert rule_labels_from_context(cdk_context()) == ["leaf-smut", "bacterial-leaf-blight"]  # cdk.json's
    overridden = cdk_context(
        {"labelsOfInterest": '{"Leaf Smut": 90, "ok": null}', "notificationEmails": "a@example.com"}
    )
    assert rule_labels_from_context(overridden) == ["Leaf Smut", "ok"]
    without_model = {"labelsOfInterest": ["rust=75"], "notificationEmails": ["a@example.com"]}
    assert rule_labels_from_context(without_model) == ["rust"]
    with pytest.raises(ConfigError, match="labelsOfInterest"):
        rule_labels_from_context({**cdk_context(), "labelsOfInterest": []})
