"""One process-wide handle on the native library, with a clear message when it is missing.

Settings (QgsSettings, Settings > Options > Advanced, group ``cloudmask``):
``cloudmask/library`` (path of libcloudmask.so) and ``cloudmask/ort_library`` (path of
libonnxruntime.so). Environment variables ``CLOUDMASK_LIBRARY`` and ``CLOUDMASK_ORT_LIB`` do
the same and win over the settings.

ONNX Runtime, in order: ``$CLOUDMASK_ORT_LIB`` or the setting; else the library's own search
(the cloudmask Debian package's private copy first, docs/engine.md); else what the set-up
(the algorithm "Set up ONNX Runtime", or the dialog QGIS shows at start) installed into
``<profile>/python/cloudmask_runtime``. Models installed there are found through
``$CLOUDMASK_MODEL_PATH``, which this module extends for the QGIS process.
"""
import os

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsSettings

from . import setup
from .native import CM_ERROR_RUNTIME_NOT_FOUND, CloudmaskError, Library, find_library

LOG_TAG = "cloudmask"

_state = {"library": None, "error": None, "runtime_error": None, "loaded": False,
          "runtime_missing": False}

SETUP_HINT = ("run Processing > cloudmask > Set up > \"Set up ONNX Runtime\" (cloudmask:setup), "
              "which installs the pinned onnxruntime wheel into the QGIS profile")


def runtime_dir():
    """The plugin's own folder for ONNX Runtime and the models inside the current profile."""
    return setup.runtime_dir(QgsApplication.qgisSettingsDirPath())


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
    use_runtime_dir_models()
    try:
        init_runtime(lib)
    except CloudmaskError as e:
        _state["runtime_missing"] = e.status == CM_ERROR_RUNTIME_NOT_FOUND
        _state["runtime_error"] = (
            f"ONNX Runtime was not found or could not be loaded: {e} (to fix: {SETUP_HINT}; "
            "or set the environment variable CLOUDMASK_ORT_LIB, or the QGIS setting "
            "cloudmask/ort_library, to the path of libonnxruntime.so, then restart QGIS)")
        QgsMessageLog.logMessage(_state["runtime_error"], LOG_TAG, Qgis.Critical)
        return
    QgsMessageLog.logMessage(f"cloudmask {lib.version} loaded from {lib.path}", LOG_TAG, Qgis.Info)


def init_runtime(lib):
    """The named runtime; else the library's search; else the set-up's copy in the profile."""
    named = ort_library()
    try:
        lib.runtime_init(named)
    except CloudmaskError as e:
        fallback = setup.installed_ort(runtime_dir())
        if named or e.status != CM_ERROR_RUNTIME_NOT_FOUND or not fallback:
            raise
        lib.runtime_init(fallback)
    QgsMessageLog.logMessage(f"ONNX Runtime {loaded_ort()}", LOG_TAG, Qgis.Info)


def loaded_ort():
    """The libonnxruntime.so this process has mapped (/proc/self/maps names every mapped file by
    its absolute path), or None."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split(None, 5)[-1].strip()
                if os.path.basename(path).startswith("libonnxruntime.so"):
                    return path
    except OSError:
        pass
    return None


def use_runtime_dir_models():
    """Models the set-up installed (<runtime dir>/ukis_csmask) join the library's search."""
    folder = runtime_dir()
    if not setup.has_models(folder):
        return
    dirs = [d for d in os.environ.get("CLOUDMASK_MODEL_PATH", "").split(":") if d]
    if folder not in dirs:
        os.environ["CLOUDMASK_MODEL_PATH"] = ":".join(dirs + [folder])


def missing_requirements():
    """The pip requirements the set-up would install now: ONNX Runtime when none could be
    found, the models when the library sees none."""
    load()
    lib = _state["library"]
    if lib is None:
        return []
    wanted = [setup.ORT_REQUIREMENT] if _state["runtime_missing"] else []
    if not lib.list_models():
        wanted.append(setup.MODELS_REQUIREMENT)
    return wanted


def run_setup(wheels=None, log=print, cancelled=lambda: False):
    """Installs what is missing into the profile and loads it; returns the runtime's path."""
    load()
    if _state["library"] is None:
        raise CloudmaskError(_state["error"])
    wanted = missing_requirements()
    if wanted:
        setup.install(runtime_dir(), wanted, wheels, log, cancelled)
    if _state["runtime_error"]:
        _state.update(loaded=False, runtime_error=None, runtime_missing=False, library=None)
        load()
        if _state["runtime_error"]:
            raise CloudmaskError(_state["runtime_error"])
    use_runtime_dir_models()
    return loaded_ort()


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
