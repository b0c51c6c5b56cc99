"""First-use set-up: ONNX Runtime (and the ukis-csmask models) installed with pip into a folder of
the plugin's own inside the QGIS profile, where the plugin finds them from then on.

Only the files are used (libonnxruntime.so, the .onnx models): nothing is imported from that
folder and it is never put on sys.path, so --no-deps is enough and QGIS's Python stays as it
is. pip --target is allowed on Debian's externally managed Python (PEP 668 guards only installs
into the interpreter's own environment).
"""
import glob
import os
import shutil
import subprocess
import sys

ORT_REQUIREMENT = "onnxruntime==1.31.1"
MODELS_REQUIREMENT = "ukis-csmask==1.0.0"
# What a download costs, for the question the dialog asks (wheel sizes on PyPI).
DOWNLOAD_MB = {ORT_REQUIREMENT: 24, MODELS_REQUIREMENT: 145}


def runtime_dir(profile_dir):
    """<profile>/python/cloudmask_runtime: the plugin's own folder beside its plugins folder."""
    return os.path.join(profile_dir, "python", "cloudmask_runtime")


def installed_ort(folder):
    """The libonnxruntime.so.<version> pip put in `folder`, or None."""
    hits = sorted(glob.glob(os.path.join(folder, "onnxruntime", "capi", "libonnxruntime.so.*")))
    return hits[-1] if hits else None


def has_models(folder):
    return bool(glob.glob(os.path.join(folder, "ukis_csmask", "model_*.onnx")))


def python_executable():
    """The Python whose pip runs: QGIS's own interpreter, by path (inside QGIS sys.executable
    is the QGIS program itself)."""
    here = os.path.join(sys.exec_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}")
    return here if os.access(here, os.X_OK) else (shutil.which("python3") or "python3")


def pip_command(target, requirements, wheels=None):
    """The pip call: from PyPI, or from a folder of wheels only (no network) when `wheels`."""
    cmd = [python_executable(), "-m", "pip", "install", "--disable-pip-version-check",
           "--no-input", "--no-deps", "--target", target]
    if wheels:
        cmd += ["--no-index", "--find-links", wheels]
    return cmd + list(requirements)


def install(folder, requirements, wheels=None, log=print, cancelled=lambda: False):
    """Installs `requirements` into `folder` whole or not at all: pip fills a sibling folder that
    replaces `folder` only when pip succeeded (a failed or cancelled download leaves what was
    there). Returns the library found there afterwards (or None when it holds none)."""
    partial = folder + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    keep = [r for r in (ORT_REQUIREMENT, MODELS_REQUIREMENT)
            if r not in requirements and os.path.isdir(folder) and _has(folder, r)]
    cmd = pip_command(partial, list(requirements) + keep, wheels)
    log("running: " + " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:
        log(line.rstrip())
        if cancelled():
            proc.kill()
    code = proc.wait()
    if code != 0 or cancelled():
        shutil.rmtree(partial, ignore_errors=True)
        why = "cancelled" if cancelled() else f"pip failed (exit status {code}, log above)"
        raise RuntimeError(f"setting up ONNX Runtime {why}; nothing was changed in {folder}")
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(partial, folder)
    return installed_ort(folder)


def _has(folder, requirement):
    return installed_ort(folder) if requirement == ORT_REQUIREMENT else has_models(folder)
