"""The plugin object QGIS (and qgis_process, with iface None) creates."""
from qgis.core import Qgis, QgsApplication, QgsMessageLog, QgsSettings
from qgis.PyQt.QtCore import QTimer

from . import runtime, setup
from .provider import CloudmaskProvider

# Set when the user declined the set-up; the algorithm "Set up ONNX Runtime" stays available.
DECLINED_KEY = "cloudmask/setup_declined"


class CloudmaskPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None  # a Python reference keeps the provider alive

    def initProcessing(self):  # noqa: N802
        if self.provider is None:
            self.provider = CloudmaskProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()
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
