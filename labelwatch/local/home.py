"""Where labelwatch keeps what outlives one run: models, the outbox, reports, the running stack.

``LABELWATCH_HOME`` (default ``./.labelwatch``, like ``.terraform``) so each checkout has its own.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_VAR = "LABELWATCH_HOME"
DEFAULT = ".labelwatch"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, root: str | os.PathLike[str] | None = None) -> Home:
        return cls(Path(root or os.environ.get(ENV_VAR) or DEFAULT).expanduser().absolute())

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def logs(self) -> Path:
        """What the in-process Lambda functions print (CloudWatch Logs on AWS)."""
        return self.root / "logs"

    @property
    def demo(self) -> Path:
        return self.root / "demo"

    @property
    def last_run(self) -> Path:
        """The results of the last local stack, saved when it stopped (``labelwatch.local.last_run``)."""
        return self.root / "last-run"

    @property
    def lock_file(self) -> Path:
        """Held (flock) by the one ``labelwatch local up`` that may run on this home."""
        return self.root / "local-stack.lock"

    @property
    def stack_file(self) -> Path:
        """Written by ``labelwatch local up`` while it runs: endpoint, outputs, pid."""
        return self.root / "local-stack.json"

    def write_stack(self, info: dict[str, Any]) -> None:
        self._write_json(self.stack_file, info)

    def read_stack(self) -> dict[str, Any] | None:
        return self._read_json(self.stack_file)

    @property
    def usage_file(self) -> Path:
        """The stand-in model's meter (inference-unit seconds) and the twin's clock, kept after a stop."""
        return self.root / "model-usage.json"

    def write_usage(self, usage: dict[str, Any]) -> None:
        self._write_json(self.usage_file, usage)

    def read_usage(self) -> dict[str, Any] | None:
        return self._read_json(self.usage_file)

    def _write_json(self, path: Path, value: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_text(json.dumps(value, indent=2))
        temporary.replace(path)

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any] | None:
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def clear_stack(self, pid: int) -> None:
        info = self.read_stack()
        if info and info.get("pid") == pid:
            self.stack_file.unlink(missing_ok=True)
