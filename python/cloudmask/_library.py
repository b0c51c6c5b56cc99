"""Loading libcloudmask.so and ONNX Runtime once per process.

The C API's ctypes binding is ``_native`` (the QGIS plugin's ``native.py``, copied in when the
package is built, and checked against the header by the Rust test tests/bindings.rs). It is
loaded with :class:`ctypes.CDLL`, which releases the GIL during every foreign call, so masking
in one thread leaves the interpreter free for the others.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import threading
from typing import Optional

from . import _native

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

_lock = threading.Lock()
_library: Optional[_native.Library] = None


#: A failed library call: ``status`` is the C API's cm_status (an int, e.g. 6 for
#: CM_ERROR_WINDOW, None when no call was made); the message is the library's, saying what to fix.
CloudmaskError = _native.CloudmaskError


def library_path() -> str:
    """``$CLOUDMASK_LIBRARY`` when set, else the libcloudmask.so the package carries."""
    env = os.environ.get("CLOUDMASK_LIBRARY")
    path = env or os.path.join(PACKAGE_DIR, "lib", "libcloudmask.so")
    if not os.path.isfile(path):
        where = "$CLOUDMASK_LIBRARY" if env else "the installed package"
        raise CloudmaskError(
            f"libcloudmask.so was not found at {path} ({where}): reinstall the package "
            "(pip install ./python after cargo build --release), or point CLOUDMASK_LIBRARY at it")
    return path


def onnxruntime_path() -> Optional[str]:
    """libonnxruntime.so of the onnxruntime wheel in this environment (a dependency of the
    package), found without importing it; None when $CLOUDMASK_ORT_LIB is set (the library
    reads it itself) or the wheel is absent (the library then searches)."""
    if os.environ.get("CLOUDMASK_ORT_LIB"):
        return None
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(glob.glob(os.path.join(folder, "capi", "libonnxruntime.so*")))
        if found:
            return os.path.abspath(found[0])
    return None


def library() -> _native.Library:
    """The process's library, with ONNX Runtime loaded from this environment."""
    global _library
    with _lock:
        if _library is None:
            lib = _native.Library(library_path())
            check(lib, lib.lib.cm_runtime_init(_native.encoded(onnxruntime_path())))
            _library = lib
        return _library


def check(lib: _native.Library, status: int) -> None:
    """Raises CloudmaskError with the library's message unless ``status`` is CM_OK."""
    if status != _native.CM_OK:
        raise CloudmaskError(lib.last_error() or f"cloudmask failed with status {status}", status)
