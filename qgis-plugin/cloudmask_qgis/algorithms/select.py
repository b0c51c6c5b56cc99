"""cloudmask:select: the most uncertain tiles of a raster for labelling (active learning), through
cm_select_tiles, loaded as a polygon layer."""
import os

from qgis.core import (QgsProcessingContext, QgsProcessingOutputNumber,
                       QgsProcessingOutputVectorLayer, QgsProcessingParameterEnum,
                       QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterString)

from .. import native
from . import reading
from .base import MEASURES, CloudmaskAlgorithm, library_errors, make_parent_dirs, progress_of


class SelectTilesAlgorithm(CloudmaskAlgorithm):
    NAME = "select"
    DISPLAY_NAME = "Select tiles to label (active learning)"
    GROUP_ID, GROUP = "training", "Training data"
    SECOND_MODEL = "SECOND_MODEL"
    MEASURE = "MEASURE"
    COUNT = "COUNT"
    TILE = "TILE"
    STRIDE = "STRIDE"
    MIN_GAP = "MIN_GAP"
    MIN_VALID = "MIN_VALID"
    LIST = "LIST"
    LAYER = "LAYER"
    SELECTED = "SELECTED"

    HELP = (
        "<p>Active learning: ranks the candidate tiles of an unlabelled image by how uncertain "
        "the cloud model is about them and picks the most uncertain ones to label next, spread "
        "apart, exactly as the <code>cloudmask select</code> command does.</p>"
        "<p><b>Measure</b>: entropy or margin of the model's class probabilities, or the "
        "disagreement between the model and a <b>Second model</b>. Each tile's score is the "
        "mean over its valid pixels, from 0 (sure) to 1.</p>"
        "<p><b>Tile size</b> and <b>Stride</b> (0 = the tile size; must divide it) lay out the "
        "candidates. <b>Minimum gap</b> (pixels, -1 = one tile) keeps the chosen tiles apart: "
        "they never overlap. Tiles with less than <b>Minimum valid fraction</b> of data are "
        "skipped.</p>"
        "<p><b>Model</b>: a model name (default ukis-6b-l1c) or an .onnx <b>Model file</b>. "
        "{models}</p>"
        + reading.help_text("select") +
        "<p><b>Selected tiles</b>: a GeoJSON of polygons in the image's CRS with rank, score "
        "and the pixel window (xoff, yoff, width, height) of each tile; <b>Tile list</b> "
        "(optional): the same as CSV, for a labelling tool such as CVAT.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_input()
        self.add_model()
        self.addParameter(QgsProcessingParameterString(
            self.SECOND_MODEL, "Second model (name or .onnx path; disagreement only)",
            defaultValue="", optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.MEASURE, "Measure", options=native.labels(MEASURES), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.COUNT, "Tiles to select", QgsProcessingParameterNumber.Integer,
            defaultValue=native.DEFAULT_SELECT_COUNT, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.TILE, "Tile size (pixels)", QgsProcessingParameterNumber.Integer,
            defaultValue=native.DEFAULT_SELECT_TILE, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.STRIDE, "Stride between candidates (pixels, 0 = the tile size)",
            QgsProcessingParameterNumber.Integer, defaultValue=0, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_GAP, "Minimum gap between selected tiles (pixels, -1 = one tile)",
            QgsProcessingParameterNumber.Integer, defaultValue=-1, minValue=-1))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_VALID, "Minimum valid fraction of a tile",
            QgsProcessingParameterNumber.Double, defaultValue=native.DEFAULT_MIN_VALID,
            minValue=0.0, maxValue=1.0))
        self.add_device_threads()
        reading.add_parameters(self)
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, "Selected tiles", fileFilter="GeoJSON (*.geojson)"))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.LIST, "Tile list (CSV)", fileFilter="CSV files (*.csv)", optional=True,
            createByDefault=False))
        self.addOutput(QgsProcessingOutputVectorLayer(self.LAYER, "Selected tiles layer"))
        self.addOutput(QgsProcessingOutputNumber(self.SELECTED, "Number of tiles selected"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        lib, image, model = self.library_input_model(parameters, context)
        second = self.parameterAsString(parameters, self.SECOND_MODEL, context).strip()
        geojson = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        listing = self.parameterAsFileOutput(parameters, self.LIST, context) or None
        make_parent_dirs(geojson, listing)
        model_options = self.model_options(lib, parameters, context)
        stride = self.parameterAsInt(parameters, self.STRIDE, context)
        options = lib.select_options(
            measure=native.chosen(
                MEASURES, self.parameterAsEnum(parameters, self.MEASURE, context)),
            tile=self.parameterAsInt(parameters, self.TILE, context),
            stride=stride if stride > 0 else -1,
            count=self.parameterAsInt(parameters, self.COUNT, context),
            min_gap=self.parameterAsInt(parameters, self.MIN_GAP, context),
            min_valid=self.parameterAsDouble(parameters, self.MIN_VALID, context),
            input_options=reading.input_options(self, lib, parameters, context))
        feedback.pushInfo(f"cloudmask {lib.version} ({lib.path}), model {model}"
                          + (f", second model {second}" if second else ""))
        with library_errors(feedback), lib.load_model(model, model_options) as first:
            second_model = lib.load_model(second, model_options) if second else None
            try:
                count = lib.select_tiles(first, second_model, [image], options, geojson=geojson,
                                         list_path=listing, progress=progress_of(feedback))
            finally:
                if second_model is not None:
                    second_model.close()
        feedback.pushInfo(f"selected {count} tiles; wrote {geojson}"
                          + (f" and {listing}" if listing else ""))
        name = os.path.splitext(os.path.basename(geojson))[0]
        context.addLayerToLoadOnCompletion(
            geojson, QgsProcessingContext.LayerDetails(name, context.project(), self.LAYER))
        results = {self.OUTPUT: geojson, self.LAYER: geojson, self.SELECTED: count}
        if listing:
            results[self.LIST] = listing
        return results
