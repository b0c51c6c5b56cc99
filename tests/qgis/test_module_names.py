"""The QGIS plugin and the cloudmask Python package side by side in QGIS's Python: the plugin's
module is cloudmask_qgis, so `import cloudmask` gives the package even though QGIS puts the
plugins folder (here qgis-plugin/, conftest) in front of sys.path."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import PLUGIN_SRC, ROOT


@pytest.fixture(scope="module")
def python_package(requirements, tmp_path_factory):
    """The Python package built from python/ and installed into a folder of its own, as pip
    installs it into a site-packages (setup.py copies the library and the binding in)."""
    target = tmp_path_factory.mktemp("site-packages")
    shutil.rmtree(os.path.join(ROOT, "python", "build"), ignore_errors=True)  # as make python-wheel
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--no-deps", "--no-build-isolation", "--target", str(target),
                        os.path.join(ROOT, "python")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return str(target)


def test_import_cloudmask_is_the_python_package_beside_the_plugin(qgis_app, python_package):
    import qgis.utils
    from qgis.core import QgsApplication

    # The plugin, as QGIS loads it: by its folder name, from the plugins folder first on sys.path.
    assert sys.path[0] == PLUGIN_SRC
    assert qgis.utils.loadPlugin("cloudmask_qgis")
    plugin = sys.modules["cloudmask_qgis"]
    assert os.path.dirname(plugin.__file__) == os.path.join(PLUGIN_SRC, "cloudmask_qgis")
    assert type(qgis_app).__module__ == "cloudmask_qgis.provider"
    assert not os.path.exists(os.path.join(PLUGIN_SRC, "cloudmask")), "a plugin folder shadows it"

    # The package, installed after the plugins folder on sys.path (a site-packages).
    assert "cloudmask" not in sys.modules
    sys.path.append(python_package)
    try:
        import cloudmask
        assert os.path.dirname(cloudmask.__file__) == os.path.join(python_package, "cloudmask")
        assert isinstance(cloudmask.Model, type) and cloudmask.__version__ == "0.1.0"
        assert callable(cloudmask.models) and cloudmask.CLASSES["cloud"] == 2
        # Each has its own copy of the binding; neither module replaced the other.
        assert cloudmask._native is not sys.modules["cloudmask_qgis.native"]
        assert sys.modules["cloudmask_qgis"] is plugin and not hasattr(plugin, "Model")
    finally:
        sys.path.remove(python_package)
        for name in [n for n in sys.modules if n == "cloudmask" or n.startswith("cloudmask.")]:
            del sys.modules[name]

    # The provider and algorithm ids keep the name cloudmask (models and scripts keep working).
    assert qgis_app.id() == "cloudmask"
    registry = QgsApplication.processingRegistry()
    assert registry.providerById("cloudmask") is qgis_app
    for alg in ("mask", "virtualmask", "applymask", "evaluate", "select", "setup"):
        assert registry.algorithmById(f"cloudmask:{alg}") is not None, alg
