"""`labelwatch model train|status|start` without a stack: the quality gate, calibration and caveats in
the training output, rules that cannot match, truthful statuses, and clear errors for bad ARNs."""

from __future__ import annotations

import json
import shutil

import pytest

from labelwatch.cli import model_cmd
from labelwatch.cli.app import Settings
from labelwatch.cli.console import console
from labelwatch.cli.errors import BAD_INPUT, NO_STACK, CliError
from labelwatch.cli.target import LOCAL, Target
from labelwatch.demo.leaves import generate_dataset
from labelwatch.local.custom_labels import project_arns, project_of
from labelwatch.model import ModelStore
from tests.datasets import identical_images_dataset
from tests.local.cli_in_process import cli_home, invoke

UNKNOWN_ARN = "arn:aws:rekognition:us-east-1:123456789012:project/x/version/x.1/1764028800000"


@pytest.fixture
def home(tmp_path, monkeypatch):
    return cli_home(tmp_path, monkeypatch)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def identical(tmp_path_factory):
    """11 labels of one and the same picture."""
    return identical_images_dataset(tmp_path_factory.mktemp("identical"))


@pytest.fixture(scope="module")
def tiny_leaves(tmp_path_factory):
    """One test image per label, and the smut folder named as people name it, not as the rules do."""
    root = tmp_path_factory.mktemp("tiny") / "dataset"
    generate_dataset(root, per_label=4, seed=3, size=96)
    shutil.move(root / "leaf-smut", root / "Leaf Smut")
    return root


def test_a_model_that_learnt_nothing_is_not_made_the_default_unless_forced(capsys, home, identical):
    code, out = invoke(capsys, "model", "train", str(identical), "--project", "identical")
    text = flat(out)
    assert code == BAD_INPUT, out
    assert "this version is stored but is not the default model" in text
    assert "it gives every test image the same label ('label-00')" in text
    assert "no stored version passed the quality gate" in text
    assert "--force" in text
    assert "too few test images to trust these figures: 1 per label" in text
    (refused,) = ModelStore(home / "models").versions()

    code, out = invoke(capsys, "model", "status")
    assert code == 0 and "not the default: it gives every test image the same label" in flat(out)

    code, out = invoke(capsys, "model", "train", str(identical), "--project", "forced", "--force")
    text = flat(out)
    assert code == 0, out
    assert "the next `labelwatch local up` uses this version (made the default with --force despite:" in text
    assert ModelStore(home / "models").default_version().arn != refused.arn


def test_training_output_shows_the_calibration_the_caveat_and_rules_that_cannot_match(
    capsys, home, tiny_leaves
):
    code, out = invoke(capsys, "model", "train", str(tiny_leaves), "--test-fraction", "0.25")
    text = flat(out)
    assert code == 0, out
    assert "confidences not calibrated: too few test images (expected calibration error" in text
    assert "caveat: too few test images to trust these figures: 1 per label (fewer than 5)" in text
    # cdk.json's labels of interest are leaf-smut and bacterial-leaf-blight
    assert (
        "warning: label of interest 'leaf-smut' is not a label of the model (did you mean 'Leaf Smut'?); "
        "model labels: Leaf Smut, bacterial-leaf-blight, healthy" in text
    )
    assert "bacterial-leaf-blight' is not" not in text
    assert "`-c labelsOfInterest=...` at `labelwatch local up` may change them" in text
    assert "the next `labelwatch local up` uses this version (the newest trained version that passed" in text
    (info,) = ModelStore(home / "models").versions()
    assert info.arn in out.splitlines(), "the ARN is printed alone on its line"


def _trained_store(home, tiny_leaves, identical) -> tuple[ModelStore, str, str]:
    store = ModelStore(home / "models")
    from labelwatch.model import train

    good = train(tiny_leaves, store, project="leaves", test_fraction=0.25)
    bad = train(identical, store, project="identical")
    return store, good.arn, bad.arn


def test_status_without_a_stack_runs_nothing_and_names_the_next_default(
    capsys, home, tiny_leaves, identical, monkeypatch
):
    store, good, bad = _trained_store(home, tiny_leaves, identical)
    # A stack that has gone left RUNNING behind (before statuses had an owner process).
    status_file = store.get(good).path / "status.json"
    status_file.write_text(json.dumps({"status": "RUNNING", "updated": "2026-01-01T00:00:00.000Z"}))
    monkeypatch.setattr(console, "width", 60)  # narrower than an ARN: still printed whole

    code, out = invoke(capsys, "model", "status")
    assert code == 0, out
    assert "RUNNING" not in out and "STOPPED" in out
    lines = out.splitlines()
    assert lines.index(bad) < lines.index(good), "ARNs alone on their lines, newest first"

    code, out = invoke(capsys, "model", "status", good, "--format", "json")
    (row,) = json.loads(out)
    assert row["arn"] == good and row["status"] == "STOPPED" and row["use"] == "the next `local up` uses it"

    code, out = invoke(capsys, "model", "status", "--format", "csv")
    assert code == 0 and out.splitlines()[0] == "version,status,created,macro_f1,labels,use,arn"
    assert len(out.splitlines()) == 3


def test_status_with_a_running_stack_asks_it_and_marks_its_model(
    capsys, home, tiny_leaves, identical, monkeypatch
):
    store, good, bad = _trained_store(home, tiny_leaves, identical)
    asked = []
    projects = {name: arn for arn, name in project_arns([good, bad]).items()}

    class Rekognition:
        def describe_projects(self, ProjectNames):  # noqa: N803 - the API's parameter name
            return {"ProjectDescriptions": [{"ProjectArn": projects[name]} for name in ProjectNames]}

        def describe_project_versions(self, ProjectArn):  # noqa: N803 - the API's parameter name
            asked.append(ProjectArn)
            return {
                "ProjectVersionDescriptions": [
                    {"ProjectVersionArn": arn, "Status": "RUNNING" if arn == good else "STOPPED"}
                    for arn in (good, bad)
                    if projects[project_of(arn)] == ProjectArn
                ]
            }

    stack = Target(LOCAL, {}, lambda service: Rekognition(), "local stack (fake)", model_arn=good)
    monkeypatch.setattr(Settings, "target", lambda self: stack)
    code, out = invoke(capsys, "model", "status", "--format", "json")
    assert code == 0, out
    rows = {row["arn"]: row for row in json.loads(out)}
    assert rows[good]["status"] == "RUNNING" and "the running stack's model" in rows[good]["use"]
    assert rows[bad]["status"] == "STOPPED" and rows[bad]["use"].startswith("not the default")
    assert sorted(asked) == sorted({projects[project_of(good)], projects[project_of(bad)]})


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["model", "status", UNKNOWN_ARN], BAD_INPUT, f"no model version {UNKNOWN_ARN} in"),
        (["model", "status", "notanarn"], BAD_INPUT, "'notanarn' is not a model version ARN"),
        (["model", "start", "notanarn"], BAD_INPUT, "'notanarn' is not a model version ARN"),
        (["model", "stop", "arn:aws:s3:::bucket"], BAD_INPUT, "is not a model version ARN"),
        (["model", "status", "--format", "xml"], BAD_INPUT, "--format 'xml': use one of table, csv, json"),
        (["model", "start", UNKNOWN_ARN], NO_STACK, "no local stack is running"),
    ],
)
def test_bad_model_arguments_are_explained(args, code, message, capsys, home):
    ModelStore(home / "models").root.mkdir(parents=True)
    got, out = invoke(capsys, *args)
    assert got == code, out
    assert message in flat(out)
    assert "Traceback" not in out


def test_a_parameter_botocore_refuses_is_bad_input():
    from botocore.exceptions import ParamValidationError

    def refuse():
        raise ParamValidationError(report="Invalid length for parameter ProjectVersionArn, value: 8")

    with pytest.raises(CliError) as caught:
        model_cmd._call("StartProjectVersion", refuse)
    assert caught.value.code == BAD_INPUT
    assert "StartProjectVersion: invalid parameter: Invalid length for parameter ProjectVersionArn" in str(
        caught.value
    )
