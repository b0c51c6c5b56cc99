"""The plugin object QGIS (and qgis_process, with iface None) creates."""
import configparser
import os

from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsSettings
from qgis.PyQt.QtCore import QTimer

from . import runtime, setup
from .provider import CloudmaskProvider

# Set when the user declined the set-up; the algorithm "Set up ONNX Runtime" stays available.
DECLINED_KEY = "cloudmask/setup_declined"


# The plugin's folder before it became cloudmask_qgis (so that it no longer shadows the
# cloudmask Python package).
EARLIER_FOLDER = "cloudmask"


def earlier_plugin_folders(here=None):
    """Folders beside this plugin that hold an earlier version of it. Installing the new zip
    does not remove them, both register the Processing provider "cloudmask", and QGIS keeps
    whichever loads first: the old algorithms could run without a word."""
    here = here or os.path.dirname(os.path.abspath(__file__))
    folder = os.path.join(os.path.dirname(here), EARLIER_FOLDER)
    meta = configparser.ConfigParser(interpolation=None)
    try:
        meta.read(os.path.join(folder, "metadata.txt"), encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return []
    return [folder] if meta.get("general", "name", fallback=None) == "cloudmask" else []


def earlier_plugin_message(folder):
    return (f"an earlier cloudmask plugin is still installed in {folder}: uninstall it "
            "(Plugins > Manage and Install Plugins) or delete that folder, then restart QGIS; "
            "until then QGIS may run its algorithms instead of this version's")


class CloudmaskPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None  # a Python reference keeps the provider alive
        self.earlier_folders = earlier_plugin_folders()  # told in the log and the message bar

    def initProcessing(self):  # noqa: N802
        if self.provider is None:
            for folder in self.earlier_folders:
                QgsMessageLog.logMessage(earlier_plugin_message(folder), runtime.LOG_TAG,
                                         Qgis.Critical)
            registry = QgsApplication.processingRegistry()
            provider = CloudmaskProvider()
            other = registry.providerById(provider.id())
            if other is not None:
                # addProvider would refuse it with only a debug line, and delete it.
                QgsMessageLog.logMessage(
                    f"the Processing provider {provider.id()!r} is already registered by "
                    f"{type(other).__module__}; this version's algorithms are not available "
                    "until that plugin is removed", runtime.LOG_TAG, Qgis.Critical)
                return
            self.provider = provider
            registry.addProvider(provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()
        for folder in self.earlier_folders:
            self.iface.messageBar().pushMessage("cloudmask", earlier_plugin_message(folder),
                                                Qgis.Critical, 0)
        # Once the main window is up: the question needs a parent to sit on.
        QTimer.singleShot(0, self.offer_setup)

    def offer_setup(self):
        """First use without ONNX Runtime (or models): ask once, then run cloudmask:setup in
        its Processing dialog (progress, pip's log, cancel)."""
        wanted = runtime.missing_requirements()
        if not wanted or QgsSettings().value(DECLINED_KEY, False, type=bool):
            return
        from qgis.PyQt.QtWidgets import QMessageBox
        size = sum(setup.DOWNLOAD_MB[w] for w in wanted)
        answer = QMessageBox.question(
            self.iface.mainWindow(), "cloudmask: set up ONNX Runtime",
            "The cloudmask plugin needs " + " and ".join(wanted) + f" (about {size} MB). "
            "Download them from PyPI with pip into this QGIS profile "
            f"({runtime.runtime_dir()}) now?\n\nLater: Processing toolbox > cloudmask > "
            "Set up > Set up ONNX Runtime. Or install the cloudmask Debian package, which "
            "brings both.",
            QMessageBox.Yes | QMessageBox.No, QMessageBox.Yes)
        if answer != QMessageBox.Yes:
            QgsSettings().setValue(DECLINED_KEY, True)
            QgsMessageLog.logMessage("set-up declined: " + runtime.SETUP_HINT, runtime.LOG_TAG,
                                     Qgis.Info)
            return
        import processing
        processing.execAlgorithmDialog("cloudmask:setup", {})

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
