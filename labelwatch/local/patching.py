"""Replacements of moto internals, each one recorded so it can be removed and checked.

The twin changes moto where moto is more forgiving than AWS (or slower than it needs to be). Every
such change is a ``Patch``: what it replaces, with what, and the signature the replaced callable had
when the patch was written. ``PatchSet`` applies a list of them on start and restores every one on
stop, so nothing stays patched after a twin stops; ``check_signatures()`` fails loudly, in one
place, when a moto upgrade changes something the twin relies on (see tests/unit/test_moto_canary.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_MISSING = object()


@dataclass
class Patch:
    """Replace ``target.name`` (a class or module attribute) with ``replacement`` while applied.

    ``signature`` is ``str(inspect.signature(original))`` as the patch expects it; ``None`` for an
    attribute that is not a callable (or that moto does not define yet: ``missing_ok``).
    """

    target: Any
    name: str
    replacement: Any
    signature: str | None = None
    missing_ok: bool = False  # the attribute may not exist yet (it is added, then deleted on restore)
    _original: Any = field(default=_MISSING, repr=False)
    _applied: bool = field(default=False, repr=False)

    @property
    def where(self) -> str:
        owner = getattr(self.target, "__qualname__", None) or getattr(self.target, "__name__", "?")
        module = getattr(self.target, "__module__", None) or getattr(self.target, "__name__", "")
        return f"{module}.{owner}.{self.name}" if inspect.isclass(self.target) else f"{module}.{self.name}"

    @property
    def applied(self) -> bool:
        return self._applied

    def original(self) -> Any:
        """What the attribute is when the patch is not applied (``_MISSING`` if absent)."""
        if self.applied:
            return self._original
        return (
            vars(self.target).get(self.name, _MISSING)
            if inspect.isclass(self.target)
            else getattr(self.target, self.name, _MISSING)
        )

    def apply(self) -> None:
        if self.applied:
            raise RuntimeError(f"{self.where} is already patched")
        current = self.original()
        if current is _MISSING and not self.missing_ok and not hasattr(self.target, self.name):
            raise AttributeError(f"{self.where} does not exist: moto changed (see patching.py)")
        self._original = current
        setattr(self.target, self.name, self.replacement)
        self._applied = True

    def restore(self) -> None:
        if not self.applied:
            return
        if self._original is _MISSING:
            delattr(self.target, self.name)
        else:
            setattr(self.target, self.name, self._original)
        self._original = _MISSING
        self._applied = False

    def signature_problem(self) -> str | None:
        """Why the patched callable no longer looks as this patch expects, or None."""
        if self.signature is None:
            return None
        original = self.original()
        if original is _MISSING:
            original = getattr(self.target, self.name, _MISSING)  # inherited
        if original is _MISSING:
            return None if self.missing_ok else f"{self.where} is gone"
        if isinstance(original, classmethod | staticmethod):  # as written in the class body
            original = original.__func__
        actual = str(inspect.signature(original))
        if actual != self.signature:
            return f"{self.where}{actual} (the twin expects {self.signature})"
        return None


@dataclass
class PatchSet:
    """Patches applied together, restored together (in reverse order)."""

    patches: list[Patch] = field(default_factory=list)

    def add(self, patches: Iterable[Patch]) -> None:
        self.patches.extend(patches)

    def apply(self) -> None:
        done: list[Patch] = []
        try:
            for patch in self.patches:
                patch.apply()
                done.append(patch)
        except BaseException:
            for patch in reversed(done):
                patch.restore()
            raise

    def restore(self) -> None:
        for patch in reversed(self.patches):
            patch.restore()

    @property
    def applied(self) -> list[Patch]:
        return [patch for patch in self.patches if patch.applied]

    def check_signatures(self) -> list[str]:
        return [problem for patch in self.patches if (problem := patch.signature_problem())]
