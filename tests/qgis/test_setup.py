"""First use from the plugin zip in a fresh profile with no ONNX Runtime reachable: masking
refuses with the way out, the set-up installs the pinned wheels from a local folder (no
network) into the profile, and masking then works with what it installed."""
import json
import os
import subprocess
import zipfile

import numpy as np
import pytest

from conftest import QGIS_PROCESS, ROOT, SCENE, read_band

ZIP = os.path.join(ROOT, "dist", "cloudmask-qgis.zip")
WHEELS = os.environ.get("CLOUDMASK_TEST_WHEELS", os.path.join(ROOT, "out", "wheels"))
DEBIAN_RUNTIME = "/usr/lib/x86_64-linux-gnu/cloudmask"
MASK_ARGS = ["MODEL=ukis-6b-l1c", "BUFFER=4", "TILING=0", "DEVICE=0", "THREADS=0"]


@pytest.fixture(scope="module")
def fresh(requirements, tmp_path_factory):
    """A profile holding only the zip's plugin, and a qgis_process environment in which nothing
    points at an ONNX Runtime: no variable, the project's venvs off PATH, an empty HOME."""
    for what, ok, fix in (
            (ZIP, os.path.isfile(ZIP), "make qgis-plugin"),
            (WHEELS, any(n.startswith("onnxruntime-1.31.1-") for n in os.listdir(WHEELS))
             if os.path.isdir(WHEELS) else False, "make qgis-wheels"),
            (QGIS_PROCESS, os.access(QGIS_PROCESS, os.X_OK), "apt-get install qgis")):
        if not ok:
            pytest.fail(f"{what} missing: {fix}", pytrace=False)
    if os.path.isdir(DEBIAN_RUNTIME):
        pytest.fail(f"{DEBIAN_RUNTIME} exists (the cloudmask Debian package is installed): this "
                    "test needs a machine without ONNX Runtime; dpkg --purge cloudmask", pytrace=False)
    root = tmp_path_factory.mktemp("first-use")
    profile = root / "qgis" / "profiles" / "default"
    (profile / "python" / "plugins").mkdir(parents=True)
    (profile / "QGIS").mkdir()
    with zipfile.ZipFile(ZIP) as z:
        z.extractall(profile / "python" / "plugins")
    (root / "home").mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLOUDMASK_", "ORT_", "GDAL_", "PYTHON"))
           and k not in ("VIRTUAL_ENV", "LD_LIBRARY_PATH")}
    env.update(HOME=str(root / "home"), PATH="/usr/bin:/bin",
               QGIS_CUSTOM_CONFIG_PATH=str(root / "qgis"))
    r = subprocess.run([QGIS_PROCESS, "plugins", "enable", "cloudmask_qgis"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return root, profile, env


def qgis(env, *args, timeout=300):
    return subprocess.run([QGIS_PROCESS, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def as_json(r):
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(r.stdout[r.stdout.index("{"):])


def test_set_up_from_local_wheels_then_mask(fresh, cli_masks):
    root, profile, env = fresh
    runtime_dir = profile / "python" / "cloudmask_runtime"

    # 1. Nothing reachable: masking refuses, naming the set-up; no output is left.
    out = root / "before.tif"
    r = qgis(env, "run", "cloudmask:mask", "--", f"INPUT={SCENE}", *MASK_ARGS, f"OUTPUT={out}")
    text = r.stdout + r.stderr
    assert r.returncode != 0 and "ONNX Runtime was not found" in text, text[-3000:]
    assert "cloudmask:setup" in text and "Traceback" not in text, text[-3000:]
    assert not out.exists()

    # 2. A folder without the wheels: pip fails, the profile is left as it was.
    (root / "empty").mkdir()
    r = qgis(env, "run", "cloudmask:setup", "--", f"WHEELS={root / 'empty'}")
    text = r.stdout + r.stderr
    assert r.returncode != 0 and "nothing was changed" in text, text[-3000:]
    assert not runtime_dir.exists() and not (profile / "python" / "cloudmask_runtime.partial").exists()

    # 3. The set-up from the local wheels: ONNX Runtime and the models land in the profile.
    doc = as_json(qgis(env, "--json", "run", "cloudmask:setup", "--", f"WHEELS={WHEELS}"))
    want = runtime_dir / "onnxruntime" / "capi" / "libonnxruntime.so.1.31.1"
    assert os.path.realpath(doc["results"]["RUNTIME"]) == os.path.realpath(want)
    log = " ".join(doc["log"]["info"])
    assert "onnxruntime==1.31.1, ukis-csmask==1.0.0" in log, log
    assert "ukis-4b-l1c, ukis-4b-l2a, ukis-6b-l1c, ukis-6b-l2a" in log, log
    assert sorted(p.name for p in (runtime_dir / "ukis_csmask").glob("*.onnx")) == [
        "model_4b_l1c.onnx", "model_4b_l2a.onnx", "model_6b_l1c.onnx", "model_6b_l2a.onnx"]

    # 4. From then on (a new process): the profile's runtime and models mask the sample, pixel
    # for pixel what the CLI writes; a second set-up has nothing to install.
    out = root / "after.tif"
    doc = as_json(qgis(env, "--json", "run", "cloudmask:mask", "--", f"INPUT={SCENE}",
                       *MASK_ARGS, f"OUTPUT={out}"))
    log = " ".join(doc["log"]["info"])
    assert f"ONNX Runtime {os.path.realpath(want)}" in log, log
    assert "model ukis-6b-l1c" in log, log
    assert np.array_equal(read_band(str(out)), cli_masks[0])
    doc = as_json(qgis(env, "--json", "run", "cloudmask:setup", "--", f"WHEELS={root / 'empty'}"))
    assert "to install: nothing (all found)" in " ".join(doc["log"]["info"])
