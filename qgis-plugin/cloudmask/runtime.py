"""One process-wide handle on the native library, with a clear message when it is missing.

Settings (QgsSettings, Settings > Options > Advanced, group ``cloudmask``):
``cloudmask/library`` (path of libcloudmask.so) and ``cloudmask/ort_library`` (path of
libonnxruntime.so). Environment variables ``CLOUDMASK_LIBRARY`` and ``CLOUDMASK_ORT_LIB`` do
the same and win over the settings.
"""
import os

from qgis.core import Qgis, QgsMessageLog, QgsSettings

from .native import CloudmaskError, Library, find_library

LOG_TAG = "cloudmask"

_state = {"library": None, "error": None, "runtime_error": None, "loaded": False}


def setting(key):
    value = QgsSettings().value(f"cloudmask/{key}", "")
    return str(value) if value else None


def ort_library():
    """Explicit ONNX Runtime path, or None to let the library search ($CLOUDMASK_ORT_LIB first)."""
    if os.environ.get("CLOUDMASK_ORT_LIB"):
        return None  # the library reads it itself, ahead of its search
    return setting("ort_library")


def load():
    """Loads the library and ONNX Runtime once; logs one message when either is missing."""
    if _state["loaded"]:
        return
    _state["loaded"] = True
    try:
        lib = Library(find_library(setting("library")))
    except CloudmaskError as e:
        _state["error"] = str(e)
        QgsMessageLog.logMessage(str(e), LOG_TAG, Qgis.Critical)
        return
    _state["library"] = lib
    try:
        lib.register_gdal_plugin()
    except CloudmaskError as e:
        QgsMessageLog.logMessage(f"virtual masks unavailable: {e}", LOG_TAG, Qgis.Warning)
    try:
        lib.runtime_init(ort_library())
    except CloudmaskError as e:
        _state["runtime_error"] = (
            f"ONNX Runtime was not found or could not be loaded: {e} "
            "(set the environment variable CLOUDMASK_ORT_LIB, or the QGIS setting "
            "cloudmask/ort_library, to the path of libonnxruntime.so, then restart QGIS)")
        QgsMessageLog.logMessage(_state["runtime_error"], LOG_TAG, Qgis.Critical)
        return
    QgsMessageLog.logMessage(f"cloudmask {lib.version} loaded from {lib.path}", LOG_TAG, Qgis.Info)


def library():
    """The loaded Library, or raise CloudmaskError with the one clear message."""
    load()
    if _state["library"] is None:
        raise CloudmaskError(_state["error"])
    if _state["runtime_error"]:
        raise CloudmaskError(_state["runtime_error"])
    return _state["library"]


def problem():
    """The message to show in algorithm help when something is missing, else None."""
    load()
    return _state["error"] or _state["runtime_error"]
