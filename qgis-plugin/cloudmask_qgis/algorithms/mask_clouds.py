"""cloudmask:mask: a class map (and a valid mask, probabilities) of a raster, through
cm_mask_to_files."""

from qgis.core import (QgsProcessingException, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterString)

from .. import runtime
from ..styles import StylePostProcessor
from . import reading
from .base import CloudmaskAlgorithm, library_errors, make_parent_dirs, progress_of


class MaskCloudsAlgorithm(CloudmaskAlgorithm):
    NAME = "mask"
    DISPLAY_NAME = "Mask clouds"
    BANDS = "BANDS"
    VALID_OUTPUT = "VALID_OUTPUT"
    PROB_OUTPUT = "PROB_OUTPUT"

    HELP = (
        "<p>Masks clouds and cloud shadows in an optical image (Sentinel-2 first) with an ONNX "
        "cloud model, exactly as the <code>cloudmask mask</code> command does.</p>"
        "<p><b>Input raster</b>: bands are matched to the model's bands by their descriptions "
        "(B02, blue, ...); how their values become reflectance is the advanced <b>Scaling</b> "
        "below. <b>Band mapping</b>: leave empty to match by description, or give raster band "
        "numbers in the model's band order, e.g. <code>1,2,3,4,5,6</code> for blue, green, "
        "red, nir, swir16, swir22.</p>"
        "<p><b>Model</b>: a model name (default ukis-6b-l1c); <b>Model file</b>, when given, "
        "is an .onnx file used instead. {models}</p>"
        "<p><b>Buffer</b>: pixels around clouds and shadows also marked invalid in the valid "
        "mask. <b>Tiling</b>: exact (default) or ukis-csmask's. <b>Device</b> and "
        "<b>Threads</b> (0 = all cores) go to ONNX Runtime.</p>"
        + reading.help_text("mask", resolution=True) +
        "<p><b>Class map</b>: 0 nodata, 1 clear, 2 cloud, 3 thin cloud, 4 cloud shadow (with "
        "colours and category names). <b>Valid mask</b> (optional): 1 usable, 0 cloud, shadow, "
        "their buffer or nodata; loads as a translucent red overlay.</p>"
        "<p>Cancel stops within a tile and leaves no output file.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_input()
        self.add_model()
        self.addParameter(QgsProcessingParameterString(
            self.BANDS, "Band mapping (raster band numbers in the model's order; empty = by name)",
            defaultValue="", optional=True))
        self.add_buffer()
        self.add_tiling()
        self.add_device_threads()
        reading.add_parameters(self, resolution=True)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Class map"))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.VALID_OUTPUT, "Valid mask", optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.PROB_OUTPUT, "Class probabilities (one band per model class)", optional=True,
            createByDefault=False))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        lib, source, model = self.library_input_model(parameters, context)
        bands = self.parameterAsString(parameters, self.BANDS, context).strip()
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        valid = self.parameterAsOutputLayer(parameters, self.VALID_OUTPUT, context) or None
        probs = self.parameterAsOutputLayer(parameters, self.PROB_OUTPUT, context) or None
        try:
            numbers = [int(b) for b in bands.replace(" ", "").split(",") if b] or None
        except ValueError:
            raise QgsProcessingException(f"band mapping {bands!r}: give band numbers such as 1,2,3")
        model_options = self.model_options(lib, parameters, context)
        mask_options = self.mask_options(lib, parameters, context)
        input_options = reading.input_options(self, lib, parameters, context)
        if feedback.isCanceled():
            raise QgsProcessingException("Canceled by user")
        make_parent_dirs(out, valid, probs)
        feedback.pushInfo(f"cloudmask {lib.version} ({lib.path}), model {model}, "
                          f"ONNX Runtime {runtime.loaded_ort()}")
        with library_errors(feedback), lib.load_model(model, model_options) as m:
            m.mask_to_files(source, out, valid, probs, numbers, mask_options,
                            progress_of(feedback), input_options)

        results = {self.OUTPUT: out}
        self._style(context, out, "classes")
        if valid:
            results[self.VALID_OUTPUT] = valid
            self._style(context, valid, "valid")
        if probs:
            results[self.PROB_OUTPUT] = probs
        return results

    def _style(self, context, path, kind):
        if context.willLoadLayerOnCompletion(path):
            details = context.layerToLoadOnCompletionDetails(path)
            details.setPostProcessor(StylePostProcessor.create(kind))
