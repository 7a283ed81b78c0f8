"""Keep moto's EC2 out of a twin that never calls Batch or EC2.

moto's Step Functions interpreter imports its Batch integration, which needs only
``moto.batch.utils.JobStatus``. Importing that runs ``moto/batch/__init__.py``, which imports Batch's
models and with them all of ``moto.ec2``; that costs about 1.2 s of processor, and EC2's region table
builds a boto3 session when its class is defined. Every process that starts a twin paid for it:
each pytest worker, each ``local up``, the soak.

``defer_moto_batch()`` makes ``moto.batch`` import without running its ``__init__`` (a finder on
``sys.meta_path``, so nothing is imported until something imports moto.batch):
its submodules (``moto.batch.utils``) import as usual, and the first use of a name that
``__init__`` would have defined (``batch_backends``, as moto's backend lookup asks for it) imports
the real models then. Nothing is replaced: the package answers what it always answered, later.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from typing import Any

_PACKAGE = "moto.batch"


class _DeferredBatchPackage(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``moto.batch`` where it is, and loads it without running its ``__init__``."""

    def find_spec(
        self, name: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != _PACKAGE:
            return None
        real = importlib.machinery.PathFinder.find_spec(name, path)
        if real is None or real.submodule_search_locations is None:
            return None  # not moto's package layout: import it the usual way
        spec = importlib.util.spec_from_loader(name, self, origin=real.origin, is_package=True)
        assert spec is not None
        spec.submodule_search_locations = list(real.submodule_search_locations)
        spec.has_location = True  # __file__ is set, as for the real package
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: Any) -> None:
        def __getattr__(name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            if name != "batch_backends":  # a submodule (``from moto.batch import models``)
                try:
                    return importlib.import_module(f"{_PACKAGE}.{name}")
                except ModuleNotFoundError as missing:
                    if missing.name != f"{_PACKAGE}.{name}":
                        raise  # a dependency of that submodule is missing: say so
                    raise AttributeError(f"module {_PACKAGE!r} has no attribute {name!r}") from None
            models = importlib.import_module(f"{_PACKAGE}.models")  # the real models (and moto.ec2)
            module.batch_backends = models.batch_backends  # what __init__ defines
            return models.batch_backends

        module.__getattr__ = __getattr__  # PEP 562


def defer_moto_batch() -> None:
    """From now on, ``moto.batch`` imports deferred (imports nothing itself: the CLI's commands that
    never start a twin do not pay for moto). No-op when moto.batch is already imported."""
    if _PACKAGE in sys.modules or any(isinstance(finder, _DeferredBatchPackage) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _DeferredBatchPackage())
