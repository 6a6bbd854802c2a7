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

Mesa's logging module is imported first too, to read the import stack without its source lines
(:func:`_frames_without_source`).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import inspect
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


def _defer(location: list[str], name: str) -> Deferred | None:
    """Put ``name``'s module in ``sys.modules``, its code not run yet (:class:`Deferred`); None if not found."""
    spec = importlib.machinery.PathFinder.find_spec(name, location)
    if spec is None or spec.loader is None:
        return None  # another Mesa than the one pinned: import it as it is
    module = importlib.util.module_from_spec(spec)
    module.__class__ = Deferred
    sys.modules[name] = module
    return module


def _module_of(thing, filename=None):
    """``inspect.getmodule``, for a module's own frame without matching every loaded module's file."""
    if inspect.isframe(thing):
        module = sys.modules.get(thing.f_globals.get("__name__"))
        if module is not None and vars(module) is thing.f_globals:
            return module
    return inspect.getmodule(thing, filename)


def _outer_frames(frame, context: int = 1) -> list[inspect.FrameInfo]:
    """``inspect.getouterframes`` without looking up each frame's source (file, lines)."""
    frames = []
    while frame is not None:
        code = frame.f_code
        frames.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
        frame = frame.f_back
    return frames


def _frames_without_source() -> types.SimpleNamespace:
    """``inspect`` as Mesa's logging uses it, but with the stack's frames read without their source.

    As each of its modules is imported, Mesa's logging names its logger after the importing module
    (``inspect.getmodule(inspect.stack()[1][0])``) and a class after the class body
    (``inspect.getouterframes(...)[1][3]``). Those find the source file and lines of every frame of the
    import's stack, and the real path of every loaded module's file: 0.03 s of every command that runs
    a model (``docs/performance.md``). Mesa uses only each frame and its function's name, and a
    module's frame names its module itself."""
    return types.SimpleNamespace(**{**vars(inspect), "getmodule": _module_of, "getouterframes": _outer_frames,
                                    "stack": lambda context=1: _outer_frames(sys._getframe(1))})


def _load_logging(location: list[str]) -> types.ModuleType | None:
    """Import ``mesa.mesa_logging`` (whose imports are the standard library's) before Mesa imports it,
    reading frames without their source (:func:`_frames_without_source`)."""
    module = _defer(location, "mesa.mesa_logging")
    if module is None:
        return None
    load(module)  # now: Mesa's modules take their names from it as they are imported
    module.inspect = _frames_without_source()
    return module


_logging = None
if "mesa" not in sys.modules:
    _spec = importlib.util.find_spec("mesa")
    if _spec is not None and _spec.submodule_search_locations:
        for _name in DEFERRED:
            _defer(list(_spec.submodule_search_locations), _name)
        _logging = _load_logging(list(_spec.submodule_search_locations))

import mesa  # noqa: E402 (after the stand-ins)

if _logging is not None and not hasattr(mesa, "mesa_logging"):
    mesa.mesa_logging = _logging  # as an import of it from Mesa's own modules sets it

__all__ = ["DEFERRED", "load", "mesa"]
