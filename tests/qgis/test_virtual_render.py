"""The virtual mask read through QGIS's GDAL provider, and an offscreen render of image + mask."""
import os
import shutil

import numpy as np
import pytest

from conftest import SCENE, mask_params


def block_array(layer, band):
    provider = layer.dataProvider()
    w, h = layer.width(), layer.height()
    block = provider.block(band, layer.extent(), w, h)
    assert block.isValid(), f"block of band {band} invalid (pixel function / driver not registered?)"
    return np.frombuffer(bytes(block.data()), dtype=np.uint8).reshape(h, w)


def virtual_params(output, with_valid=True):
    return {"INPUT": SCENE, "MODEL": "ukis-6b-l1c", "WITH_VALID": with_valid, "BUFFER": 4,
            "DEVICE": 0, "THREADS": 0, "OUTPUT": output}


def test_virtual_mask_block_equals_cli(qgis_app, cli_masks, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer
    vrt = str(tmp_path / "mask.vrt")
    result = processing.run("cloudmask:virtualmask", virtual_params(vrt))
    assert result["OUTPUT"] == vrt and os.path.isfile(vrt)
    layer = QgsRasterLayer(vrt, "virtual mask", "gdal")
    assert layer.isValid() and layer.bandCount() == 2
    assert (layer.width(), layer.height()) == (512, 512)
    # Pixels, not validity: an unregistered driver would still give a valid layer.
    assert np.array_equal(block_array(layer, 1), cli_masks[0])
    assert np.array_equal(block_array(layer, 2), cli_masks[1])


def test_virtual_mask_default_path_next_to_image(qgis_app, cli_masks, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer
    image = str(tmp_path / "scene.tif")
    shutil.copy(SCENE, image)
    params = virtual_params(None, with_valid=False)
    params["INPUT"] = image
    result = processing.run("cloudmask:virtualmask", params)
    expected = str(tmp_path / "scene_cloudmask.vrt")
    assert result["OUTPUT"] == expected and os.path.isfile(expected)
    layer = QgsRasterLayer(expected, "m", "gdal")
    assert layer.bandCount() == 1
    assert np.array_equal(block_array(layer, 1), cli_masks[0])


def render(layers, extent, size, crs):
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor
    settings = QgsMapSettings()
    settings.setLayers(layers)  # top layer first
    settings.setDestinationCrs(crs)
    settings.setExtent(extent)
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    assert not job.errors(), [e.message for e in job.errors()]
    return job.renderedImage()


def pick(mask, want, radius=6):
    """A pixel (x, y) whose whole (2r+1)^2 neighbourhood has value `want` in `mask`."""
    h, w = mask.shape
    for y in range(radius, h - radius, 7):
        for x in range(radius, w - radius, 7):
            if (mask[y - radius:y + radius + 1, x - radius:x + radius + 1] == want).all():
                return x, y
    pytest.fail(f"no {2 * radius + 1}-pixel square of value {want} in the mask")


def rgb(image, x, y):
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def test_render_image_with_mask_png(qgis_app, cli_masks, tmp_path, out_dir):
    import processing
    from qgis.core import (QgsContrastEnhancement, QgsMultiBandColorRenderer, QgsRasterLayer,
                           QgsRasterMinMaxOrigin)
    from cloudmask_qgis.styles import apply_style
    valid_path = str(tmp_path / "valid.tif")
    processing.run("cloudmask:mask", mask_params(str(tmp_path / "classes.tif"),
                                                 VALID_OUTPUT=valid_path))
    image = QgsRasterLayer(SCENE, "Sentinel-2", "gdal")
    renderer = QgsMultiBandColorRenderer(image.dataProvider(), 3, 2, 1)
    image.setRenderer(renderer)
    image.setContrastEnhancement(QgsContrastEnhancement.StretchToMinimumMaximum,
                                 QgsRasterMinMaxOrigin.CumulativeCut)  # 2-98 %
    mask = QgsRasterLayer(valid_path, "valid mask", "gdal")
    assert image.isValid() and mask.isValid()
    apply_style(mask, "valid")
    size = (image.width(), image.height())
    plain = render([image], image.extent(), size, image.crs())
    over = render([mask, image], image.extent(), size, image.crs())
    png = os.path.join(out_dir, "image_with_valid_mask.png")
    assert over.save(png) and os.path.getsize(png) > 1000
    plain.save(os.path.join(out_dir, "image.png"))

    valid = cli_masks[1]
    cloud_xy = pick(np.where(cli_masks[0] == 2, 0, 1), 0)  # inside a cloud (invalid)
    clear_xy = pick(valid, 1)  # well inside usable pixels
    r, g, b = rgb(over, *cloud_xy)
    assert rgb(over, *cloud_xy) != rgb(plain, *cloud_xy)
    assert r > g + 40 and r > b + 40, (cloud_xy, (r, g, b), rgb(plain, *cloud_xy))
    assert rgb(over, *clear_xy) == rgb(plain, *clear_xy), clear_xy  # overlay transparent there
    assert len({rgb(over, x, y) for x in range(0, 512, 32) for y in range(0, 512, 32)}) > 20
