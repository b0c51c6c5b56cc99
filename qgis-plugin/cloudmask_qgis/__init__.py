"""QGIS plugin entry point: the cloudmask Processing provider."""


def classFactory(iface):  # noqa: N802 (QGIS API name)
    from .plugin import CloudmaskPlugin
    return CloudmaskPlugin(iface)
