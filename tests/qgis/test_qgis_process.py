"""The plugin in the real qgis_process CLI: from a throwaway profile, and installed from the zip."""
import json
import os
import subprocess
import zipfile

import numpy as np
import pytest

from conftest import QGIS_PROCESS, ROOT, SCENE, qgis_env, read_band

ZIP = os.path.join(ROOT, "dist", "cloudmask-qgis.zip")


@pytest.fixture(scope="module")
def qgis_process(requirements):
    if not os.access(QGIS_PROCESS, os.X_OK):
        pytest.fail(f"{QGIS_PROCESS} missing: apt-get install --no-install-recommends qgis", pytrace=False)
    return QGIS_PROCESS


def run(qgis_process, profile, *args, timeout=300):
    # /usr/bin/qgis_process (the Debian wrapper) is broken in bookworm: call the binary.
    return subprocess.run([qgis_process, *args], env=qgis_env(profile), capture_output=True,
                          text=True, timeout=timeout)


def enable(qgis_process, profile_root):
    r = run(qgis_process, profile_root, "plugins", "enable", "cloudmask_qgis")
    assert r.returncode == 0, r.stdout + r.stderr


def run_mask_json(qgis_process, profile_root, out):
    r = run(qgis_process, profile_root, "--json", "run", "cloudmask:mask", "--",
            f"INPUT={SCENE}", "MODEL=ukis-6b-l1c", "BUFFER=4", "TILING=0", "DEVICE=0",
            "THREADS=0", f"OUTPUT={out}")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return json.loads(r.stdout[r.stdout.index("{"):])


def test_qgis_process_run_json(qgis_process, cli_masks, tmp_path):
    profile_root = tmp_path / "profile"
    plugins = profile_root / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    (profile_root / "profiles" / "default" / "QGIS").mkdir()
    os.symlink(os.path.join(ROOT, "qgis-plugin", "cloudmask_qgis"), plugins / "cloudmask_qgis")
    enable(qgis_process, profile_root)
    out = str(tmp_path / "classes.tif")
    doc = run_mask_json(qgis_process, profile_root, out)
    assert doc["algorithm_details"]["id"] == "cloudmask:mask"
    assert doc["results"]["OUTPUT"] == out
    assert doc["inputs"]["MODEL"] == "ukis-6b-l1c"
    assert "cloudmask 0.1.0" in " ".join(doc["log"]["info"])
    assert np.array_equal(read_band(out), cli_masks[0])


def test_zip_installs_into_fresh_profile(qgis_process, cli_masks, tmp_path):
    if not os.path.isfile(ZIP):
        pytest.fail(f"{ZIP} missing: make qgis-plugin (make test-qgis builds it first)", pytrace=False)
    profile_root = tmp_path / "fresh"
    plugins = profile_root / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    (profile_root / "profiles" / "default" / "QGIS").mkdir()
    with zipfile.ZipFile(ZIP) as z:  # what Install from ZIP does
        names = z.namelist()
        assert "cloudmask_qgis/metadata.txt" in names and "cloudmask_qgis/lib/libcloudmask.so" in names
        z.extractall(plugins)
    enable(qgis_process, profile_root)
    r = run(qgis_process, profile_root, "list")
    assert r.returncode == 0, r.stderr
    for alg in ("cloudmask:mask", "cloudmask:virtualmask", "cloudmask:applymask"):
        assert alg in r.stdout, r.stdout[-3000:]
    # The bundled library (not the checkout's) does the work.
    out = str(tmp_path / "classes.tif")
    doc = run_mask_json(qgis_process, profile_root, out)
    bundled = os.path.join(str(plugins), "cloudmask_qgis", "lib", "libcloudmask.so")
    assert bundled in " ".join(doc["log"]["info"])
    assert np.array_equal(read_band(out), cli_masks[0])


def test_missing_library_gives_one_clear_message(qgis_process, tmp_path):
    profile_root = tmp_path / "profile"
    plugins = profile_root / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    (profile_root / "profiles" / "default" / "QGIS").mkdir()
    os.symlink(os.path.join(ROOT, "qgis-plugin", "cloudmask_qgis"), plugins / "cloudmask_qgis")
    enable(qgis_process, profile_root)
    env = qgis_env(profile_root)
    env["CLOUDMASK_LIBRARY"] = str(tmp_path / "nowhere" / "libcloudmask.so")
    r = subprocess.run([qgis_process, "help", "cloudmask:mask"], env=env, capture_output=True,
                       text=True, timeout=120)
    text = r.stdout + r.stderr
    assert "Not available" in text and "nowhere/libcloudmask.so" in text, text[-3000:]
    assert "Traceback" not in text
    r = subprocess.run([qgis_process, "run", "cloudmask:mask", "--", f"INPUT={SCENE}",
                        "MODEL=ukis-6b-l1c", "BUFFER=4", "TILING=0", "DEVICE=0", "THREADS=0",
                        f"OUTPUT={tmp_path / 'x.tif'}"], env=env, capture_output=True, text=True,
                       timeout=120)
    text = r.stdout + r.stderr
    assert r.returncode != 0 and "nowhere/libcloudmask.so" in text, text[-3000:]
    assert "Traceback" not in text
    assert not (tmp_path / "x.tif").exists()
