"""Label rules and the function's settings."""

from __future__ import annotations

import pytest
from detect.errors import SettingsError
from detect.labels import Label
from detect.rules import parse_label_rules
from detect.settings import load_settings

from tests.unit.factories import MODEL_ARN


def names(matches):
    return [(m.label.name, m.rule, m.threshold) for m in matches]


def test_per_label_thresholds():
    rules = parse_label_rules('{"leaf-smut": 80, "bacterial-leaf-blight": 70.5}')
    labels = [Label("leaf-smut", 75.0), Label("bacterial-leaf-blight", 75.0)]
    assert names(rules.evaluate(labels)) == [("bacterial-leaf-blight", "bacterial-leaf-blight", 70.5)]
    assert rules.min_confidence == 70.5


def test_same_threshold_for_every_label():
    rules = parse_label_rules('{"leaf-smut": 60, "bacterial-leaf-blight": 60}')
    labels = [Label("leaf-smut", 61.0), Label("bacterial-leaf-blight", 59.99), Label("healthy", 99.0)]
    assert names(rules.evaluate(labels)) == [("leaf-smut", "leaf-smut", 60.0)]


def test_exactly_at_threshold_matches():
    rules = parse_label_rules('{"leaf-smut": 80}')
    assert rules.is_match(Label("leaf-smut", 80.0))
    assert not rules.is_match(Label("leaf-smut", 79.99))


def test_names_compare_case_insensitively_and_trimmed():
    rules = parse_label_rules('{" Leaf-Smut ": 80}')
    matches = rules.evaluate([Label("LEAF-SMUT", 90.0)])
    assert names(matches) == [("LEAF-SMUT", "Leaf-Smut", 80.0)]


def test_matches_sorted_by_confidence_and_other_labels_ignored():
    rules = parse_label_rules('{"a": 10, "b": 10}')
    labels = [Label("a", 20.0), Label("c", 99.0), Label("b", 90.0), Label("a", 50.0)]
    assert [(m.label.name, m.label.confidence) for m in rules.evaluate(labels)] == [
        ("b", 90.0),
        ("a", 50.0),
        ("a", 20.0),
    ]


def test_no_match():
    rules = parse_label_rules('{"leaf-smut": 80}')
    assert rules.evaluate([Label("healthy", 99.0), Label("leaf-smut", 12.0)]) == []
    assert rules.evaluate([]) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "JSON object"),
        ("[]", "JSON object"),
        ("{}", "non-empty"),
        ('{"a": 101}', "between 0 and 100"),
        ('{"a": -1}', "between 0 and 100"),
        ('{"a": "80"}', "must be a number"),
        ('{"a": true}', "must be a number"),
        ('{"": 50}', "empty"),
        ('{"Leaf": 50, "leaf ": 60}', "twice"),
        ("{" + ",".join(f'"l{i}": 50' for i in range(11)) + "}", "at most 10"),
    ],
)
def test_bad_rules_are_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_label_rules(text)


def test_settings_from_env_with_defaults():
    settings = load_settings(
        {"MODEL_ARN": MODEL_ARN, "LABEL_RULES": '{"leaf-smut": 80}', "RESULTS_PREFIX": "out"}
    )
    assert settings.model_arn == MODEL_ARN
    assert settings.results_prefix == "out/"
    assert (settings.image_links, settings.image_link_days, settings.claim_retention_days) == (False, 7, 14)
    assert settings.max_labels == 50


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"LABEL_RULES": '{"a": 1}'}, "MODEL_ARN"),
        ({"MODEL_ARN": MODEL_ARN}, "LABEL_RULES"),
        ({"MODEL_ARN": MODEL_ARN, "LABEL_RULES": '{"a": 1}', "IMAGE_LINKS": "yes"}, "IMAGE_LINKS"),
        ({"MODEL_ARN": MODEL_ARN, "LABEL_RULES": '{"a": 1}', "IMAGE_LINK_DAYS": "31"}, "IMAGE_LINK_DAYS"),
        (
            {"MODEL_ARN": MODEL_ARN, "LABEL_RULES": '{"a": 1}', "IMAGE_LINKS": "true"},
            "LINK_BASE_URL",
        ),
        (
            {
                "MODEL_ARN": MODEL_ARN,
                "LABEL_RULES": '{"a": 1}',
                "IMAGE_LINKS": "true",
                "LINK_BASE_URL": "https://abc.lambda-url.us-east-1.on.aws/",
            },
            "LINK_SECRET_ARN",
        ),
        (
            {"MODEL_ARN": MODEL_ARN, "LABEL_RULES": '{"a": 1}', "CLAIM_RETENTION_DAYS": "a week"},
            "CLAIM_RETENTION",
        ),
    ],
)
def test_bad_settings_name_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        load_settings(env)
