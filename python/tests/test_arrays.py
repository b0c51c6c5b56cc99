"""The array API: Model.mask on numpy arrays of any dtype against the CLI, bad arrays refused
with clear exceptions, one Model shared by threads with the GIL released, files and windows."""
import os
import threading
import time

import numpy as np
import pytest

import cloudmask
from conftest import data, read_band, run_cli

# Class counts of ukis-csmask 1.0.0 itself on sentinel2.npz (../shared/data/README.md).
UKIS_COUNTS = {1: 160416, 2: 63643, 4: 38085}


def test_package_library_models_and_card(model):
    assert cloudmask.library_version() == cloudmask.__version__
    assert "ukis-6b-l1c" in cloudmask.models()
    assert model.bands == ["blue", "green", "red", "nir", "swir16", "swir22"]
    assert model.class_codes == [1, 2, 4]
    card = model.card()
    assert len(card["bands"]) == 6 and len(card["classes"]) == 3
    assert len(card["mean"]) == 6 and card["output"] in ("softmax", "logits", "probabilities")
    assert (card["tile_size"], card["halo"]) == (256, 259)
    assert model.context(buffer=10, tile=512) == 521
    import cloudmask._library as lib
    ort = lib.onnxruntime_path()
    assert ort is not None and "site-packages/onnxruntime/capi/libonnxruntime.so" in ort
    assert lib.library_path().endswith("cloudmask/lib/libcloudmask.so")


def test_npz_array_equals_the_cli_class_map(model, scene, scene_cli):
    classes, valid = scene_cli
    r = model.mask(scene, probabilities=True)
    assert r.classes.shape == (512, 512) and r.classes.dtype == np.uint8
    assert np.array_equal(r.classes, classes.astype(np.uint8))
    assert np.array_equal(r.valid, valid.astype(np.uint8))
    counts = np.bincount(r.classes.ravel(), minlength=5)
    assert {k: int(counts[k]) for k in UKIS_COUNTS} == UKIS_COUNTS
    assert r.probabilities.shape == (3, 512, 512)
    assert np.allclose(r.probabilities.sum(axis=0), 1.0, atol=1e-4)
    # The same pixels through the file and a window of it.
    f = model.mask_file(data("ukis-s2", "s2_6band.tif"))
    assert np.array_equal(f.classes, r.classes) and np.array_equal(f.valid, r.valid)
    w = model.mask_file(data("ukis-s2", "s2_6band.tif"), window=(100, 37, 211, 300))
    assert np.array_equal(w.classes, r.classes[37:337, 100:311])
    assert np.array_equal(w.valid, r.valid[37:337, 100:311])


def test_any_dtype_with_its_scaling(model, scene):
    scene = np.ascontiguousarray(scene[:, 100:300, 150:350])
    want = model.mask(scene)
    dn = np.round(scene * 10000).astype(np.uint16)
    as_float = (dn.astype(np.float64) / 10000).astype(np.float32)
    from_float = model.mask(as_float)
    # Digital numbers scaled in the package equal the same reflectance given as floats.
    for array, kw in [(dn, {"scaling": "dn"}), (dn.astype(np.int32), {"scaling": "dn"}),
                      (dn, {"scaling": (1e-4, 0.0)}),
                      ((dn.astype(np.int32) - 1000).astype(np.int16),
                       {"scaling": "dn", "dn_offset": 1000})]:
        got = model.mask(array, **kw)
        assert np.array_equal(got.classes, from_float.classes), (array.dtype, kw)
    # float64 reflectance is the float32 reflectance it rounds to.
    assert np.array_equal(model.mask(scene.astype(np.float64)).classes, want.classes)
    # Band order: a shuffled array with bands= picking the model's order.
    shuffled = scene[[5, 4, 3, 2, 1, 0]]
    assert np.array_equal(model.mask(shuffled, bands=[5, 4, 3, 2, 1, 0]).classes, want.classes)
    with pytest.raises(ValueError, match="scaling='dn'"):
        model.mask(dn)


def test_bad_arrays_raise_clear_exceptions(model, scene):
    with pytest.raises(ValueError, match="gives 4 bands but model ukis-6b-l1c needs 6"):
        model.mask(scene[:4])
    with pytest.raises(ValueError, match=r"expected a \(bands, y, x\) array, got 2 dimensions"):
        model.mask(scene[0])
    with pytest.raises(ValueError, match="is empty"):
        model.mask(scene[:, :0])
    with pytest.raises(TypeError, match="complex"):
        model.mask(scene.astype(np.complex64))
    with pytest.raises(ValueError, match="must be indices 0..5"):
        model.mask(scene, bands=[0, 1, 2, 3, 4, 6])
    with pytest.raises(ValueError, match="quantification"):
        model.mask(scene, scaling="dn", quantification=0)
    holes = scene[:, :64, :64].copy()
    holes[2, 10, 20] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite values: pass nodata=numpy.nan"):
        model.mask(holes)
    # NaN as nodata marks those pixels nodata (class 0) and invalid.
    r = model.mask(holes, nodata=np.nan)
    assert r.classes[10, 20] == 0 and r.valid[10, 20] == 0
    assert np.count_nonzero(r.classes == 0) == 1
    # A raw nodata value in any band.
    dn = np.round(np.nan_to_num(holes) * 10000).astype(np.uint16)
    dn[0, 5, 5] = 0
    dn[2, 10, 20] = 0
    r = model.mask(dn, scaling="dn", nodata=0)
    assert r.classes[5, 5] == 0 and r.classes[10, 20] == 0 and np.count_nonzero(r.classes == 0) == 2
    # Non-contiguous views (a crop, a transposed cube, a strided slice) are refused, saying how
    # to pass them; their contiguous copies mask.
    for view in (scene[:, :128, :96], scene[:, :128, :96].transpose(0, 2, 1),
                 scene[:, ::2, ::3]):
        assert not view.flags.c_contiguous
        with pytest.raises(ValueError, match=r"not C-contiguous.*numpy.ascontiguousarray"):
            model.mask(view)
        assert model.mask(np.ascontiguousarray(view)).classes.shape == view.shape[1:]
    # Errors of the library carry its status and message.
    with pytest.raises(cloudmask.CloudmaskError, match="tile size 100 must be a positive") as e:
        model.mask(np.ascontiguousarray(scene[:, :64, :64]), tile=100)
    assert e.value.status == 1  # CM_ERROR_INVALID_ARGUMENT
    chunk = cloudmask.Chunk(1000, 1000, x=100, halo_left=10)
    with pytest.raises(cloudmask.CloudmaskError, match="halo_left is 10 pixels but exact") as e:
        model.mask(np.ascontiguousarray(scene[:, :64, :64]), chunk=chunk)
    assert e.value.status == 6  # CM_ERROR_WINDOW
    with pytest.raises(ValueError, match="Chunk.halo_top is -1"):
        cloudmask.Chunk(1000, 1000, halo_top=-1)
    with pytest.raises(ValueError, match="device 'tpu' is not one of cpu, cuda"):
        cloudmask.Model("ukis-6b-l1c", device="tpu")
    with pytest.raises(ValueError, match="precision 'fp8' is not one of f32, bf16, auto"):
        cloudmask.Model("ukis-6b-l1c", precision="fp8")
    # bf16 is OpenVINO's: the CPU provider computes in f32 (docs/engine.md).
    with pytest.raises(cloudmask.CloudmaskError, match="precision bf16 runs only with device openvino") as e:
        cloudmask.Model("ukis-6b-l1c", device="cpu", precision="bf16")
    assert e.value.status == 1  # CM_ERROR_INVALID_ARGUMENT
    with pytest.raises(cloudmask.CloudmaskError, match="no-such-model") as e:
        cloudmask.Model("no-such-model")
    assert e.value.status == 4  # CM_ERROR_MODEL
    with pytest.raises(cloudmask.CloudmaskError, match="could not be opened"):
        model.mask_file("/nonexistent/scene.tif")
    with pytest.raises(cloudmask.CloudmaskError, match="outside the raster") as e:
        model.mask_file(data("ukis-s2", "s2_6band.tif"), window=(500, 0, 20, 20))
    assert e.value.status == 6


def test_one_model_in_several_threads_releases_the_gil(model, scene):
    part = np.ascontiguousarray(scene[:, :200, :200])
    want = model.mask(part).classes
    results = [None] * 4

    def work(i):
        results[i] = model.mask(part).classes

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    # While the library computes, this thread keeps running Python: the GIL is released.
    spins = 0
    while any(t.is_alive() for t in threads):
        spins += 1
    for t in threads:
        t.join()
    assert all(np.array_equal(r, want) for r in results)
    assert spins > 10000, f"the main thread ran only {spins} loops while 4 threads masked"

    # One long call: the counter advances during it.
    counter = {"n": 0, "during": 0}
    done = threading.Event()

    def long_call():
        counter["before"] = counter["n"]
        model.mask(np.ascontiguousarray(scene[:, :300, :300]))
        counter["during"] = counter["n"] - counter["before"]
        done.set()

    t = threading.Thread(target=long_call)
    t.start()
    deadline = time.monotonic() + 120
    while not done.is_set() and time.monotonic() < deadline:
        counter["n"] += 1
    t.join()
    assert counter["during"] > 10000, counter


def test_mask_to_files_writes_what_the_cli_writes(model, scene_cli, tmp_path):
    out = str(tmp_path / "classes.tif")
    valid = str(tmp_path / "valid.tif")
    model.mask_to_files(data("ukis-s2", "s2_6band.tif"), classes=out, valid=valid)
    assert np.array_equal(read_band(out), scene_cli[0])
    assert np.array_equal(read_band(valid), scene_cli[1])
    # Nothing else is left in the folder: no temporary file.
    left = sorted(p for p in os.listdir(tmp_path) if not p.endswith(".aux.xml"))
    assert left == ["classes.tif", "valid.tif"]
