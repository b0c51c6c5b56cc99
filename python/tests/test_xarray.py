"""cloudmask.xarray and the lazy file mask: a Dask-backed DataArray of the 2048 x 2048 mosaic in
ragged 300 x 700 chunks, masked through map_overlap, equals the eager whole-array mask (and the
CLI) pixel for pixel; the lazy file mask in chunks of 512 equals the CLI's output."""
import numpy as np
import pytest
import xarray as xr

import cloudmask.dask
import cloudmask.xarray
from conftest import BAND_NAMES, MOSAIC


@pytest.fixture(scope="module")
def mosaic_da(mosaic):
    return xr.DataArray(
        mosaic, dims=("band", "y", "x"),
        coords={"band": BAND_NAMES, "y": 5000.0 - 30.0 * np.arange(MOSAIC),
                "x": 300000.0 + 30.0 * np.arange(MOSAIC), "time": np.datetime64("2020-06-01")},
        attrs={"platform": "sentinel-2a", "units": "reflectance"})


def test_dask_chunks_through_map_overlap_equal_the_eager_mask(model, mosaic_da, mosaic_cli):
    eager = cloudmask.xarray.mask(mosaic_da, model)
    # The eager mask of the array is the CLI's of the same pixels as a file.
    assert np.array_equal(eager.classes.values, mosaic_cli[0])
    assert np.array_equal(eager.valid.values, mosaic_cli[1])
    # One ONNX Runtime thread per Dask thread: 2 of each on 2 cores.
    single = cloudmask.shared_model("ukis-6b-l1c", threads=1)
    lazy = cloudmask.xarray.mask(mosaic_da.chunk({"band": 3, "y": 300, "x": 700}), single)
    assert lazy.classes.chunks is not None, "a Dask-backed array stays lazy"
    # Ragged, not tile-aligned chunks (the last ones smaller than the depth are merged).
    assert lazy.classes.chunks[0][:3] == (300, 300, 300)
    assert lazy.classes.chunks[1][:2] == (700, 700)
    computed = lazy.compute(scheduler="threads", num_workers=2)
    assert np.array_equal(computed.classes.values, eager.classes.values)
    assert np.array_equal(computed.valid.values, eager.valid.values)
    # Coordinates and attributes are kept; the band dimension is gone.
    assert computed.classes.dims == ("y", "x")
    assert np.array_equal(computed.x.values, mosaic_da.x.values)
    assert np.array_equal(computed.y.values, mosaic_da.y.values)
    assert computed.time.values == mosaic_da.time.values
    assert computed.attrs == mosaic_da.attrs
    assert computed.classes.attrs["flag_meanings"].split()[:3] == ["nodata", "clear", "cloud"]
    counts = np.bincount(computed.classes.values.ravel(), minlength=5)
    assert counts[1] > 0 and counts[2] > 0 and counts[4] > 0


def test_extra_dimensions_bands_by_label_and_probabilities(model, scene):
    part = np.ascontiguousarray(scene[:, :300, :280])
    cube = xr.DataArray(np.stack([part, part[:, ::-1]]), dims=("time", "band", "y", "x"),
                        coords={"band": BAND_NAMES})
    shuffled = cube.isel(band=[3, 0, 5, 1, 4, 2])
    eager = cloudmask.xarray.mask(shuffled, model, bands=BAND_NAMES, probabilities=True)
    assert eager.classes.dims == ("time", "y", "x")
    assert eager.probabilities.dims == ("time", "class", "y", "x")
    assert list(eager["class"].values) == model.classes
    direct = model.mask(part, probabilities=True)
    assert np.array_equal(eager.classes.values[0], direct.classes)
    assert np.array_equal(eager.probabilities.values[0], direct.probabilities)
    assert np.array_equal(eager.classes.values[1], model.mask(np.ascontiguousarray(part[:, ::-1])).classes)
    lazy = cloudmask.xarray.mask(shuffled.chunk({"time": 1, "y": 150, "x": 280}), model,
                                 bands=BAND_NAMES, probabilities=True)
    got = lazy.compute(scheduler="threads")
    assert got.classes.dtype == np.uint8
    assert np.array_equal(got.classes.values, eager.classes.values)
    assert np.array_equal(got.probabilities.values, eager.probabilities.values)
    with pytest.raises(ValueError, match="no dimension 'bands'"):
        cloudmask.xarray.mask(cube, model, band_dim="bands")


def test_lazy_file_mask_in_chunks_of_512_equals_the_cli(mosaic_file, mosaic_cli):
    classes = cloudmask.dask.mask_file(mosaic_file, chunks=512, threads=1)
    assert classes.chunks == ((512,) * 4, (512,) * 4)
    got = classes.compute(scheduler="threads", num_workers=2)
    assert np.array_equal(got, mosaic_cli[0])
    # The valid mask of one inner chunk (each chunk is masked alone).
    valid = cloudmask.dask.mask_file(mosaic_file, chunks=512, product="valid", threads=1)
    part = valid[512:1024, 1024:1536].compute(scheduler="threads")
    assert np.array_equal(part, mosaic_cli[1][512:1024, 1024:1536])
    with pytest.raises(ValueError, match="product 'probabilities' is not"):
        cloudmask.dask.mask_file(mosaic_file, product="probabilities")
