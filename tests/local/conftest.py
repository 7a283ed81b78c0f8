"""The embedded stack on loopback (moto's server), with a model trained here on generated leaves.

One small model is trained per session and shared: its ARN configures the stack, as a user's
trained version would. The tests run in a few xdist groups (``local-stack``: in this process;
``local-up``: `labelwatch local up` in a child process; ``local-stack-load``: the long runs), each
on one worker. The model is trained once per run and each worker copies it into a home of its own.
"""

from __future__ import annotations

import fcntl
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from labelwatch.demo.leaves import generate_dataset, incoming_batch
from labelwatch.local.home import Home

PROJECT = "test-leaves"


@dataclass(frozen=True)
class TrainedHome:
    home: Home
    arn: str
    incoming: list[tuple[Path, str]]  # fresh photos with their true labels


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory, worker_id) -> TrainedHome:
    """A home of this worker's own with the run's trained model (trained once per run: the first
    worker to ask trains it, under a lock, and the others copy it; ~6 s of processor each)."""
    shared = _trained_once(tmp_path_factory, worker_id)
    home = Home.resolve(tmp_path_factory.mktemp("labelwatch-home") / "home")
    shutil.copytree(shared["models"], home.models, dirs_exist_ok=True)
    incoming = [(Path(path), label) for path, label in shared["incoming"]]  # read only: shared
    return TrainedHome(home=home, arn=shared["arn"], incoming=incoming)


def _trained_once(tmp_path_factory, worker_id) -> dict:
    from labelwatch.model import ModelStore, train

    base = tmp_path_factory.getbasetemp()
    run_root = base.parent if worker_id != "master" else base  # xdist: the run's folder, all workers
    root = run_root / "trained-model"
    made = root / "made.json"
    # Everything under the lock: a worker making the folder while another clears a failed attempt
    # raced (FileExistsError on the second mkdir).
    with (run_root / "trained-model.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            shutil.rmtree(root, ignore_errors=True)  # what a worker that failed here left
            root.mkdir()
            dataset = root / "dataset"
            generate_dataset(dataset, 10, 3, "JPEG", size=160)
            home = Home.resolve(root / "home")
            result = train(dataset, ModelStore(home.models), project=PROJECT, seed=0)
            incoming = incoming_batch(root / "incoming", 6, 11, size=160)
            made.write_text(
                json.dumps(
                    {
                        "models": str(home.models),
                        "arn": result.arn,
                        "incoming": [[str(path), label] for path, label in incoming],
                    }
                )
            )
    return json.loads(made.read_text())
