"""
Make ``import pyNN.surrogate`` return the ``pyNN_surrogate`` package itself.

A ``.pth`` file installed next to the package imports this stand-alone module at interpreter start-up. It
adds a tiny meta-path finder and imports nothing else (not PyNN, not torch): ``pyNN.surrogate``
and ``pyNN.surrogate.<sub>`` are resolved to the very same module objects as ``pyNN_surrogate``
and ``pyNN_surrogate.<sub>``, so there is one ``state``. Nothing is copied into PyNN's folder.
"""

import importlib
import importlib.abc
import importlib.util
import sys

ALIAS = "pyNN.surrogate"
TARGET = "pyNN_surrogate"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target_name):
        self.target_name = target_name

    def create_module(self, spec):
        return importlib.import_module(self.target_name)

    def exec_module(self, module):
        """The target module is already executed by its own import."""


class SurrogateAliasFinder(importlib.abc.MetaPathFinder):
    """Resolve ``pyNN.surrogate[.x]`` to ``pyNN_surrogate[.x]``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        target_name = TARGET + fullname[len(ALIAS):]
        if importlib.util.find_spec(target_name) is None:
            return None
        target_module = sys.modules.get(target_name)
        is_package = target_module is None or hasattr(target_module, "__path__")
        return importlib.util.spec_from_loader(fullname, _AliasLoader(target_name),
                                               is_package=is_package)


def install():
    """Put the finder first on ``sys.meta_path`` (once), ahead of the path finder."""
    if not any(isinstance(finder, SurrogateAliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, SurrogateAliasFinder())


install()
