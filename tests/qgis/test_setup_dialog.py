"""The question QGIS asks at start when ONNX Runtime or the models are missing: asked once, the
answer Yes opens cloudmask:setup in its Processing dialog, No is remembered (QMessageBox and the
dialog are replaced by recorders: the tests run headless)."""
import sys
import types

import pytest


class FakeIface:
    def mainWindow(self):  # noqa: N802
        return None


@pytest.fixture
def plugin(qgis_app, monkeypatch):
    from qgis.core import QgsSettings
    from qgis.PyQt.QtWidgets import QMessageBox

    from cloudmask_qgis import plugin as plugin_module
    from cloudmask_qgis import runtime, setup
    QgsSettings().remove(plugin_module.DECLINED_KEY)
    asked, opened = [], []
    answer = {"value": QMessageBox.No}

    def question(parent, title, text, buttons, default):
        asked.append(text)
        return answer["value"]

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setitem(sys.modules, "processing", types.SimpleNamespace(
        execAlgorithmDialog=lambda alg_id, params: opened.append(alg_id)))
    missing = {"value": [setup.ORT_REQUIREMENT]}
    monkeypatch.setattr(runtime, "missing_requirements", lambda: missing["value"])
    yield plugin_module.CloudmaskPlugin(FakeIface()), asked, opened, answer, missing
    QgsSettings().remove(plugin_module.DECLINED_KEY)


def test_nothing_is_asked_when_everything_is_found(plugin):
    p, asked, opened, _, missing = plugin
    missing["value"] = []
    p.offer_setup()
    assert asked == [] and opened == []


def test_yes_opens_the_set_up_algorithm(plugin):
    from qgis.PyQt.QtWidgets import QMessageBox
    p, asked, opened, answer, _ = plugin
    answer["value"] = QMessageBox.Yes
    p.offer_setup()
    assert len(asked) == 1 and "onnxruntime==1.31.1 (about 24 MB)" in asked[0], asked
    assert "cloudmask_runtime" in asked[0] and "Debian package" in asked[0]
    assert opened == ["cloudmask:setup"]


def test_no_is_remembered(plugin):
    p, asked, opened, _, missing = plugin
    missing["value"] = ["onnxruntime==1.31.1", "ukis-csmask==1.0.0"]
    p.offer_setup()
    assert len(asked) == 1 and "(about 169 MB)" in asked[0], asked
    p.offer_setup()
    assert len(asked) == 1 and opened == []
