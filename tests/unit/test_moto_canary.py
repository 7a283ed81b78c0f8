"""The one place a moto upgrade fails loudly: every moto internal the twin replaces, as the twin expects it.

The Emulator replaces a few moto internals (``labelwatch.local.patching``). Each ``Patch`` records the
signature the replaced callable had when the patch was written; a moto release that renames, moves
or changes one of them fails here, naming it, instead of as a puzzling workflow failure elsewhere.
"""

from __future__ import annotations

import pytest

from labelwatch.local.emulator import Emulator
from labelwatch.local.patching import Patch, PatchSet


@pytest.fixture(scope="module")
def twin_patches() -> PatchSet:
    return Emulator().patches  # built, not started: nothing is applied


def test_every_replaced_moto_internal_still_has_the_signature_the_twin_expects(twin_patches):
    assert twin_patches.check_signatures() == []


def test_every_patch_declares_the_signature_it_expects(twin_patches):
    undeclared = [
        patch.where
        for patch in twin_patches.patches
        if patch.signature is None and callable(patch.original())
    ]
    assert undeclared == []


def test_the_twin_patches_moto_where_it_is_more_forgiving_than_aws(twin_patches):
    where = {patch.where for patch in twin_patches.patches}
    expected = {
        "moto.awslambda.models.LambdaFunction._invoke_lambda",  # worker-process environments
        "moto.rekognition.responses.RekognitionResponse.detect_custom_labels",  # the model stand-in
        "moto.events.models.Rule._send_to_sqs_queue",  # queue policies judge rule deliveries
        "moto.sns.models.SNSBackend.publish",  # injected SNS faults
    }
    assert expected <= where


def test_a_changed_signature_is_reported_with_its_place():
    class Moto:
        def method(self, a, b=None):
            return a

    patch = Patch(Moto, "method", lambda self, a: a, signature="(self, a)")
    assert patch.signature_problem() == f"{patch.where}(self, a, b=None) (the twin expects (self, a))"


def test_a_missing_internal_fails_at_once_not_later():
    class Moto:
        pass

    with pytest.raises(AttributeError, match="does not exist: moto changed"):
        Patch(Moto, "gone", lambda: None).apply()


def test_a_patch_set_that_fails_halfway_restores_what_it_applied():
    class Moto:
        def first(self):
            return "moto"

    patches = PatchSet([Patch(Moto, "first", lambda self: "twin"), Patch(Moto, "gone", lambda: None)])
    with pytest.raises(AttributeError):
        patches.apply()
    assert Moto().first() == "moto" and patches.applied == []


def test_an_attribute_the_twin_adds_is_removed_again():
    class Moto:
        pass

    patch = Patch(Moto, "added", lambda self: "twin", missing_ok=True)
    patch.apply()
    assert Moto().added() == "twin" and patch.applied
    patch.restore()
    assert not hasattr(Moto, "added") and not patch.applied


def test_the_twin_imports_without_moto_ec2_and_batch_still_answers():
    """moto.batch is deferred (``moto_imports``): a twin never pays for moto.ec2's import unless it
    serves Batch, and moto's backend lookup and ``from moto.batch import models`` work as before."""
    import subprocess
    import sys

    script = (
        "import sys, labelwatch.local.emulator, labelwatch.local.server\n"
        "assert 'moto.ec2' not in sys.modules, 'moto.ec2 imported with the twin'\n"
        "from moto.batch.utils import JobStatus\n"
        "from moto.backends import get_backend\n"
        "from moto.batch import models\n"
        "assert get_backend('batch') is models.batch_backends\n"
        "assert type(models.batch_backends['123456789012']['us-east-1']).__name__ == 'BatchBackend'\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_the_cli_starts_without_moto():
    """A command against a running stack (``status``, ``dlq``, ``upload``…) imports boto3, not moto:
    deferring moto.batch must not import moto itself (it did once, adding 0.3 s to every command)."""
    import subprocess
    import sys

    script = (
        "import sys, labelwatch.local.home, labelwatch.cli.app\n"
        "print(sorted(m for m in sys.modules if m == 'moto' or m.startswith('moto.')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
