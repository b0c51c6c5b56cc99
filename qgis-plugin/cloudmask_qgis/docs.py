"""The project's documentation the plugin links to: bundled in the plugin zip as docs/ (make
qgis-plugin copies docs/qgis.md and the pages it links), or the checkout's docs/ when the plugin
folder is qgis-plugin/cloudmask_qgis of a source tree."""
import os
import re

from .native import PLUGIN_DIR, REPO_DIR


def docs_file(name):
    """The absolute path of docs/<name>, or None when neither copy exists."""
    for root in (os.path.join(PLUGIN_DIR, "docs"), os.path.join(REPO_DIR, "docs")):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            return path
    return None


def anchor(heading):
    """The fragment a Markdown renderer (GitHub's rules) gives a heading: lower case, spaces to
    hyphens, punctuation other than '-' and '_' dropped."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def algorithm_help_url(algorithm_id):
    """file:// URL of docs/qgis.md at the section whose heading names `algorithm_id`
    (e.g. cloudmask:mask); the page alone when no heading does; "" without the docs."""
    path = docs_file("qgis.md")
    if path is None:
        return ""
    fragment = ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("## ") and f"`{algorithm_id}`" in line:
                fragment = "#" + anchor(line[3:])
                break
    return "file://" + path + fragment
