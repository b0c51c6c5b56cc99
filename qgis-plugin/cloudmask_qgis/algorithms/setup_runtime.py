"""cloudmask:setup: installs ONNX Runtime (and the models, when none are found) into the QGIS
profile with pip, then loads it: the headless form of the dialog QGIS shows at first start."""
from qgis.core import (QgsProcessingException, QgsProcessingOutputString,
                       QgsProcessingParameterFile)

from .. import runtime, setup
from ..native import CloudmaskError
from .base import CloudmaskAlgorithm


class SetupRuntimeAlgorithm(CloudmaskAlgorithm):
    NAME = "setup"
    DISPLAY_NAME = "Set up ONNX Runtime"
    NATIVE = False
    GROUP_ID, GROUP = "setup", "Set up"
    WHEELS = "WHEELS"
    RUNTIME = "RUNTIME"
    HELP = (
        "<p>Makes the plugin ready to mask when ONNX Runtime or the models are missing: "
        f"installs <code>{setup.ORT_REQUIREMENT}</code> (about "
        f"{setup.DOWNLOAD_MB[setup.ORT_REQUIREMENT]} MB) and, when no model is found, "
        f"<code>{setup.MODELS_REQUIREMENT}</code> (the four ukis-csmask models, about "
        f"{setup.DOWNLOAD_MB[setup.MODELS_REQUIREMENT]} MB) with pip into "
        "<code>python/cloudmask_runtime</code> of the QGIS profile, and uses them from then on. "
        "Nothing is installed when both are found already (e.g. from the cloudmask Debian "
        "package).</p>"
        "<p><b>Folder of wheels</b>: empty downloads from PyPI; a folder holding the two wheel "
        "files installs from there without network.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterFile(
            self.WHEELS, "Folder of wheels (empty: download from PyPI)",
            behavior=QgsProcessingParameterFile.Folder, optional=True))
        self.addOutput(QgsProcessingOutputString(self.RUNTIME, "ONNX Runtime library loaded"))

    def flags(self):
        # pip runs in a child process; QGIS's own objects are touched only after it.
        return super().flags() | self.FlagNoThreading

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        wheels = self.parameterAsFile(parameters, self.WHEELS, context) or None
        try:
            wanted = runtime.missing_requirements()
            feedback.pushInfo("to install: " + (", ".join(wanted) or "nothing (all found)"))
            path = runtime.run_setup(wheels, feedback.pushConsoleInfo, feedback.isCanceled)
        except (CloudmaskError, RuntimeError, OSError) as e:
            raise QgsProcessingException(str(e))
        feedback.pushInfo(f"ONNX Runtime loaded from {path}")
        feedback.pushInfo("models: " + ", ".join(runtime.library().list_models()))
        return {self.RUNTIME: path}
