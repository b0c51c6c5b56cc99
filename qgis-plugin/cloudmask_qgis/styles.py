"""Layer styles: the class map as categories, the valid mask as a translucent overlay."""
from qgis.core import (QgsPalettedRasterRenderer, QgsProcessingLayerPostProcessorInterface,
                       QgsRasterLayer)
from qgis.PyQt.QtGui import QColor

from .native import CLASSES, VALID_CLASSES


def classes_renderer(layer, band=1):
    """Categories 0 nodata (transparent), 1 clear, 2 cloud, 3 thin cloud, 4 cloud shadow."""
    classes = [QgsPalettedRasterRenderer.Class(value, QColor(*rgba), name)
               for value, name, rgba in CLASSES]
    return QgsPalettedRasterRenderer(layer.dataProvider(), band, classes)


def valid_renderer(layer, band=1):
    """0 (invalid) translucent red, 1 (valid) transparent."""
    classes = [QgsPalettedRasterRenderer.Class(value, QColor(*rgba), name)
               for value, name, rgba in VALID_CLASSES]
    return QgsPalettedRasterRenderer(layer.dataProvider(), band, classes)


def apply_style(layer, kind, band=1):
    if not isinstance(layer, QgsRasterLayer) or not layer.isValid():
        return
    renderer = classes_renderer(layer, band) if kind == "classes" else valid_renderer(layer, band)
    layer.setRenderer(renderer)
    layer.triggerRepaint()


class StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Styles a Processing output layer once QGIS has loaded it."""

    _keep = []  # QGIS does not own Python post-processors: keep them alive

    def __init__(self, kind):
        super().__init__()
        self.kind = kind

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802
        apply_style(layer, self.kind)

    @classmethod
    def create(cls, kind):
        processor = cls(kind)
        cls._keep.append(processor)
        return processor
