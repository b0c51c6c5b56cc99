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


def test_an_earlier_plugin_folder_beside_it_is_named(qgis_app, tmp_path):
    """Before cloudmask_qgis the plugin's folder was cloudmask. Installing the new zip leaves the
    old folder in place and QGIS keeps whichever provider "cloudmask" loads first, so the plugin
    names the old folder in the log (Critical) instead of letting old algorithms run unnoticed."""
    from qgis.core import Qgis, QgsApplication
    from cloudmask_qgis import plugin

    plugins = tmp_path / "plugins"
    here = plugins / "cloudmask_qgis"
    here.mkdir(parents=True)
    assert plugin.earlier_plugin_folders(str(here)) == []
    old = plugins / "cloudmask"
    old.mkdir()
    (old / "metadata.txt").write_text("[general]\nname=another plugin\n")
    assert plugin.earlier_plugin_folders(str(here)) == []
    (old / "metadata.txt").write_text("[general]\nname=cloudmask\nversion=0.1.0\n")
    assert plugin.earlier_plugin_folders(str(here)) == [str(old)]
    (old / "metadata.txt").write_bytes(b"[general\n\xff\xfe")
    assert plugin.earlier_plugin_folders(str(here)) == []

    # Through the plugin object as qgis_process creates it: the message names the folder, and a
    # provider id already taken is reported rather than ignored.
    logged = []

    def record(message, tag, level):
        logged.append((message, tag, level))

    log = QgsApplication.messageLog()
    log.messageReceived.connect(record)
    found = plugin.earlier_plugin_folders
    plugin.earlier_plugin_folders = lambda here=None: [str(old)]
    try:
        second = plugin.CloudmaskPlugin(None)
        second.initProcessing()
        QgsApplication.processEvents()
    finally:
        plugin.earlier_plugin_folders = found
        log.messageReceived.disconnect(record)
    critical = [m for m, tag, level in logged if tag == "cloudmask" and level == Qgis.Critical]
    assert any(str(old) in m and "earlier cloudmask plugin" in m for m in critical), logged
    # qgis_app (conftest) already holds the id, so this second provider is refused and says so.
    assert any("'cloudmask' is already registered by cloudmask_qgis.provider" in m
               for m in critical), logged
    assert second.provider is None
    assert QgsApplication.processingRegistry().providerById("cloudmask") is qgis_app
    second.unload()
