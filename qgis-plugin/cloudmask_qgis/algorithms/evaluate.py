"""cloudmask:evaluate: predicted masks (and a model run on the fly) against a reference mask,
through cm_evaluate: what `cloudmask eval` writes, as a Processing algorithm."""
import math
import os
import re

from qgis.core import (QgsProcessingException, QgsProcessingOutputFile,
                       QgsProcessingOutputNumber, QgsProcessingParameterFolderDestination,
                       QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString,
                       QgsProcessing)

from . import reading
from .base import CloudmaskAlgorithm, library_errors, progress_of


class EvaluateAlgorithm(CloudmaskAlgorithm):
    NAME = "evaluate"
    DISPLAY_NAME = "Evaluate masks"
    REFERENCE = "REFERENCE"
    REFERENCE_SCHEME = "REFERENCE_SCHEME"
    PREDICTIONS = "PREDICTIONS"
    PREDICTION_SCHEME = "PREDICTION_SCHEME"
    IMAGE = "IMAGE"
    BETA = "BETA"
    OUTPUT_FOLDER = "OUTPUT_FOLDER"
    REPORT = "REPORT"
    JSON = "JSON"
    FIGURE = "FIGURE"
    KAPPA = "KAPPA"

    HELP = (
        "<p>Compares predicted cloud masks with a reference mask, exactly as the "
        "<code>cloudmask eval</code> command does, and writes a report folder: "
        "<code>evaluation.md</code>, <code>evaluation.json</code>, <code>evaluation.csv</code>, "
        "<code>evaluation_patches.csv</code> and the figure <code>evaluation.png</code> "
        "(confusion matrices and per-patch balanced accuracy).</p>"
        "<p><b>Reference mask</b> and <b>Predicted masks</b> (band 1, the same grid): each is "
        "read through a <b>class scheme</b>: <code>cloudmask</code> (0 nodata, 1 clear, 2 cloud, "
        "3 thin cloud, 4 shadow), <code>ukis</code>, <code>scl</code> (Sen2Cor), "
        "<code>fmask</code>, <code>cloudsen12</code>, <code>binary</code>, a mapping such as "
        "<code>0=shadow,1-3=clear,4=cloud</code>, or a .json file. A code the scheme does not "
        "name is an error.</p>"
        "<p><b>Model</b> (optional): also masks the <b>Image</b> with this model on the fly and "
        "scores it beside the predicted masks. {models}</p>"
        + reading.help_text("eval") +
        "<p>Reported: overall accuracy, Cohen's kappa, per-class IoU, F1 and F-beta "
        "(<b>Beta</b>, 2 by default), and the CloudSEN12 protocol (cloud, shadow and valid "
        "problems: PA, UA, BOA, omission and commission errors; NaN where there are no "
        "positives). <b>Kappa</b> is the first predictor's.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.REFERENCE, "Reference mask"))
        self.addParameter(QgsProcessingParameterString(
            self.REFERENCE_SCHEME, "Class scheme of the reference", defaultValue="cloudmask"))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.PREDICTIONS, "Predicted masks", QgsProcessing.TypeRaster, optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.PREDICTION_SCHEME, "Class scheme of the predicted masks",
            defaultValue="cloudmask"))
        self.addParameter(QgsProcessingParameterString(
            self.MODEL, "Model to run on the image (optional)", defaultValue="", optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.IMAGE, "Image (for the model)", optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.BETA, "Beta of the F-beta score", QgsProcessingParameterNumber.Double,
            defaultValue=2.0, minValue=0.001))
        self.add_device_threads("Device (for the model)")
        reading.add_parameters(self)
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT_FOLDER, "Report folder"))
        self.addOutput(QgsProcessingOutputFile(self.REPORT, "Report (Markdown)"))
        self.addOutput(QgsProcessingOutputFile(self.JSON, "Report (JSON)"))
        self.addOutput(QgsProcessingOutputFile(self.FIGURE, "Figure (PNG)"))
        self.addOutput(QgsProcessingOutputNumber(self.KAPPA, "Kappa of the first predictor"))

    def _predictors(self, parameters, context):
        """(name, source, scheme) for every predicted mask, then the model."""
        scheme = self.parameterAsString(parameters, self.PREDICTION_SCHEME, context).strip()
        out, names = [], set()

        def unique(name):
            # The library refuses commas, tabs, quotes and '|' in names; keep them readable.
            base = re.sub(r"[,\t\"|\n]", "_", name).strip() or "prediction"
            name, k = base, 2
            while name in names:
                name, k = f"{base}_{k}", k + 1
            names.add(name)
            return name

        for layer in self.parameterAsLayerList(parameters, self.PREDICTIONS, context) or []:
            out.append((unique(layer.name()), layer.source(), scheme or None))
        model = self.parameterAsString(parameters, self.MODEL, context).strip()
        if model:
            out.append((unique(model), "model:" + model, None))
        if not out:
            raise QgsProcessingException("give at least one predicted mask or a model to run")
        return out

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        lib = self.library()
        reference = self.parameterAsRasterLayer(parameters, self.REFERENCE, context)
        if reference is None:
            raise QgsProcessingException("the reference mask could not be opened")
        image = self.parameterAsRasterLayer(parameters, self.IMAGE, context)
        predictors = self._predictors(parameters, context)
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        os.makedirs(folder, exist_ok=True)
        model_options = self.model_options(lib, parameters, context)

        feedback.pushInfo(f"cloudmask {lib.version} ({lib.path}): "
                          + ", ".join(f"{n} = {s}" for n, s, _ in predictors))
        with library_errors(feedback):
            summaries = lib.evaluate(
                reference.source(), predictors, folder,
                reference_scheme=self.parameterAsString(
                    parameters, self.REFERENCE_SCHEME, context).strip() or None,
                images=image.source() if image is not None else None,
                beta=self.parameterAsDouble(parameters, self.BETA, context),
                model_options=model_options, progress=progress_of(feedback),
                input_options=reading.input_options(self, lib, parameters, context))

        def shown(v):
            return "NaN" if math.isnan(v) else f"{v:.4f}"

        for (name, _, _), s in zip(predictors, summaries):
            feedback.pushInfo(
                f"{name}: {s.pixels} pixels, OA {shown(s.overall_accuracy)}, kappa "
                f"{shown(s.kappa)}, median BOA cloud {shown(s.median_boa_cloud)} / shadow "
                f"{shown(s.median_boa_shadow)} / valid {shown(s.median_boa_valid)}")
        return {
            self.OUTPUT_FOLDER: folder,
            self.REPORT: os.path.join(folder, "evaluation.md"),
            self.JSON: os.path.join(folder, "evaluation.json"),
            self.FIGURE: os.path.join(folder, "evaluation.png"),
            self.KAPPA: summaries[0].kappa,
        }
