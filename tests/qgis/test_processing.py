"""cloudmask:mask and cloudmask:applymask through processing.run in a real, headless QGIS."""
import math
import os

import numpy as np
import pytest

from conftest import SCENE, mask_params, read_band


def test_provider_lists_algorithms(qgis_app):
    from qgis.core import QgsApplication
    ids = sorted(a.id() for a in qgis_app.algorithms())
    assert ids == ["cloudmask:applymask", "cloudmask:evaluate", "cloudmask:mask",
                   "cloudmask:select", "cloudmask:setup", "cloudmask:virtualmask"]
    alg = QgsApplication.processingRegistry().createAlgorithmById("cloudmask:mask")
    assert alg is not None
    assert "Not available" not in alg.shortHelpString()
    assert "ukis-6b-l1c" in alg.shortHelpString()


def test_mask_equals_cli(qgis_app, cli_masks, tmp_path):
    import processing
    from qgis.core import QgsProcessingFeedback
    progress = []
    fb = QgsProcessingFeedback()
    fb.progressChanged.connect(progress.append)
    out, valid = str(tmp_path / "classes.tif"), str(tmp_path / "valid.tif")
    result = processing.run("cloudmask:mask", mask_params(out, VALID_OUTPUT=valid), feedback=fb)
    assert result["OUTPUT"] == out and result["VALID_OUTPUT"] == valid
    classes, valid_cli = cli_masks
    got = read_band(out)
    assert got.shape == classes.shape
    assert np.array_equal(got, classes), f"{(got == classes).mean():.6%} equal"
    assert np.array_equal(read_band(valid), valid_cli)
    assert set(np.unique(got)) >= {1, 2}  # clear and cloud both present: not a trivial map
    assert progress and max(progress) == pytest.approx(100.0)
    left = sorted(f for f in os.listdir(tmp_path) if not f.endswith(".aux.xml"))
    assert left == ["classes.tif", "valid.tif"]  # no hidden temporaries left behind


def test_band_mapping_equals_by_name(qgis_app, cli_masks, tmp_path):
    import processing
    out = str(tmp_path / "mapped.tif")
    processing.run("cloudmask:mask", mask_params(out, BANDS="1,2,3,4,5,6"))
    assert np.array_equal(read_band(out), cli_masks[0])


def test_input_options_equal_cli_flags(qgis_app, tmp_path):
    """The advanced reading parameters go through cm_input_options as the CLI's flags do."""
    import subprocess

    import processing
    from conftest import CLI
    nodata = float(read_band(SCENE)[0, 0])
    cli = str(tmp_path / "cli.tif")
    subprocess.run([CLI, "mask", SCENE, "-o", cli, "-q", "--scaling", "dn", "--quantification",
                    "1.25", "--dn-offset", "0.05", "--nodata", repr(nodata)],
                   check=True, timeout=300)
    out = str(tmp_path / "qgis.tif")
    processing.run("cloudmask:mask", mask_params(out, SCALING=2, QUANTIFICATION=1.25,
                                                 DN_OFFSET=0.05, NODATA=nodata, RESOLUTION=0))
    got, want = read_band(out), read_band(cli)
    assert np.array_equal(got, want), f"{(got == want).mean():.6%} equal"
    assert (got == 0).any()  # the nodata value took effect


def test_probabilities_output(qgis_app, cli_masks, tmp_path):
    import processing
    from osgeo import gdal
    out, probs = str(tmp_path / "c.tif"), str(tmp_path / "p.tif")
    result = processing.run("cloudmask:mask", mask_params(out, PROB_OUTPUT=probs))
    assert result["PROB_OUTPUT"] == probs
    ds = gdal.Open(probs)
    assert ds.RasterCount == 3
    p = np.stack([ds.GetRasterBand(i + 1).ReadAsArray() for i in range(3)])
    assert np.all((p >= 0) & (p <= 1))
    assert np.allclose(p.sum(axis=0), 1, atol=1e-5)
    # The class map's classes (1 clear, 2 cloud, 4 shadow) are the most probable model classes
    # (up to float rounding in exact near-ties).
    assert (np.array([1, 2, 4])[p.argmax(axis=0)] == cli_masks[0]).mean() > 0.9999


def test_wrong_band_count_is_the_library_message(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingException
    with pytest.raises(QgsProcessingException, match="3 band numbers given but the model needs 6"):
        processing.run("cloudmask:mask", mask_params(str(tmp_path / "x.tif"), BANDS="1,2,3"))
    assert os.listdir(tmp_path) == []


def test_cancel_leaves_no_output(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback
    fb = QgsProcessingFeedback()
    seen = []

    def on_progress(p):
        seen.append(p)
        if p >= 40:
            fb.cancel()

    fb.progressChanged.connect(on_progress)
    out = str(tmp_path / "cancelled.tif")
    with pytest.raises(QgsProcessingException):
        processing.run("cloudmask:mask", mask_params(out, VALID_OUTPUT=str(tmp_path / "v.tif")),
                       feedback=fb)
    assert fb.isCanceled()
    assert max(seen) >= 40 and max(seen) < 100, seen
    assert os.listdir(tmp_path) == [], os.listdir(tmp_path)


def test_library_error_becomes_processing_exception(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsProcessingException
    out = str(tmp_path / "x.tif")
    with pytest.raises(QgsProcessingException) as excinfo:
        processing.run("cloudmask:mask", mask_params(out, MODEL="no-such-model"))
    text = str(excinfo.value)
    assert text.startswith("cloudmask: ") and "no-such-model" in text, text
    assert not os.path.exists(out)


def test_apply_mask(qgis_app, cli_masks, tmp_path):
    import processing
    from osgeo import gdal
    out = str(tmp_path / "applied.tif")
    mask = str(tmp_path / "valid.tif")
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(mask, 512, 512, 1, gdal.GDT_Byte)
    ds.GetRasterBand(1).WriteArray(cli_masks[1])
    ds = None
    processing.run("cloudmask:applymask", {"INPUT": SCENE, "MASK": mask, "NODATA": None,
                                           "OUTPUT": out})
    src, dst = gdal.Open(SCENE), gdal.Open(out)
    assert dst.RasterCount == src.RasterCount == 6
    invalid = cli_masks[1] == 0
    assert 0 < invalid.sum() < invalid.size
    for b in (1, 6):
        a = src.GetRasterBand(b).ReadAsArray()
        m = dst.GetRasterBand(b).ReadAsArray()
        assert math.isnan(dst.GetRasterBand(b).GetNoDataValue())
        assert np.isnan(m[invalid]).all()
        assert np.array_equal(m[~invalid], a[~invalid])


def test_device_and_precision_reach_the_library(qgis_app, cli_masks, tmp_path):
    """PRECISION and DEVICE go through cm_model_options: bf16 off OpenVINO is the library's
    refusal on every CPU; OpenVINO in f32 runs (on OpenVINO, or on CPU after the note where this
    process loaded a runtime without it) and records what it was asked for."""
    import processing
    from osgeo import gdal
    from qgis.core import QgsProcessingException
    out = str(tmp_path / "bf16.tif")
    with pytest.raises(QgsProcessingException,
                       match="precision bf16 runs only with device openvino"):
        processing.run("cloudmask:mask", mask_params(out, DEVICE=0, PRECISION=1))
    assert not os.path.exists(out)
    out = str(tmp_path / "openvino.tif")
    processing.run("cloudmask:mask", mask_params(out, DEVICE=2, PRECISION=0))
    meta = gdal.Open(out).GetMetadata()
    assert meta["CLOUDMASK_DEVICE"] == "openvino", meta
    assert meta["CLOUDMASK_PROVIDER"] in ("OpenVINO", "CPU"), meta
    assert meta["CLOUDMASK_PRECISION"] == "f32", meta
    got = read_band(out)
    assert (got == cli_masks[0]).mean() >= 0.999, f"{(got == cli_masks[0]).mean():.6%} equal"
