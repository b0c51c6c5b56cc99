"""cloudmask:select through processing.run in a real, headless QGIS: the polygon layer it loads
lies over the raster, agrees with the command line (also on digital numbers read with Scaling),
and bad input gives the library's message."""
import csv
import os
import shutil
import subprocess

import pytest

from conftest import CLI, SCENE, SHARED_SCENE, digital_numbers, scaling_index


def select_params(output, **extra):
    """Every parameter explicit (QGIS 3.22 does not apply some defaults)."""
    params = {"INPUT": SCENE, "MODEL": "ukis-6b-l1c", "MODEL_FILE": "", "SECOND_MODEL": "",
              "MEASURE": 0, "COUNT": 4, "TILE": 128, "STRIDE": 64, "MIN_GAP": -1,
              "MIN_VALID": 0.5, "DEVICE": 0, "THREADS": 0, "OUTPUT": output}
    params.update(extra)
    return params


def windows(path):
    """(xoff, yoff, width, height, score) rows of a tile list, best first."""
    with open(path, newline="") as f:
        return [(int(r["xoff"]), int(r["yoff"]), int(r["width"]), int(r["height"]),
                 float(r["score"])) for r in csv.DictReader(f)]


def test_select_loads_a_polygon_layer_that_agrees_with_the_cli(qgis_app, tmp_path):
    import processing
    from qgis.core import (QgsProcessingContext, QgsProcessingFeedback, QgsProject,
                           QgsRasterLayer, QgsVectorLayer, QgsWkbTypes)
    out, listing = str(tmp_path / "tiles.geojson"), str(tmp_path / "tiles.csv")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    progress = []
    fb = QgsProcessingFeedback()
    fb.progressChanged.connect(progress.append)
    result = processing.run("cloudmask:select", select_params(out, LIST=listing),
                            context=context, feedback=fb)
    assert result["OUTPUT"] == out and result["LAYER"] == out and result["LIST"] == listing
    assert result["SELECTED"] == 4
    assert out in context.layersToLoadOnCompletion()
    assert progress and max(progress) == pytest.approx(100.0)

    layer = QgsVectorLayer(out, "tiles", "ogr")
    assert layer.isValid()
    assert layer.featureCount() == 4
    assert QgsWkbTypes.geometryType(layer.wkbType()) == QgsWkbTypes.PolygonGeometry
    names = layer.fields().names()
    for field in ("rank", "scene", "xoff", "yoff", "width", "height", "score"):
        assert field in names, names
    # The polygons lie over the raster as QGIS draws it, each exactly its pixel window.
    raster = QgsRasterLayer(SCENE, "scene")
    extent = raster.extent()
    for f in layer.getFeatures():
        box = f.geometry().boundingBox()
        assert extent.contains(box), (box.toString(), extent.toString())
        assert box.width() == f["width"] == 128 and box.height() == f["height"] == 128
        assert box.xMinimum() == f["xoff"] and box.yMaximum() == -f["yoff"]

    # The command line picks the same windows with the same scores.
    cli_list = str(tmp_path / "cli.csv")
    subprocess.run([CLI, "select", SCENE, "--tile", "128", "--stride", "64", "-k", "4",
                    "--list", cli_list, "-q"], check=True, timeout=300)
    assert windows(listing) == windows(cli_list)
    scores = [w[4] for w in windows(listing)]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]


def test_digital_numbers_need_the_scaling_and_then_select_what_the_cli_selects(qgis_app,
                                                                             tmp_path):
    import processing
    from cloudmask_qgis import native
    from qgis.core import QgsProcessingException, QgsProcessingFeedback
    dn, _ = digital_numbers(tmp_path)
    out, listing = str(tmp_path / "tiles.geojson"), str(tmp_path / "tiles.csv")
    # Automatic scaling refuses integers with nothing saying what they mean: the library's
    # message, as a Processing error without a Python traceback, and no file.
    fb = QgsProcessingFeedback()
    with pytest.raises(QgsProcessingException, match="scaling") as refused:
        processing.run("cloudmask:select", select_params(out, INPUT=dn, LIST=listing),
                       feedback=fb)
    assert str(refused.value).startswith("cloudmask: ")
    assert "Traceback" not in str(refused.value) + fb.textLog()
    assert not os.path.exists(out) and not os.path.exists(listing)

    reading = {"SCALING": scaling_index(native.CM_SCALING_DN), "QUANTIFICATION": 10000.0,
               "DN_OFFSET": 0.0, "NODATA": None}
    result = processing.run("cloudmask:select",
                            select_params(out, INPUT=dn, LIST=listing, **reading))
    assert result["SELECTED"] == 4
    cli_list = str(tmp_path / "cli.csv")
    subprocess.run([CLI, "select", dn, "--tile", "128", "--stride", "64", "-k", "4",
                    "--scaling", "dn", "--list", cli_list, "-q"], check=True, timeout=300)
    assert windows(listing) == windows(cli_list)
    assert len(windows(listing)) == 4


def test_disagreement_with_a_second_model(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsVectorLayer
    out = str(tmp_path / "disagree.geojson")
    result = processing.run("cloudmask:select",
                            select_params(out, MEASURE=2, SECOND_MODEL="ukis-4b-l1c", COUNT=3))
    assert result["SELECTED"] == 3
    layer = QgsVectorLayer(out, "d", "ogr")
    assert {f["measure"] for f in layer.getFeatures()} == {"disagreement"}
    assert all(0 < f["score"] <= 1 for f in layer.getFeatures())


def test_bad_input_gives_the_library_message_and_no_file(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingException
    out = str(tmp_path / "x.geojson")
    with pytest.raises(QgsProcessingException, match="give a second model"):
        processing.run("cloudmask:select", select_params(out, MEASURE=2))
    with pytest.raises(QgsProcessingException, match="smaller than the 1024-pixel"):
        processing.run("cloudmask:select", select_params(out, TILE=1024))
    # A raster the model cannot run on: one band for a six-band model (a private copy, since
    # QGIS writes .aux.xml files beside the rasters it opens).
    red = os.path.join(os.path.dirname(SHARED_SCENE), "..", "38-cloud", "red.tif")
    one_band = str(tmp_path / "red.tif")
    shutil.copyfile(red, one_band)
    with pytest.raises(QgsProcessingException, match="the model needs 6"):
        processing.run("cloudmask:select", select_params(out, INPUT=one_band))
    assert not os.path.exists(out)


def test_cancel_leaves_no_file(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback
    fb = QgsProcessingFeedback()
    fb.progressChanged.connect(lambda p: fb.cancel() if p >= 30 else None)
    out = str(tmp_path / "c.geojson")
    with pytest.raises(QgsProcessingException, match="Canceled"):
        processing.run("cloudmask:select", select_params(out, LIST=str(tmp_path / "c.csv")),
                       feedback=fb)
    assert sorted(os.listdir(tmp_path)) == []
