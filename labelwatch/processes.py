"""Whether a process still runs, for the files that record one (the stack file, a model's status)."""

from __future__ import annotations

import os
from typing import Any


def process_alive(pid: Any) -> bool:
    """True if ``pid`` names a running process (one owned by another user counts: EPERM)."""
    try:
        os.kill(int(pid), 0)
    except PermissionError:
        return True
    except (ProcessLookupError, OverflowError, TypeError, ValueError, OSError):
        return False
    return True
