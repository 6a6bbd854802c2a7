"""Mesa, imported without the parts of its package that retailsim does not use.

``import mesa`` (3.3) imports every sub-package: its grids (``mesa.space``, ``mesa.discrete_space``,
which load networkx) and its experimental modules (which load ``scipy.spatial``). retailsim uses
``mesa.Model`` and ``mesa.Agent`` only, and those three sub-packages cost about a quarter of a second
of every command that runs a model (``docs/performance.md``). So, when this module is the first to
import Mesa, each of the three is put in ``sys.modules`` as the module object an import would make
(name, spec, file, path: found without running anything), whose code runs, in that same object, the
first time an attribute it does not have yet is read. Code that uses them (``from mesa.space import
MultiGrid``, ``mesa.discrete_space.OrthogonalMooreGrid``, ``import mesa.experimental.devs``,
``mock.patch("mesa.space.MultiGrid")``) finds the same module as without the deferral, a little later.
If Mesa was imported before, nothing is deferred.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types

DEFERRED = ("mesa.experimental", "mesa.space", "mesa.discrete_space")
_LOADING = threading.RLock()


class Deferred(types.ModuleType):
    """A module whose code has not run yet: it runs when an attribute the module lacks is first read
    (then the module is a plain module, the very object that was handed out)."""

    def __getattr__(self, name: str):
        if name == "__path__":  # a module, not a package: tools that walk sys.modules ask every one
            raise AttributeError(name)
        load(self)
        return getattr(self, name)

    @property
    def __doc__(self) -> str | None:  # help() reads it first: the real one
        load(self)
        return self.__dict__.get("__doc__")

    def __dir__(self) -> list[str]:
        load(self)
        return dir(self)


def load(module: types.ModuleType) -> None:
    """Run a deferred module's code in it now (nothing if it has run)."""
    with _LOADING:
        if type(module) is not Deferred:
            return
        module.__class__ = types.ModuleType
        if "__builtins__" in module.__dict__:  # its code has run already (importlib.reload, say)
            return
        try:
            module.__spec__.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module.__name__, None)  # as a failed import leaves it
            raise


def _defer(location: list[str], name: str) -> None:
    spec = importlib.machinery.PathFinder.find_spec(name, location)
    if spec is None or spec.loader is None:
        return  # another Mesa than the one pinned: import it as it is
    module = importlib.util.module_from_spec(spec)
    module.__class__ = Deferred
    sys.modules[name] = module


if "mesa" not in sys.modules:
    _spec = importlib.util.find_spec("mesa")
    if _spec is not None and _spec.submodule_search_locations:
        for _name in DEFERRED:
            _defer(list(_spec.submodule_search_locations), _name)

import mesa  # noqa: E402 (after the stand-ins)

__all__ = ["DEFERRED", "load", "mesa"]
