"""The plugin object QGIS (and qgis_process, with iface None) creates."""
from qgis.core import QgsApplication

from .provider import CloudmaskProvider


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

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
