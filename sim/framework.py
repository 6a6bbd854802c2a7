"""Mesa, imported without the parts of its package that retailsim does not use.

``import mesa`` (3.3) imports every sub-package: its grids (``mesa.space``, ``mesa.discrete_space``,
which load networkx) and its experimental modules (which load ``scipy.spatial``). retailsim uses
``mesa.Model`` and ``mesa.Agent`` only, and those three sub-packages cost about a quarter of a second
of every command that runs a model (``docs/performance.md``). So, when this module is the first to
import Mesa, it puts a stand-in for each of them in ``sys.modules``; a stand-in imports the real
sub-package the first time anything is read from it, and from then on the real one is in its place.
Code that uses them (``from mesa.space import MultiGrid``, ``mesa.discrete_space.OrthogonalMooreGrid``,
``import mesa.experimental.continuous_space``) works as before, a little later. If Mesa was imported
before, nothing is deferred.

The stand-ins carry the real files' paths (``__file__``): Mesa's logging looks for each module's
file (``inspect.getmodule``) as it imports, and would otherwise load them all at once.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types

DEFERRED = ("mesa.experimental", "mesa.space", "mesa.discrete_space")


class Deferred(types.ModuleType):
    """A sub-package of Mesa that is imported when first read from."""

    def __getattr__(self, name: str):
        return getattr(self._load(), name)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def _load(self) -> types.ModuleType:
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        module = importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, module)
        return module


def _defer(base: str, name: str) -> None:
    relative = os.path.join(base, *name.split(".")[1:])
    path = os.path.join(relative, "__init__.py") if os.path.isdir(relative) else relative + ".py"
    if not os.path.exists(path):
        return  # another Mesa than the one pinned: import it as it is
    module = Deferred(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__file__ = path
    sys.modules[name] = module


if "mesa" not in sys.modules:
    _spec = importlib.util.find_spec("mesa")
    if _spec is not None and _spec.submodule_search_locations:
        for _name in DEFERRED:
            _defer(_spec.submodule_search_locations[0], _name)

import mesa  # noqa: E402 (after the stand-ins)

__all__ = ["DEFERRED", "mesa"]
