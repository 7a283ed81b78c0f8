"""Lambda execution environments as worker processes (see ``runtimes``).

``FunctionRuntimes(base_env, log_dir).invoke(config, payload_json)`` runs an invocation in a worker
process of its own for that function (``worker.py``), warm or cold, within the function's timeout,
memory and concurrency; ``config_from_moto`` reads a ``FunctionConfig`` from moto's Lambda model.
"""

from .config import FunctionConfig, config_from_moto, event_json
from .runtimes import FunctionRuntimes, FunctionStats, InvokeResult, RuntimeClosed, TooManyRequests

__all__ = [
    "FunctionConfig",
    "FunctionRuntimes",
    "FunctionStats",
    "InvokeResult",
    "RuntimeClosed",
    "TooManyRequests",
    "config_from_moto",
    "event_json",
]
