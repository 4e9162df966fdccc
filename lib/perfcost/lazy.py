"""Public names of a subpackage, each loaded from its module on first use.

A subpackage lists its modules and their public names once; :func:`lazy_exports` gives back the
``__getattr__``, ``__dir__`` and ``__all__`` that make ``package.name`` import only the module
that defines it, so a light module (a server process, a checker) never pays for a heavy one
(PyTorch, ONNX Runtime) it does not use.

Used by :mod:`perfcost.compression` and :mod:`perfcost.serving`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence

__all__ = ["lazy_exports"]


def lazy_exports(package: str, package_globals: Mapping[str, object],
                 modules: Mapping[str, Sequence[str]]
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """Return ``(__getattr__, __dir__, __all__)`` for ``package`` whose ``modules`` map each
    module name to the public names it defines."""
    home = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> object:
        """Load a public name from its module on first use."""
        if name not in home:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{home[name]}"), name)

    def __dir__() -> list[str]:
        return sorted({*package_globals, *home})

    return __getattr__, __dir__, sorted(home)
