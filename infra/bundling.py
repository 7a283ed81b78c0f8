"""Bundle a Lambda asset without Docker: pip installs Linux wheels for the target architecture.

CDK calls ``try_bundle`` with the output folder; returning True means "done, skip Docker".
Wheels are cached by the requirements file's hash in ``.cache/lambda-deps`` so repeated synths
are fast and work offline once warmed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = REPO_ROOT / ".cache" / "lambda-deps"
SKIP = {"__pycache__", ".pytest_cache", "requirements.txt"}


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    def __init__(
        self, source: Path, requirements: Path, *, platforms: list[str], python_version: str
    ) -> None:
        self.source = source
        self.requirements = requirements
        self.platforms = platforms
        self.python_version = python_version

    def try_bundle(self, output_dir: str, *, image, **_kwargs) -> bool:  # noqa: ARG002 (CDK signature)
        deps = self._dependencies()
        shutil.copytree(deps, output_dir, dirs_exist_ok=True)
        shutil.copytree(
            self.source, output_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*SKIP, "*.pyc")
        )
        return True

    def _dependencies(self) -> Path:
        digest = hashlib.sha256(
            self.requirements.read_bytes() + f"{self.platforms}/{self.python_version}".encode()
        ).hexdigest()[:16]
        target = CACHE_DIR / digest
        if (target / ".complete").exists():
            return target
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--requirement",
                str(self.requirements),
                "--target",
                str(target),
                *[arg for platform in self.platforms for arg in ("--platform", platform)],
                "--python-version",
                self.python_version,
                "--implementation",
                "cp",
                "--only-binary=:all:",
                "--upgrade",
            ],
            check=True,
        )
        (target / ".complete").touch()
        return target


def python_function_code(
    source: Path, requirements: Path, *, architecture: lambda_.Architecture, runtime: lambda_.Runtime
) -> lambda_.Code:
    """Lambda code from ``source`` plus the wheels in ``requirements``, built locally."""
    machine = "aarch64" if architecture.name == "arm64" else "x86_64"
    # The Python 3.12+ runtimes run on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels fit.
    platforms = [f"manylinux_2_28_{machine}", f"manylinux2014_{machine}"]
    python_version = runtime.name.removeprefix("python")
    return lambda_.Code.from_asset(
        str(source),
        exclude=["**/__pycache__", "**/*.pyc"],
        bundling=BundlingOptions(
            image=DockerImage.from_registry("unused-local-bundling"),
            local=PipLocalBundling(source, requirements, platforms=platforms, python_version=python_version),
        ),
    )
