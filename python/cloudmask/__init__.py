"""cloudmask: cloud and cloud-shadow masks for optical satellite imagery, from Python.

A thin layer over the C API of libcloudmask.so (carried inside this package), with ONNX Runtime
taken from this environment's onnxruntime wheel::

    import cloudmask
    model = cloudmask.Model("ukis-6b-l1c", threads=2)
    result = model.mask(array)            # (bands, y, x) reflectance
    result.classes, result.valid          # (y, x) uint8

``cloudmask.xarray`` masks DataArrays (lazily, chunk by chunk, when Dask-backed) and
``cloudmask.dask`` spreads scenes or one large raster over a dask.distributed cluster.
docs/python.md in the repository has the whole story.
"""
from ._library import CloudmaskError, library
from .model import Chunk, MaskResult, Model, models, shared_model

__version__ = "0.1.0"

#: cm_class codes of class maps, by name.
CLASSES = {"nodata": 0, "clear": 1, "cloud": 2, "thin cloud": 3, "cloud shadow": 4}


def library_version() -> str:
    """The version of the libcloudmask.so this package loads (equal to ``__version__``)."""
    return library().version


__all__ = ["CLASSES", "Chunk", "CloudmaskError", "MaskResult", "Model", "library_version",
           "models", "shared_model"]
