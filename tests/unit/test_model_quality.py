"""The quality gate: which trained version may be the default model, and the caveat on a small split."""

from __future__ import annotations

import numpy as np
import pytest

from labelwatch.demo.leaves import generate_dataset
from labelwatch.local.model_source import StoreModelSource
from labelwatch.model import (
    MIN_MACRO_F1,
    MIN_TEST_IMAGES_PER_LABEL,
    ModelStore,
    Quality,
    assess,
    evaluate,
    train,
)
from tests.datasets import identical_images_dataset

# trains local models (seconds each): kept out of `make unit`
pytestmark = pytest.mark.training


def _evaluation(truth: list[int], predicted: list[int], k: int = 3):
    proba = np.full((len(truth), k), 0.1)
    proba[np.arange(len(truth)), predicted] = 0.8
    return evaluate(truth, proba, [f"label-{i}" for i in range(k)])


def test_a_good_evaluation_passes_with_no_caveat():
    truth = [i % 3 for i in range(15)]
    quality = assess(_evaluation(truth, truth))
    assert quality == Quality(refusals=(), caveats=())
    assert quality.default and not quality.forced


def test_one_label_for_every_image_is_refused():
    truth = [i % 3 for i in range(15)]
    quality = assess(_evaluation(truth, [0] * 15))
    assert not quality.default
    assert "it gives every test image the same label ('label-0')" in quality.refusals
    assert f"below the floor of {MIN_MACRO_F1:.2f}" in quality.refusals[-1]


def test_no_better_than_the_commonest_label_is_refused():
    truth = [0] * 15 + [1, 2] * 5  # 60 % label-0
    predicted = [0] * 15 + [2, 1] * 5  # every label-0 right, every other one wrong
    evaluation = _evaluation(truth, predicted)
    assert evaluation.accuracy == pytest.approx(0.6)
    reasons = assess(evaluation).refusals
    assert "its accuracy 60.0% is no better than always answering 'label-0' (60.0% of the test images)" in (
        reasons
    )


def test_force_makes_a_refused_version_the_default_and_says_so():
    truth = [i % 3 for i in range(15)]
    quality = assess(_evaluation(truth, [0] * 15), force=True)
    assert quality.default and quality.forced and quality.refusals
    assert Quality.from_manifest({"quality": quality.to_dict()}) == quality
    assert assess(_evaluation(truth, truth), force=True).forced is False  # nothing to override


def test_a_small_test_split_gets_a_caveat_not_a_refusal():
    truth = [0, 1, 2]
    quality = assess(_evaluation(truth, truth))
    assert quality.default
    (caveat,) = quality.caveats
    assert "1 per label" in caveat and f"fewer than {MIN_TEST_IMAGES_PER_LABEL}" in caveat
    assert "100 points" in caveat
    uneven = assess(_evaluation([0] * 6 + [1] * 2 + [2] * 6, [0] * 6 + [1] * 2 + [2] * 6))
    assert "label-1 2 (fewer than 5)" in uneven.caveats[0]


def test_a_small_split_refuses_only_one_label_for_everything():
    """2 of 6 right is no evidence either way; one label for all of 6 images is."""
    evaluation = _evaluation([0, 0, 1, 1, 2, 2], [1, 1, 0, 1, 1, 2])
    assert evaluation.accuracy == pytest.approx(1 / 3) and evaluation.macro_f1 < MIN_MACRO_F1
    quality = assess(evaluation)
    assert quality.refusals == () and quality.caveats and quality.default
    assert assess(_evaluation([0, 0, 1, 1, 2, 2], [2] * 6)).refusals == (
        "it gives every test image the same label ('label-2')",
    )
    assert assess(_evaluation([0, 1], [1, 1], k=2)).refusals == ()  # 2 images: too few to say even that


def test_a_version_stored_before_the_gate_may_be_the_default():
    assert Quality.from_manifest({}).default


@pytest.fixture(scope="module")
def identical(tmp_path_factory):
    """11 labels, every image the same picture: the model cannot learn anything."""
    return identical_images_dataset(tmp_path_factory.mktemp("identical"))


def test_a_model_of_identical_images_is_stored_but_not_the_default(identical, tmp_path):
    generate_dataset(tmp_path / "good", per_label=4, seed=2, size=96)
    store = ModelStore(tmp_path / "models")
    good = train(tmp_path / "good", store, project="good", test_fraction=0.25)
    assert good.quality.default

    bad = train(identical, store, project="identical")
    assert not bad.quality.default
    assert any("same label" in reason for reason in bad.quality.refusals)
    assert bad.quality.caveats  # 1 test image per label
    assert "Not the default: it gives every test image the same label" in bad.report_text
    manifest = store.get(bad.arn).manifest
    assert manifest["quality"]["default"] is False and manifest["quality"]["refusals"]
    assert store.latest().arn == bad.arn  # stored, and the newest,
    assert store.default_version().arn == good.arn  # but not what `local up` picks
    assert StoreModelSource(store.root).newest_arn() == good.arn

    forced = train(identical, store, project="identical", version_name="forced", force=True)
    assert forced.quality.forced and store.get(forced.arn).manifest["quality"]["forced"] is True
    assert StoreModelSource(store.root).newest_arn() == forced.arn


def test_with_only_refused_versions_there_is_no_default(identical, tmp_path):
    store = ModelStore(tmp_path)
    train(identical, store, project="identical")
    assert store.default_version() is None and StoreModelSource(tmp_path).newest_arn() is None
