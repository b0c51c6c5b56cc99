"""cloudmask:virtualmask: a VRT over the cloudmask GDAL driver, loaded as a layer."""
import os

from qgis.core import (QgsProcessingContext, QgsProcessingException, QgsProcessingOutputRasterLayer,
                       QgsProcessingParameterBoolean, QgsProcessingParameterFileDestination)

from .. import native
from ..styles import StylePostProcessor
from .base import CloudmaskAlgorithm


class VirtualMaskAlgorithm(CloudmaskAlgorithm):
    NAME = "virtualmask"
    DISPLAY_NAME = "Add virtual cloud mask"
    WITH_VALID = "WITH_VALID"
    LAYER = "LAYER"

    HELP = (
        "<p>Writes a <i>virtual</i> cloud mask of the image: a small VRT over the cloudmask GDAL "
        "driver. Nothing is computed now; QGIS computes the blocks it draws as you pan and zoom, "
        "each exactly equal to what <b>Mask clouds</b> writes for those pixels.</p>"
        "<p><b>Output VRT</b>: leave empty to write <code>&lt;image&gt;_cloudmask.vrt</code> "
        "next to the image. Band 1 is the class map; with <b>Add the valid mask</b> band 2 is "
        "the valid mask (buffer in pixels).</p>"
        "<p><b>Model</b>: a model name (default ukis-6b-l1c) or an .onnx <b>Model file</b>. "
        "{models}</p>"
        "<p>The plugin registers the GDAL driver in QGIS when it loads. Other GDAL programs "
        "need <code>GDAL_DRIVER_PATH=/usr/lib/x86_64-linux-gnu/gdalplugins:"
        "&lt;plugin folder&gt;/lib</code> to read the VRT. Zoomed-out views compute the whole "
        "scene once.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_input()
        self.add_model()
        self.addParameter(QgsProcessingParameterBoolean(
            self.WITH_VALID, "Add the valid mask as band 2", defaultValue=False))
        self.add_buffer()
        self.add_device_threads()
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, "Output VRT (empty: next to the image)", fileFilter="VRT files (*.vrt)",
            optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputRasterLayer(self.LAYER, "Virtual cloud mask"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        lib = self.library()
        image = self.input_source(parameters, context)
        vrt = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if not vrt:
            if not os.path.isfile(image):
                raise QgsProcessingException(
                    f"{image} is not a file: choose where to write the VRT")
            vrt = os.path.splitext(image)[0] + "_cloudmask.vrt"
        model = self.model_name(parameters, context)
        outputs = "classes,valid" if self.parameterAsBool(parameters, self.WITH_VALID, context) \
            else "classes"
        model_options = self.model_options(lib, parameters, context)
        mask_options = self.mask_options(lib, parameters, context, tiling=False)
        try:
            lib.register_gdal_plugin()
            lib.write_virtual_mask(os.path.abspath(image) if os.path.isfile(image) else image,
                                   model, model_options, mask_options, outputs,
                                   os.path.abspath(vrt))
        except native.CloudmaskError as e:
            raise QgsProcessingException(f"cloudmask: {e}")
        feedback.pushInfo(f"wrote {vrt} (bands: {outputs}); it is computed as it is drawn")
        name = os.path.splitext(os.path.basename(vrt))[0]
        details = QgsProcessingContext.LayerDetails(name, context.project(), self.LAYER)
        details.setPostProcessor(StylePostProcessor.create("classes"))
        context.addLayerToLoadOnCompletion(vrt, details)
        return {self.OUTPUT: vrt, self.LAYER: vrt}
