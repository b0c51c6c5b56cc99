"""cloudmask:evaluate through processing.run in a real, headless QGIS: the upstream kappa on the
sample tile, a model run on the fly beside a file (also on digital numbers read with Scaling),
and the library's messages for bad input."""
import json
import math
import os
import shutil

import numpy as np
import pytest

from conftest import ROOT, SCENE, digital_numbers, scaling_index

SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "ukis-s2"))
LABELS_SCHEME = "0=shadow,1-3=clear,4=cloud"


@pytest.fixture(scope="module")
def tile(tmp_path_factory):
    """Private copies of labels.tif and the ukis-csmask 6b L1C output (QGIS writes .aux.xml
    files beside the rasters it loads; ../shared/data stays untouched)."""
    if not os.path.isfile(os.path.join(SHARED, "labels.tif")):
        pytest.fail(f"{SHARED} is missing: check out ../shared beside the project", pytrace=False)
    d = tmp_path_factory.mktemp("tile")
    for name in ("labels.tif", "reference/ukis_6b_l1c.tif"):
        shutil.copyfile(os.path.join(SHARED, name), d / os.path.basename(name))
    return str(d / "labels.tif"), str(d / "ukis_6b_l1c.tif")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def params(reference, out, **extra):
    """Every parameter explicit (QGIS 3.22 does not apply some defaults)."""
    p = {"REFERENCE": reference, "REFERENCE_SCHEME": LABELS_SCHEME, "PREDICTIONS": [],
         "PREDICTION_SCHEME": "ukis", "MODEL": "", "IMAGE": None, "BETA": 2.0, "DEVICE": 0,
         "THREADS": 0, "OUTPUT_FOLDER": out}
    p.update(extra)
    return p


def test_evaluate_reproduces_the_upstream_kappa(qgis_app, tile, tmp_path):
    import processing
    from qgis.core import QgsProcessingFeedback
    labels, ukis = tile
    out = str(tmp_path / "report")
    progress = []
    fb = QgsProcessingFeedback()
    fb.progressChanged.connect(progress.append)
    result = processing.run("cloudmask:evaluate", params(labels, out, PREDICTIONS=[ukis]),
                            feedback=fb)
    assert abs(result["KAPPA"] - 0.8095) <= 0.0005, result
    assert result["OUTPUT_FOLDER"] == out
    for key in ("REPORT", "JSON", "FIGURE"):
        assert os.path.isfile(result[key]), key
    report = json.loads(read(result["JSON"]))
    (p,) = report["predictors"]
    assert p["name"] == "ukis_6b_l1c" and p["pixels"] == 512 * 512
    assert p["scheme"].startswith("ukis")
    assert "| Cohen's kappa | 0.8095 |" in read(result["REPORT"])
    assert progress and max(progress) == pytest.approx(100.0)


def test_a_model_on_the_fly_beside_a_file(qgis_app, tile, tmp_path):
    import processing
    labels, ukis = tile
    out = str(tmp_path / "report")
    result = processing.run("cloudmask:evaluate", params(
        labels, out, PREDICTIONS=[ukis], MODEL="ukis-6b-l1c", IMAGE=SCENE, THREADS=2))
    report = json.loads(read(result["JSON"]))
    file_p, model_p = report["predictors"]
    assert model_p["name"] == "ukis-6b-l1c" and model_p["source"] == "model:ukis-6b-l1c"
    # The engine reproduces ukis-csmask pixel for pixel: the same matrix, the same kappa.
    assert np.array_equal(np.array(model_p["confusion"]), np.array(file_p["confusion"]))
    assert math.isclose(model_p["kappa"], file_p["kappa"])


def test_a_model_on_digital_numbers_reads_them_as_scaling_says(qgis_app, tile, tmp_path):
    import processing
    from cloudmask_qgis import native
    from qgis.core import QgsProcessingException, QgsProcessingFeedback
    labels, _ = tile
    dn, scaled = digital_numbers(tmp_path)
    model = {"MODEL": "ukis-6b-l1c", "THREADS": 2}
    # Automatic scaling refuses integers with nothing saying what they mean: the library's
    # message, as a Processing error without a Python traceback, and no report.
    fb = QgsProcessingFeedback()
    with pytest.raises(QgsProcessingException, match="scaling") as refused:
        processing.run("cloudmask:evaluate",
                       params(labels, str(tmp_path / "refused"), IMAGE=dn, **model), feedback=fb)
    assert str(refused.value).startswith("cloudmask: ")
    assert "Traceback" not in str(refused.value) + fb.textLog()
    assert not os.path.exists(str(tmp_path / "refused" / "evaluation.json"))

    reading = {"SCALING": scaling_index(native.CM_SCALING_DN), "QUANTIFICATION": 10000.0,
               "DN_OFFSET": 0.0, "NODATA": None}
    given = processing.run("cloudmask:evaluate", params(
        labels, str(tmp_path / "given"), IMAGE=dn, **model, **reading))
    same = processing.run("cloudmask:evaluate", params(
        labels, str(tmp_path / "scaled"), IMAGE=scaled, **model))
    (a,), (b,) = (json.loads(read(r["JSON"]))["predictors"] for r in (given, same))
    assert a["pixels"] == b["pixels"] == 512 * 512
    assert np.array_equal(np.array(a["confusion"]), np.array(b["confusion"]))
    assert given["KAPPA"] == same["KAPPA"] and given["KAPPA"] > 0.5


def test_bad_input_is_the_library_message(qgis_app, tile, tmp_path):
    import processing
    from osgeo import gdal
    from qgis.core import QgsProcessingException
    labels, ukis = tile
    small = str(tmp_path / "small.tif")
    ds = gdal.GetDriverByName("GTiff").Create(small, 100, 50, 1, gdal.GDT_Byte)
    ds = None
    with pytest.raises(QgsProcessingException, match="is 100 x 50 pixels but reference"):
        processing.run("cloudmask:evaluate",
                       params(labels, str(tmp_path / "a"), PREDICTIONS=[small]))
    with pytest.raises(QgsProcessingException, match="holds codes 3, 4"):
        processing.run("cloudmask:evaluate", params(
            labels, str(tmp_path / "b"), REFERENCE_SCHEME="ukis", PREDICTIONS=[ukis]))
    with pytest.raises(QgsProcessingException, match="at least one predicted mask or a model"):
        processing.run("cloudmask:evaluate", params(labels, str(tmp_path / "c")))
    assert not os.path.exists(str(tmp_path / "a" / "evaluation.json"))
