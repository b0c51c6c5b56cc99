"""cloudmask.dask on a dask.distributed LocalCluster of 2 worker processes: mask_scenes over 12
scenes equals a CLI batch of the same 12 scenes, mask_large on the 2048 x 2048 mosaic equals the
CLI's output, and a worker process killed in the middle of a run changes nothing."""
import functools
import itertools
import os
import re
import sys

import cloudpickle
import numpy as np
import pytest

import cloudmask.dask
from cloudmask import _gdal
from conftest import BAND_NAMES, read_band, run_cli

# The hooks below run in the workers, which cannot import this test module: send them by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

PRODUCTS = ("classes", "valid")


@pytest.fixture(scope="module")
def scenes(mosaic, tmp_path_factory):
    """12 scenes of different sizes and content: crops of the mosaic, some flipped."""
    folder = tmp_path_factory.mktemp("scenes")
    paths = []
    for i in range(12):
        h, w = 190 + 9 * i, 260 - 7 * i
        y, x = (137 * i) % (2048 - h), (251 * i) % (2048 - w)
        crop = mosaic[:, y:y + h, x:x + w]
        if i % 3 == 1:
            crop = crop[:, ::-1]
        path = str(folder / f"scene_{i:02d}.tif")
        _gdal.write_geotiff(path, np.ascontiguousarray(crop), band_names=BAND_NAMES)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def scenes_cli(scenes, tmp_path_factory):
    """The CLI's outputs of the scenes, one `cloudmask mask` run per scene (12 runs, as a user
    without Dask would make them)."""
    out = tmp_path_factory.mktemp("scenes-cli")
    for scene in scenes:
        run_cli("mask", scene, "--output-dir", out, "--output", ",".join(PRODUCTS),
                "--threads", 2)
    return str(out)


def same_pixels(outputs, cli_dir):
    for path in outputs:
        want = os.path.join(cli_dir, os.path.basename(path))
        assert np.array_equal(read_band(path), read_band(want)), path


def test_mask_scenes_equals_the_cli_and_skips_what_exists(client, scenes, scenes_cli, tmp_path):
    out = str(tmp_path / "masks")
    summary = cloudmask.dask.mask_scenes(scenes, out, client=client, products=PRODUCTS)
    assert [s["input"] for s in summary] == scenes
    assert [s["status"] for s in summary] == ["ok"] * 12, summary
    assert len({s["worker"] for s in summary}) == 2, "both workers should have masked scenes"
    assert all(s["seconds"] > 0 for s in summary)
    outputs = [p for s in summary for p in s["outputs"]]
    assert len(outputs) == 24 and all(os.path.isfile(p) for p in outputs)
    assert os.path.basename(summary[3]["outputs"][1]) == "scene_03_mask_valid.tif"
    same_pixels(outputs, scenes_cli)
    # Nothing but the outputs (and GDAL's .aux.xml sidecars) in the folder: no temporary file.
    left = sorted(p for p in os.listdir(out) if not p.endswith(".aux.xml"))
    assert left == sorted(os.path.basename(p) for p in outputs)
    # A second run skips every scene; a deleted output is made again.
    os.remove(summary[5]["outputs"][0])
    again = cloudmask.dask.mask_scenes(scenes, out, client=client, products=PRODUCTS)
    assert [s["status"] for s in again] == ["skipped"] * 5 + ["ok"] + ["skipped"] * 6
    same_pixels(again[5]["outputs"], scenes_cli)
    # A bad scene fails alone, with the library's message.
    bad = str(tmp_path / "not_a_raster.tif")
    with open(bad, "w") as f:
        f.write("not a raster")
    mixed = cloudmask.dask.mask_scenes([bad, scenes[0]], str(tmp_path / "mixed"),
                                       client=client)
    assert [s["status"] for s in mixed] == ["failed", "ok"]
    assert "not_a_raster.tif" in mixed[0]["error"]
    with pytest.raises(ValueError, match="must be some of"):
        cloudmask.dask.mask_scenes(scenes, out, client=client, products=("clouds",))


def test_mask_large_equals_the_cli_output(client, mosaic_file, mosaic_cli, tmp_path):
    out, valid = str(tmp_path / "large.tif"), str(tmp_path / "large_valid.tif")
    summary = cloudmask.dask.mask_large(mosaic_file, out, client=client, valid=valid,
                                        window=1024)
    assert summary["windows"] == 4 and summary["outputs"] == [out, valid]
    assert np.array_equal(read_band(out), mosaic_cli[0])
    assert np.array_equal(read_band(valid), mosaic_cli[1])
    assert sorted(os.listdir(tmp_path)) == ["large.tif", "large.tif.aux.xml", "large_valid.tif",
                                            "large_valid.tif.aux.xml"]
    # Styled as the CLI's: the same colour table and category names (gdalinfo shows both).
    import subprocess
    ours = subprocess.run(["gdalinfo", out], capture_output=True, text=True).stdout
    theirs = subprocess.run(["gdalinfo", mosaic_cli[2]], capture_output=True, text=True).stdout
    for info in (ours, theirs):
        assert "Block=256x256" in info and "NoData Value=0" in info
    def style(info):
        lines = info[info.index("Categories:"):].splitlines()[1:]
        kept = [line.strip() for line in itertools.takewhile(
            lambda line: re.match(r"^\s+(\d+: |Color Table)", line), lines)]
        assert len(kept) == 5 + 1 + 256, kept[:8]
        return kept
    assert style(ours) == style(theirs)


def die_once(marker, target, where):
    """Exits this worker process the first time it reaches ``target``."""
    if where == target and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os._exit(1)


def test_a_worker_killed_mid_run_loses_nothing(client, scenes, scenes_cli, mosaic_file,
                                               mosaic_cli, tmp_path):
    marker = str(tmp_path / "killed-scenes")
    out = str(tmp_path / "masks")
    hook = functools.partial(die_once, marker, scenes[6])
    summary = cloudmask.dask.mask_scenes(scenes, out, client=client, products=PRODUCTS,
                                         before=hook)
    assert os.path.isfile(marker), "the worker was not killed"
    # Scenes whose results were held by the dead worker are run again and find their outputs
    # written: "skipped". The scene it died on is run again from the start.
    assert {s["status"] for s in summary} <= {"ok", "skipped"}, summary
    assert summary[6]["status"] == "ok"
    killed = int(open(marker).read())
    assert summary[6]["worker"] != killed, "scene 6 was finished by another process"
    same_pixels([p for s in summary for p in s["outputs"]], scenes_cli)
    # The same for the windows of one large raster.
    marker = str(tmp_path / "killed-large")
    large = str(tmp_path / "large.tif")
    cloudmask.dask.mask_large(mosaic_file, large, client=client, window=1024,
                              before=functools.partial(die_once, marker, (1024, 0)))
    assert os.path.isfile(marker), "the worker was not killed"
    assert np.array_equal(read_band(large), mosaic_cli[0])
