"""What every cloudmask algorithm shares: group, icon, help with the library's status."""
import os

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtGui import QIcon

from .. import native, runtime

ICON = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icon.png")

# Choice lists of the dialogs: (C value, label), from the binding (checked against the header).
DEVICES = native.DEVICES
TILINGS = native.TILINGS
MEASURES = native.MEASURES


class CloudmaskAlgorithm(QgsProcessingAlgorithm):
    HELP = ""

    def createInstance(self):  # noqa: N802
        return type(self)()

    def group(self):
        return "Cloud masks"

    def groupId(self):  # noqa: N802
        return "masks"

    def icon(self):
        return QIcon(ICON)

    def shortHelpString(self):  # noqa: N802
        problem = runtime.problem()
        warning = f"<p><b>Not available:</b> {problem}</p>" if problem else ""
        return warning + self.HELP

    def library(self):
        try:
            return runtime.library()
        except native.CloudmaskError as e:
            raise QgsProcessingException(str(e))


def models_help():
    try:
        lib = runtime.library()
    except native.CloudmaskError:
        return "Models: the cloudmask library is not available (see the cloudmask log)."
    ort = runtime.ort_library()
    if ort:
        try:
            lib.runtime_init(ort)  # the ukis models are found beside ONNX Runtime
        except native.CloudmaskError:
            pass
    names = lib.list_models()
    if not names:
        return ("No models were found; the library searches $CLOUDMASK_MODEL_PATH, "
                "~/.local/share/cloudmask/models and the ukis_csmask Python package next to "
                "ONNX Runtime.")
    return "Models visible now: " + ", ".join(names) + "."


def model_name(alg, parameters, context, model_key, file_key):
    path = alg.parameterAsFile(parameters, file_key, context)
    if path:
        return path
    name = alg.parameterAsString(parameters, model_key, context).strip()
    return name or native.DEFAULT_MODEL
