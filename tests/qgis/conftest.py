"""Fixtures for the QGIS plugin tests: one headless QgsApplication per session, the cloudmask
provider kept alive, the CLI's masks of the sample scene as the reference.

Everything fails with what to install when QGIS, ../shared/data, the native library or ONNX
Runtime is missing. Run through `make test-qgis` (or QT_QPA_PLATFORM=offscreen out/venv-qgis/bin/python
-m pytest -p no:qgis tests/qgis).
"""
import atexit
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

# Before any qgis import: without it QgsApplication aborts silently under pytest.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if not os.environ.get("XDG_RUNTIME_DIR"):
    _xdg = tempfile.mkdtemp(prefix="cloudmask-xdg-")
    os.chmod(_xdg, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = _xdg
    atexit.register(shutil.rmtree, _xdg, True)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN_SRC = os.path.join(ROOT, "qgis-plugin")
SHARED_SCENE = os.path.normpath(
    os.path.join(ROOT, "..", "shared", "data", "ukis-s2", "s2_6band.tif"))
# A private copy: QGIS writes statistics and histograms into <raster>.aux.xml beside the rasters
# it loads, and ../shared/data must stay untouched.
_DATA = tempfile.mkdtemp(prefix="cloudmask-qgis-data-")
atexit.register(shutil.rmtree, _DATA, True)
SCENE = os.path.join(_DATA, "s2_6band.tif")
if os.path.isfile(SHARED_SCENE):
    shutil.copyfile(SHARED_SCENE, SCENE)
LIBRARY = os.path.join(ROOT, "target", "release", "libcloudmask.so")
CLI = os.path.join(ROOT, "target", "release", "cloudmask")
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
TEST_OUT = os.environ.get("CLOUDMASK_TEST_OUT", os.path.join(ROOT, "out", "test-qgis"))


def _repo_ort():
    """ONNX Runtime of the project's .venv (what `make venv` installs)."""
    hits = sorted(glob.glob(os.path.join(
        ROOT, ".venv", "lib", "python3*", "site-packages", "onnxruntime", "capi",
        "libonnxruntime.so.*")))
    return hits[-1] if hits else None


if not os.environ.get("CLOUDMASK_ORT_LIB") and _repo_ort():
    os.environ["CLOUDMASK_ORT_LIB"] = _repo_ort()
# A throwaway QGIS profile root for this session's QgsApplication (never ~/.local/share/QGIS).
if not os.environ.get("QGIS_CUSTOM_CONFIG_PATH"):
    os.environ["QGIS_CUSTOM_CONFIG_PATH"] = tempfile.mkdtemp(prefix="cloudmask-qgis-profile-")
    atexit.register(shutil.rmtree, os.environ["QGIS_CUSTOM_CONFIG_PATH"], True)


def _missing():
    try:
        import qgis.core  # noqa: F401
    except ImportError as e:
        return f"PyQGIS is not importable ({e}): apt-get install python3-qgis, run with /usr/bin/python3"
    if not os.path.isfile(SCENE):
        return f"sample scene {SHARED_SCENE} missing (../shared/data beside the checkout)"
    if not os.path.isfile(LIBRARY) or not os.path.isfile(CLI):
        return f"{LIBRARY} or {CLI} missing: cargo build --release"
    ort = os.environ.get("CLOUDMASK_ORT_LIB")
    if not ort or not os.path.isfile(ort):
        return "ONNX Runtime not found: make venv (or set CLOUDMASK_ORT_LIB)"
    return None


@pytest.fixture(scope="session")
def requirements():
    why = _missing()
    if why:
        pytest.fail(why, pytrace=False)


@pytest.fixture(scope="session")
def out_dir():
    os.makedirs(TEST_OUT, exist_ok=True)
    return TEST_OUT


@pytest.fixture(scope="session")
def qgis_app(requirements):
    from qgis.core import QgsApplication
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    sys.path.insert(0, PLUGIN_SRC)
    from processing.core.Processing import Processing
    Processing.initialize()
    from cloudmask_qgis.provider import CloudmaskProvider
    provider = CloudmaskProvider()  # this reference keeps the provider alive
    assert QgsApplication.processingRegistry().addProvider(provider)
    yield provider
    QgsApplication.processingRegistry().removeProvider(provider)


@pytest.fixture(scope="session")
def cli_masks(requirements, tmp_path_factory):
    """The CLI's class map and valid mask of the sample scene, as numpy arrays."""
    from osgeo import gdal
    out = str(tmp_path_factory.mktemp("cli") / "cli.tif")
    subprocess.run([CLI, "mask", SCENE, "-o", out, "--output", "classes,valid", "-q"],
                   check=True, timeout=300)
    classes = gdal.Open(out).ReadAsArray()
    valid = gdal.Open(out.replace(".tif", "_valid.tif")).ReadAsArray()
    return classes, valid


def read_band(path, band=1):
    from osgeo import gdal
    ds = gdal.Open(path)
    assert ds is not None, f"cannot open {path}"
    return ds.GetRasterBand(band).ReadAsArray()


def digital_numbers(folder):
    """The scene as UInt16 digital numbers with nothing saying so (dn.tif: reflectance x 10000,
    no scale, no product metadata) and the same numbers behind a VRT giving them GDAL's scale
    0.0001 (scaled.vrt), in `folder`: read with Scaling = digital numbers, the first must give
    what the second gives with automatic scaling."""
    from osgeo import gdal
    dn, scaled = os.path.join(str(folder), "dn.tif"), os.path.join(str(folder), "scaled.vrt")
    for path, source, options in (
            (dn, SCENE, {"outputType": gdal.GDT_UInt16, "scaleParams": [[0, 1, 0, 10000]]}),
            (scaled, dn, {"format": "VRT", "options": ["-a_scale", "0.0001"]})):
        ds = gdal.Translate(path, source, **options)
        assert ds is not None, f"gdal.Translate {source} -> {path}: {gdal.GetLastErrorMsg()}"
        ds = None  # closed: written to disk
    return dn, scaled


def scaling_index(value):
    """The index of a CM_SCALING_* value in the Scaling parameter's choices."""
    from cloudmask_qgis import native
    return [v for v, _ in native.SCALINGS].index(value)


def qgis_env(profile_root):
    """Environment for a qgis_process.bin child: headless, throwaway profile."""
    env = dict(os.environ)
    env["QGIS_CUSTOM_CONFIG_PATH"] = str(profile_root)
    env.pop("CLOUDMASK_LIBRARY", None)
    return env


def mask_params(output, **extra):
    """Every parameter explicit (QGIS 3.22 does not apply some defaults)."""
    params = {"INPUT": SCENE, "MODEL": "ukis-6b-l1c", "BANDS": "", "BUFFER": 4, "TILING": 0,
              "DEVICE": 0, "THREADS": 0, "OUTPUT": output}
    params.update(extra)
    return params
