"""What every cloudmask algorithm shares: group, icon, help with the library's status, and the
parameters several of them take (input raster, model, device and threads, buffer, tiling), read
back into the library's option structs."""
import contextlib
import os

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingParameterEnum,
                       QgsProcessingParameterFile, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString)
from qgis.PyQt.QtGui import QIcon

from .. import docs, native, runtime

ICON = os.path.join(os.path.dirname(os.path.dirname(__file__)), "icon.png")

# Choice lists of the dialogs: (C value, label), from the binding (checked against the header).
DEVICES = native.DEVICES
PRECISIONS = native.PRECISIONS
TILINGS = native.TILINGS
MEASURES = native.MEASURES


class CloudmaskAlgorithm(QgsProcessingAlgorithm):
    """Subclasses set NAME, DISPLAY_NAME and HELP (where "{models}" becomes the models the
    library sees); NATIVE False for those that do not need the library."""
    NAME = ""
    DISPLAY_NAME = ""
    HELP = ""
    NATIVE = True
    GROUP_ID, GROUP = "masks", "Cloud masks"

    # Parameter keys shared by several algorithms.
    INPUT = "INPUT"
    MODEL = "MODEL"
    MODEL_FILE = "MODEL_FILE"
    BUFFER = "BUFFER"
    TILING = "TILING"
    DEVICE = "DEVICE"
    PRECISION = "PRECISION"
    THREADS = "THREADS"
    OUTPUT = "OUTPUT"

    def createInstance(self):  # noqa: N802
        return type(self)()

    def name(self):
        return self.NAME

    def displayName(self):  # noqa: N802
        return self.DISPLAY_NAME

    def group(self):
        return self.GROUP

    def groupId(self):  # noqa: N802
        return self.GROUP_ID

    def icon(self):
        return QIcon(ICON)

    def helpUrl(self):  # noqa: N802
        return docs.algorithm_help_url(f"cloudmask:{self.NAME}")

    def shortHelpString(self):  # noqa: N802
        if not self.NATIVE:
            return self.HELP
        problem = runtime.problem()
        warning = f"<p><b>Not available:</b> {problem}</p>" if problem else ""
        text = warning + self.HELP
        return text.replace("{models}", models_help()) if "{models}" in text else text

    def library(self):
        try:
            return runtime.library()
        except native.CloudmaskError as e:
            raise QgsProcessingException(str(e))

    # Declarations of the shared parameters, in the order the dialogs show them.

    def add_input(self):
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "Input raster"))

    def add_model(self):
        self.addParameter(QgsProcessingParameterString(
            self.MODEL, "Model name", defaultValue=native.DEFAULT_MODEL))
        self.addParameter(QgsProcessingParameterFile(
            self.MODEL_FILE, "Model file (.onnx, instead of the name)", extension="onnx",
            optional=True))

    def add_buffer(self):
        self.addParameter(QgsProcessingParameterNumber(
            self.BUFFER, "Valid-mask buffer (pixels)", QgsProcessingParameterNumber.Integer,
            defaultValue=native.DEFAULT_BUFFER, minValue=0))

    def add_tiling(self):
        self.addParameter(QgsProcessingParameterEnum(
            self.TILING, "Tiling", options=native.labels(TILINGS), defaultValue=0))

    def add_device_threads(self, device_label="Device"):
        self.addParameter(QgsProcessingParameterEnum(
            self.DEVICE, device_label, options=native.labels(DEVICES), defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.PRECISION, "Precision", options=native.labels(PRECISIONS), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.THREADS, "ONNX Runtime threads (0 = all cores)",
            QgsProcessingParameterNumber.Integer, defaultValue=0, minValue=0))

    # Reading them back.

    def input_source(self, parameters, context):
        """The source of the input raster layer."""
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException("the input raster could not be opened")
        return layer.source()

    def model_name(self, parameters, context):
        """The model file when given, else the model name (the default one when empty)."""
        path = self.parameterAsFile(parameters, self.MODEL_FILE, context)
        if path:
            return path
        name = self.parameterAsString(parameters, self.MODEL, context).strip()
        return name or native.DEFAULT_MODEL

    def library_input_model(self, parameters, context):
        """What masking algorithms start from: the library, the input's source, the model."""
        return (self.library(), self.input_source(parameters, context),
                self.model_name(parameters, context))

    def model_options(self, lib, parameters, context):
        """cm_model_options from DEVICE, PRECISION and THREADS."""
        return lib.model_options(
            threads=self.parameterAsInt(parameters, self.THREADS, context),
            device=native.chosen(
                DEVICES, self.parameterAsEnum(parameters, self.DEVICE, context)),
            precision=native.chosen(
                PRECISIONS, self.parameterAsEnum(parameters, self.PRECISION, context)))

    def mask_options(self, lib, parameters, context, tiling=True):
        """cm_mask_options from BUFFER (and TILING unless `tiling` is False)."""
        chosen_tiling = native.chosen(
            TILINGS, self.parameterAsEnum(parameters, self.TILING, context)) if tiling else None
        return lib.mask_options(tiling=chosen_tiling,
                                buffer=self.parameterAsInt(parameters, self.BUFFER, context))


def progress_of(feedback):
    """A progress(fraction, stage) for the library that reports to `feedback` and cancels when
    the user does."""
    def progress(fraction, stage):
        feedback.setProgress(100.0 * fraction)
        return not feedback.isCanceled()
    return progress


@contextlib.contextmanager
def library_errors(feedback):
    """Turns a failed library call into the QgsProcessingException Processing shows."""
    try:
        yield
    except native.CloudmaskError as e:
        if e.status == native.CM_ERROR_CANCELLED or feedback.isCanceled():
            raise QgsProcessingException("Canceled by user")
        raise QgsProcessingException(f"cloudmask: {e}")


def make_parent_dirs(*paths):
    """Creates the folders the output files given (None skipped) go into."""
    for path in paths:
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)


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
