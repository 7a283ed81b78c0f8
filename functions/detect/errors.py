"""Errors the detect function raises.

Step Functions sees a raised exception's class name as ``errorType``; the workflow's Retry/Catch match
on these names (docs/contracts.md), so do not rename them.
"""

from __future__ import annotations


class ModelNotReady(Exception):
    """The Custom Labels model version is not running: the image waits on the queue and is retried."""


class DetectorThrottled(Exception):
    """A transient failure (throttling, throughput, internal error): the workflow retries with backoff."""


class DetectorMisconfigured(Exception):
    """A permanent setup problem (access denied, unknown model, bad parameter): goes to the failure DLQ."""


class InvalidEvent(ValueError):
    """The input event lacks a field the contract requires: a bug in the state machine's ParseEvent."""


class SettingsError(ValueError):
    """An environment variable is missing or invalid; the message names the variable."""


class ImageRejected(Exception):
    """A permanent problem with the uploaded image itself.

    Internal only: it becomes a ``status: rejected`` result with ``reason`` and never leaves the handler.
    ``width``/``height`` are set when they were already known (for example ``too-small``).
    """

    def __init__(self, reason: str, *, width: int | None = None, height: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.width = width
        self.height = height
