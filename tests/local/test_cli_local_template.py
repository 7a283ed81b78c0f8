"""``labelwatch local up --template PATH``: a synthesized template runs as given, strict.

Anyone can check a change to the template before deploying it: the twin creates what the file
says, and its policies decide what the stack may do, so a grant removed by hand shows at once.
"""

from __future__ import annotations

import copy
import json
import shutil
import signal
import subprocess

import pytest

from labelwatch.local.home import Home
from labelwatch.local.template import synth_template

from .test_cli_local_lifecycle import ENTRY_POINT, launch_local_up, wait_until_ready

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-up")]


def local_up(home: Home, *options: str) -> subprocess.CompletedProcess:
    """``local up`` that is expected to refuse at once (exit code, one line)."""
    return subprocess.run(
        [ENTRY_POINT, "local", "up", "--port", "0", *options],
        env={"LABELWATCH_HOME": str(home.root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_template_whose_model_this_machine_does_not_know_is_refused_plainly(template, tmp_path):
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    home = Home.resolve(tmp_path / "home")

    refused = local_up(home, "--template", str(path))

    (arn,) = {
        resource["Properties"]["Environment"]["Variables"]["MODEL_ARN"]
        for resource in template["Resources"].values()
        if "MODEL_ARN" in resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
    }
    assert refused.returncode == 4, refused.stderr
    assert f"its model {arn} is not a version this machine knows" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert home.read_stack() is None, "nothing was started"


@pytest.mark.parametrize(
    ("content", "problem"),
    [("{not json", "not a JSON template"), ('{"Outputs": {}}', "needs a Resources object")],
)
def test_a_file_that_is_no_template_is_refused_in_one_line(tmp_path, content, problem):
    path = tmp_path / "template.json"
    path.write_text(content)

    refused = local_up(Home.resolve(tmp_path / "home"), "--template", str(path))

    assert refused.returncode == 4 and problem in refused.stderr and "Traceback" not in refused.stderr


def test_stack_parameters_do_not_apply_to_a_given_template(tmp_path):
    path = tmp_path / "template.json"
    path.write_text('{"Resources": {}}')

    refused = local_up(Home.resolve(tmp_path / "home"), "--template", str(path), "-c", "batchSize=5")

    assert refused.returncode == 2
    assert "-c does not apply with --template" in refused.stderr


def test_a_given_template_runs_strict_and_a_hand_removed_grant_shows(trained_home, tmp_path):
    """The template synthesized for the local model runs; the same file with the detect role's
    DetectCustomLabels grant removed by hand sends the image to the failure DLQ, as AWS would."""
    given = synth_template({"modelArn": trained_home.arn, "modelControl": "manual"})  # local up starts it
    edited = copy.deepcopy(given)
    for resource in edited["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and "DetectRole" in str(resource["Properties"]["Roles"]):
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            statements[:] = [s for s in statements if s["Action"] != "rekognition:DetectCustomLabels"]
    photo, _label = trained_home.incoming[0]
    homes = {}
    for name, content in (("as-synthesized", given), ("grant-removed", edited)):
        homes[name] = Home.resolve(tmp_path / name)
        shutil.copytree(trained_home.home.models, homes[name].models)
        (tmp_path / f"{name}.json").write_text(json.dumps(content))
    # the two stacks run side by side (each on its own home and port): one wait, not two
    processes = {
        name: launch_local_up(home, "--template", str(tmp_path / f"{name}.json"))
        for name, home in homes.items()
    }
    seen = {}
    try:
        for name, home in homes.items():
            wait_until_ready(processes[name], home)
        uploads = {
            name: subprocess.Popen(
                [ENTRY_POINT, "upload", str(photo), "--prefix", "again", "--wait"],
                env={"LABELWATCH_HOME": str(home.root), "PATH": "/usr/bin:/bin"},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for name, home in homes.items()
        }
        for name, home in homes.items():
            output, _ = uploads[name].communicate(timeout=300)
            letters = subprocess.run(
                [ENTRY_POINT, "dlq", "list", "--format", "json"],
                env={"LABELWATCH_HOME": str(home.root), "PATH": "/usr/bin:/bin"},
                capture_output=True,
                text=True,
                timeout=60,
            )
            seen[name] = (output, json.loads(letters.stdout or "[]"))
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGINT)
        for process in processes.values():
            process.wait(60)

    output, letters = seen["as-synthesized"]
    assert "1 ok" in output and letters == [], output
    output, letters = seen["grant-removed"]
    assert "1 failed" in output, output
    assert any("rekognition:DetectCustomLabels" in letter["cause"] for letter in letters), letters
