"""Fixtures for the cloudmask package's tests: the real Sentinel-2 scene (../shared/data, whose
absence fails the tests), the CLI of the same checkout, rasters written for the tests, and a
dask.distributed cluster of 2 worker processes."""
import os
import subprocess

import numpy as np
import pytest

import cloudmask
from cloudmask import _gdal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "..", "shared", "data")
CLI = os.path.join(ROOT, "target", "release", "cloudmask")
BAND_NAMES = ["B02", "B03", "B04", "B08", "B11", "B12"]
MOSAIC = 2048


def data(*parts):
    path = os.path.join(DATA, *parts)
    assert os.path.exists(path), (
        f"{path} is absent: these tests need the shared test imagery (../shared beside the "
        "checkout)")
    return path


def run_cli(*args):
    assert os.path.isfile(CLI), f"{CLI} is missing: cargo build --release first (make test does)"
    done = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, f"cloudmask {' '.join(map(str, args))}: {done.stderr}"
    return done


def read_band(path, band=1):
    with _gdal.Raster.open(path) as r:
        return r.read()[band - 1]


def mirrored(image, size):
    """A size x size mosaic of a (bands, y, x) image, copies mirrored so they meet seamlessly
    (the CLI benchmark's mosaics are built the same way)."""
    def reflect(n, m):
        i = np.arange(n) % (2 * m)
        return np.where(i < m, i, 2 * m - 1 - i)
    _, h, w = image.shape
    return np.ascontiguousarray(image[:, reflect(size, h)][:, :, reflect(size, w)])


@pytest.fixture(scope="session")
def model():
    return cloudmask.Model("ukis-6b-l1c", threads=2)


@pytest.fixture(scope="session")
def scene():
    """sentinel2.npz's image as (bands, y, x) float32 reflectance."""
    with np.load(data("ukis-s2", "sentinel2.npz")) as npz:
        return np.ascontiguousarray(npz["img"].transpose(2, 0, 1))


@pytest.fixture(scope="session")
def scene_cli(tmp_path_factory):
    """The CLI's class map and valid mask of s2_6band.tif (sentinel2.npz as GeoTIFF)."""
    out = tmp_path_factory.mktemp("scene-cli") / "mask.tif"
    run_cli("mask", data("ukis-s2", "s2_6band.tif"), "-o", out, "--output", "classes,valid",
            "--threads", 2)
    return read_band(str(out)), read_band(str(out).replace(".tif", "_valid.tif"))


@pytest.fixture(scope="session")
def mosaic(scene):
    return mirrored(scene, MOSAIC)


@pytest.fixture(scope="session")
def mosaic_file(mosaic, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("mosaic") / "mosaic.tif")
    _gdal.write_geotiff(path, mosaic, band_names=BAND_NAMES)
    return path


@pytest.fixture(scope="session")
def mosaic_cli(mosaic_file, tmp_path_factory):
    """The CLI's class map and valid mask of the 2048 x 2048 mosaic, and their paths."""
    out = tmp_path_factory.mktemp("mosaic-cli") / "mask.tif"
    run_cli("mask", mosaic_file, "-o", out, "--output", "classes,valid", "--threads", 2)
    valid = str(out).replace(".tif", "_valid.tif")
    return read_band(str(out)), read_band(valid), str(out), valid


@pytest.fixture(scope="session")
def client():
    import distributed
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as c:
            yield c
