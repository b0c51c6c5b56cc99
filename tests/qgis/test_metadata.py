"""metadata.txt says what the plugin is and holds, and every help link opens a page that exists,
in the checkout and inside the zip."""
import configparser
import os
import re
import urllib.parse
import zipfile

from conftest import PLUGIN_SRC, ROOT

ZIP = os.path.join(ROOT, "dist", "cloudmask-qgis.zip")
ALGORITHMS = {"mask": "Mask clouds", "virtualmask": "Add virtual cloud mask",
              "applymask": "Apply mask", "evaluate": "Evaluate masks",
              "select": "Select tiles to label"}


def headings_anchors(path):
    from cloudmask_qgis.docs import anchor
    with open(path, encoding="utf-8") as f:
        return {anchor(line.lstrip("#")) for line in f if line.startswith("#")}


def test_metadata_is_true_and_complete():
    meta = configparser.ConfigParser(interpolation=None)
    meta.read(os.path.join(PLUGIN_SRC, "cloudmask_qgis", "metadata.txt"))
    g = meta["general"]
    for key in ("name", "qgisMinimumVersion", "description", "about", "version", "author",
                "email", "changelog", "homepage", "repository", "tracker", "tags", "icon"):
        assert g.get(key, "").strip(), f"metadata.txt lacks {key}"
    text = open(os.path.join(PLUGIN_SRC, "cloudmask_qgis", "metadata.txt")).read()
    assert "example" not in text and "http" not in text, "placeholder links left"
    with open(os.path.join(ROOT, "Cargo.toml")) as f:
        assert f'version = "{g["version"]}"' in f.read()
    assert "Five algorithms" in g["about"]
    for display in ALGORITHMS.values():
        assert display in g["about"] and display in g["changelog"], display
    assert "Set up ONNX Runtime" in g["about"] and "onnxruntime 1.31.1" in g["about"]
    assert os.path.isfile(os.path.join(PLUGIN_SRC, "cloudmask_qgis", g["icon"]))
    # The links name documentation pages that the zip carries (make qgis-plugin copies them).
    with zipfile.ZipFile(ZIP) as z:
        names = set(z.namelist())
    for key in ("homepage", "repository", "tracker"):
        assert f"cloudmask_qgis/{g[key]}" in names, (key, g[key])
        assert os.path.isfile(os.path.join(ROOT, g[key])), g[key]
    assert "cloudmask_qgis/docs/img/qgis-valid-mask.png" in names


def test_every_algorithm_has_a_help_url_to_its_section(qgis_app):
    seen = {}
    for alg in qgis_app.algorithms():
        url = urllib.parse.urlparse(alg.helpUrl())
        assert url.scheme == "file", (alg.id(), alg.helpUrl())
        assert url.path == os.path.join(ROOT, "docs", "qgis.md"), alg.helpUrl()
        assert url.fragment in headings_anchors(url.path), (alg.id(), url.fragment)
        seen[alg.name()] = url.fragment
    assert set(seen) == set(ALGORITHMS) | {"setup"}, seen
    assert seen["mask"] == "mask-clouds-cloudmaskmask"
    assert re.fullmatch(r"set-up-onnx-runtime-cloudmasksetup", seen["setup"]), seen["setup"]
