"""The embedded stack on loopback (moto's server), with a model trained here on generated leaves.

One small model is trained per session and shared: its ARN configures the stack, as a user's
trained version would. The tests run in a few xdist groups (``local-stack``: in this process;
``local-up``: `labelwatch local up` in a child process; ``local-stack-load``: the long runs), each
on one worker, so a worker trains the model and synthesizes the template for its ARN once.
"""

from __future__ import annotations

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
def trained_home(tmp_path_factory) -> TrainedHome:
    from labelwatch.model import ModelStore, train

    root = tmp_path_factory.mktemp("labelwatch-home")
    dataset = root / "dataset"
    generate_dataset(dataset, 10, 3, "JPEG", size=160)
    home = Home.resolve(root / "home")
    result = train(dataset, ModelStore(home.models), project=PROJECT, seed=0)
    incoming = incoming_batch(root / "incoming", 6, 11, size=160)
    return TrainedHome(home=home, arn=result.arn, incoming=incoming)
