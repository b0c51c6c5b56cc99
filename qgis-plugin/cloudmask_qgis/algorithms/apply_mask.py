"""cloudmask:applymask: pixels where a valid mask is 0 become nodata."""
import math
import os

from osgeo import gdal
from qgis.core import (QgsProcessingException, QgsProcessingParameterNumber,
                       QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer)

from .base import CloudmaskAlgorithm

CHUNK_ROWS = 256


class ApplyMaskAlgorithm(CloudmaskAlgorithm):
    NAME = "applymask"
    DISPLAY_NAME = "Apply mask"
    NATIVE = False
    MASK = "MASK"
    NODATA = "NODATA"

    HELP = (
        "<p>Sets every pixel of the image where the valid mask is 0 (cloud, shadow, their "
        "buffer, nodata) to nodata, in every band, and writes a new GeoTIFF of the same type.</p>"
        "<p><b>Valid mask</b>: band 1 of a raster of the same size, such as the valid mask of "
        "<b>Mask clouds</b> or band 2 of a virtual mask with the valid band (1 usable, 0 not).</p>"
        "<p><b>Nodata value</b>: used when the image has none; otherwise the image's own is "
        "kept. Without either, float images get NaN and integer images 0.</p>"
        "<p>Does not need the native library.</p>")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "Image"))
        self.addParameter(QgsProcessingParameterRasterLayer(self.MASK, "Valid mask (band 1)"))
        self.addParameter(QgsProcessingParameterNumber(
            self.NODATA, "Nodata value (when the image has none)",
            QgsProcessingParameterNumber.Double, optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Masked image"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        image = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        mask = self.parameterAsRasterLayer(parameters, self.MASK, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        src = gdal.Open(image.source())
        msk = gdal.Open(mask.source())
        if src is None or msk is None:
            raise QgsProcessingException("the image or the mask could not be opened by GDAL: " +
                                         gdal.GetLastErrorMsg())
        if (src.RasterXSize, src.RasterYSize) != (msk.RasterXSize, msk.RasterYSize):
            raise QgsProcessingException(
                f"the mask is {msk.RasterXSize} x {msk.RasterYSize} pixels, the image "
                f"{src.RasterXSize} x {src.RasterYSize}: they must be the same grid")
        first = src.GetRasterBand(1)
        nodata = first.GetNoDataValue()
        if nodata is None and parameters.get(self.NODATA) not in (None, ""):
            nodata = self.parameterAsDouble(parameters, self.NODATA, context)
        is_float = first.DataType in (gdal.GDT_Float32, gdal.GDT_Float64)
        if nodata is None:
            nodata = math.nan if is_float else 0
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        tmp = os.path.join(os.path.dirname(os.path.abspath(out)),
                           "." + os.path.basename(out) + ".part")
        dst = gdal.GetDriverByName("GTiff").Create(
            tmp, src.RasterXSize, src.RasterYSize, src.RasterCount, first.DataType,
            ["COMPRESS=DEFLATE", "TILED=YES"])
        try:
            dst.SetGeoTransform(src.GetGeoTransform())
            dst.SetProjection(src.GetProjection())
            for b in range(1, src.RasterCount + 1):
                band = dst.GetRasterBand(b)
                band.SetNoDataValue(nodata)
                band.SetDescription(src.GetRasterBand(b).GetDescription())
            rows = src.RasterYSize
            for y in range(0, rows, CHUNK_ROWS):
                if feedback.isCanceled():
                    raise QgsProcessingException("Canceled by user")
                h = min(CHUNK_ROWS, rows - y)
                invalid = msk.GetRasterBand(1).ReadAsArray(0, y, src.RasterXSize, h) == 0
                for b in range(1, src.RasterCount + 1):
                    data = src.GetRasterBand(b).ReadAsArray(0, y, src.RasterXSize, h)
                    data[invalid] = nodata
                    dst.GetRasterBand(b).WriteArray(data, 0, y)
                feedback.setProgress(100.0 * (y + h) / rows)
            dst.FlushCache()
            dst = None
            os.replace(tmp, out)
        finally:
            dst = None
            if os.path.exists(tmp):
                os.remove(tmp)
        return {self.OUTPUT: out}
