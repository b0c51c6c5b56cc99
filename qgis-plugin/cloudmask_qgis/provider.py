"""The Processing provider `cloudmask`."""
from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import runtime
from .algorithms.apply_mask import ApplyMaskAlgorithm
from .algorithms.base import ICON
from .algorithms.evaluate import EvaluateAlgorithm
from .algorithms.mask_clouds import MaskCloudsAlgorithm
from .algorithms.select import SelectTilesAlgorithm
from .algorithms.setup_runtime import SetupRuntimeAlgorithm
from .algorithms.virtual_mask import VirtualMaskAlgorithm


class CloudmaskProvider(QgsProcessingProvider):
    def id(self):
        return "cloudmask"

    def name(self):
        return "cloudmask"

    def longName(self):  # noqa: N802
        return "cloudmask: cloud and cloud-shadow masks"

    def icon(self):
        return QIcon(ICON)

    def svgIconPath(self):  # noqa: N802
        return ICON

    def loadAlgorithms(self):  # noqa: N802
        runtime.load()  # logs one clear message if the library or ONNX Runtime is missing
        for alg in (MaskCloudsAlgorithm(), VirtualMaskAlgorithm(), ApplyMaskAlgorithm(),
                    EvaluateAlgorithm(), SelectTilesAlgorithm(), SetupRuntimeAlgorithm()):
            self.addAlgorithm(alg)

    def supportedOutputRasterLayerExtensions(self):  # noqa: N802
        return ["tif"]
