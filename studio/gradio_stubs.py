"""Gradio without its stub writer: about 2 CPU-s off every ``import gradio``.

When a component class is created, Gradio's metaclass calls
``gradio.component_meta.create_or_modify_pyi``: it reads the class's source file, parses
it and rewrites the ``.pyi`` type stub beside it (in the installed package for Gradio's own
components, beside the source for anyone's). Gradio has no setting for it. Measured here
(``/usr/bin/time python -c "import gradio"``, 3 interleaved runs): 4.6-4.7 CPU-s with it,
2.5-2.6 without, paid by ``python app.py`` at every start and by every test process. The
stubs serve editors of component source code; the studio never reads them, and a web server
has no business writing into its site-packages.

:func:`skip` (called by ``studio/__init__``, so before any studio module imports Gradio)
installs an import hook that replaces that function with a no-op as soon as
``gradio.component_meta`` is loaded, then removes itself. If Gradio was imported before,
or a release renames the function, nothing changes but the time.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any

MODULE = "gradio.component_meta"
FUNCTION = "create_or_modify_pyi"


def _no_stub(*args: Any, **kwargs: Any) -> None:
    """Gradio's stub writer, replaced: writes nothing."""


def _turn_off(module: ModuleType) -> None:
    """Replace the stub writer in ``gradio.component_meta`` (when it has one)."""
    if callable(getattr(module, FUNCTION, None)):
        setattr(module, FUNCTION, _no_stub)


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != MODULE:
            return None
        _remove()
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            _turn_off(module)

        loader.exec_module = exec_module  # this spec's loader only: a fresh one per find
        return spec


def _remove() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Hook)]


def skip() -> None:
    """Make Gradio's stub writer a no-op from its first import on (idempotent)."""
    if MODULE in sys.modules:
        _turn_off(sys.modules[MODULE])  # components made from now on write none
        return
    if not any(isinstance(f, _Hook) for f in sys.meta_path):
        sys.meta_path.insert(0, _Hook())
