"""Keep moto's EC2 out of a twin that never calls Batch or EC2.

moto's Step Functions interpreter imports its Batch integration, which needs only
``moto.batch.utils.JobStatus``. Importing that runs ``moto/batch/__init__.py``, which imports Batch's
models and with them all of ``moto.ec2``; that costs about 1.2 s of processor, and EC2's region table
builds a boto3 session when its class is defined. Every process that starts a twin paid for it:
each pytest worker, each ``local up``, the soak.

``defer_moto_batch()`` puts the ``moto.batch`` package in place without running its ``__init__``:
its submodules (``moto.batch.utils``) import as usual, and the first use of a name that
``__init__`` would have defined (``batch_backends``, as moto's backend lookup asks for it) imports
the real models then. Nothing is replaced: the package answers what it always answered, later.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

_PACKAGE = "moto.batch"


def defer_moto_batch() -> None:
    """Install the deferred ``moto.batch`` (no-op if it is already imported)."""
    if _PACKAGE in sys.modules:
        return
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.submodule_search_locations is None:
        return  # not moto's package layout: import it the usual way
    package = importlib.util.module_from_spec(spec)  # __path__, __spec__; __init__ not run

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name != "batch_backends":  # a submodule (``from moto.batch import models``)
            try:
                return importlib.import_module(f"{_PACKAGE}.{name}")
            except ModuleNotFoundError:
                raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}") from None
        models = importlib.import_module(f"{_PACKAGE}.models")  # the real models (and moto.ec2)
        package.batch_backends = models.batch_backends  # what __init__ defines
        return models.batch_backends

    package.__getattr__ = __getattr__  # type: ignore[attr-defined]  # PEP 562
    sys.modules[_PACKAGE] = package
    import moto

    moto.batch = package  # type: ignore[attr-defined]  # as the import system sets a parent's attribute
