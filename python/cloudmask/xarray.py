"""Masking xarray DataArrays: eagerly for numpy-backed arrays, lazily chunk by chunk with Dask's
``map_overlap`` for Dask-backed ones. Exact tiling makes a chunk masked alone, with the halo
``Model.context()`` gives, equal to the same pixels of the whole array: the result is the
same at any chunking.

Needs the ``xarray`` extra (and ``dask`` for lazy arrays).
"""
from __future__ import annotations

from typing import Any, Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np
import xarray as xr

from .model import Chunk, Model, shared_model

#: flag values of the ``classes`` variable (cm_class codes).
CLASS_FLAGS = {"nodata": 0, "clear": 1, "cloud": 2, "thin_cloud": 3, "cloud_shadow": 4}


def mask(da: xr.DataArray, model: Optional[Model] = None, band_dim: Hashable = "band",
         bands: Optional[Sequence[Any]] = None, probabilities: bool = False,
         **kwargs: Any) -> xr.Dataset:
    """Masks a DataArray with a band dimension and two spatial dimensions (its last two, e.g.
    y and x); other dimensions (such as time) are masked one slice at a time.

    Returns a Dataset with ``classes`` (cm_class codes) and ``valid`` (1 usable, 0 not), and
    ``probabilities`` (dimension ``class``) when asked, on the input's other dimensions, with
    its coordinates, attributes and CRS (rioxarray's, when present). ``model``: a Model (the
    default model, all cores, when None). ``bands``: labels of ``band_dim`` picking the model's
    bands in its order (None: the array's bands as they are). Other keywords are ``Model.mask``'s
    (scaling, nodata, tiling, buffer, ...). A Dask-backed array stays lazy.
    """
    model = model if model is not None else shared_model("ukis-6b-l1c")
    if band_dim not in da.dims:
        raise ValueError(f"the DataArray has no dimension {band_dim!r} (its dimensions: "
                         f"{', '.join(map(str, da.dims))}): pass band_dim=")
    if bands is not None:
        da = da.sel({band_dim: list(bands)})
    spatial = [d for d in da.dims if d != band_dim][-2:]
    if len(spatial) != 2:
        raise ValueError(f"the DataArray needs two spatial dimensions besides {band_dim!r}, "
                         f"it has {', '.join(map(str, da.dims))}")
    leading = [d for d in da.dims if d != band_dim and d not in spatial]
    da = da.transpose(*leading, band_dim, *spatial)
    planes = 2 + (model.n_classes if probabilities else 0)
    dtype = np.float32 if probabilities else np.uint8
    if _is_dask(da.data):
        data = _lazy(da.data, model, planes, dtype, probabilities, kwargs)
    else:
        data = _eager(np.asarray(da.data), model, planes, dtype, probabilities, kwargs)
    return _dataset(da, data, leading, spatial, band_dim, model, probabilities)


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask")


def _stack(model: Model, block: np.ndarray, chunk: Optional[Chunk], planes: int,
           dtype: Any, probabilities: bool, kwargs: Dict[str, Any]) -> np.ndarray:
    """Masks each (bands, y, x) slice of ``block`` into ``planes`` planes: classes, valid,
    then the probabilities when asked."""
    lead = block.shape[:-3]
    out: Optional[np.ndarray] = None
    for idx in np.ndindex(*lead):
        r = model.mask(np.ascontiguousarray(block[idx]), chunk=chunk,
                       probabilities=probabilities, **kwargs)
        if out is None:
            out = np.empty(lead + (planes,) + r.classes.shape, dtype)
        out[idx + (0,)] = r.classes
        out[idx + (1,)] = r.valid
        if probabilities:
            out[idx + (slice(2, None),)] = r.probabilities
    if out is None:
        raise ValueError(f"the DataArray's other dimensions {lead} hold nothing to mask")
    return out


def _eager(data: np.ndarray, model: Model, planes: int, dtype: Any, probabilities: bool,
           kwargs: Dict[str, Any]) -> np.ndarray:
    if data.size == 0:
        raise ValueError(f"the DataArray of shape {data.shape} is empty")
    return _stack(model, data, None, planes, dtype, probabilities, kwargs)


def _lazy(data: Any, model: Model, planes: int, dtype: Any, probabilities: bool,
          kwargs: Dict[str, Any]) -> Any:
    """``map_overlap`` with depth = the model's context on the spatial axes; each task masks
    its chunk's core from the halo Dask hands it (cm_mask_chunk) and returns only the core, so
    nothing is trimmed afterwards."""
    import dask.array as dsa
    from dask.array.overlap import ensure_minimum_chunksize

    options = {k: v for k, v in kwargs.items() if k in ("tiling", "buffer", "tile", "overlap")}
    depth = model.context(**options)
    ny, nx = data.shape[-2:]
    # One chunk along the bands; spatial chunks at least the depth (Dask's own rule for
    # map_overlap), unless an axis is smaller than the depth: then it is one chunk.
    chunks = list(data.chunks)
    chunks[-3] = (data.shape[-3],)
    for axis, n in ((-2, ny), (-1, nx)):
        chunks[axis] = (n,) if n <= depth else ensure_minimum_chunksize(depth, chunks[axis])
    data = data.rechunk(tuple(chunks))
    out_chunks = data.chunks[:-3] + ((planes,),) + data.chunks[-2:]
    ndim = data.ndim
    return dsa.map_overlap(
        _mask_block, data, depth={ndim - 2: depth, ndim - 1: depth}, boundary="none",
        trim=False, allow_rechunk=False, chunks=out_chunks, dtype=dtype,
        meta=np.empty((0,) * ndim, dtype), model=model, depth_px=depth,
        core_chunks=(data.chunks[-2], data.chunks[-1]), raster=(ny, nx), planes=planes,
        probabilities=probabilities, mask_kwargs=kwargs)


def _mask_block(block: np.ndarray, model: Model, depth_px: int,
                core_chunks: Tuple[Tuple[int, ...], Tuple[int, ...]], raster: Tuple[int, int],
                planes: int, probabilities: bool, mask_kwargs: Dict[str, Any],
                block_info: Optional[Dict[Any, Any]] = None) -> np.ndarray:
    if block_info is None:
        raise ValueError("_mask_block runs inside dask.array.map_overlap, which gives block_info")
    iy, ix = block_info[0]["chunk-location"][-2:]
    (ys, xs), (ny, nx) = core_chunks, raster
    core_h, core_w = ys[iy], xs[ix]
    top = depth_px if iy > 0 else 0
    left = depth_px if ix > 0 else 0
    bh, bw = block.shape[-2:]
    chunk = Chunk(raster_width=nx, raster_height=ny, x=sum(xs[:ix]) - left,
                  y=sum(ys[:iy]) - top, halo_left=left, halo_top=top,
                  halo_right=bw - core_w - left, halo_bottom=bh - core_h - top)
    dtype = np.float32 if probabilities else np.uint8
    return _stack(model, block, chunk, planes, dtype, probabilities, mask_kwargs)


def _dataset(da: xr.DataArray, data: Any, leading: List[Hashable], spatial: List[Hashable],
             band_dim: Hashable, model: Model, probabilities: bool) -> xr.Dataset:
    dims = tuple(leading) + tuple(spatial)
    coords = {name: c for name, c in da.coords.items() if band_dim not in c.dims}
    n = len(leading)
    classes = data[(slice(None),) * n + (0,)]
    valid = data[(slice(None),) * n + (1,)]
    if probabilities:
        classes, valid = classes.astype(np.uint8), valid.astype(np.uint8)
    flags = {"flag_values": list(CLASS_FLAGS.values()),
             "flag_meanings": " ".join(CLASS_FLAGS), "model": model.name}
    variables = {
        "classes": xr.DataArray(classes, dims=dims, attrs=flags),
        "valid": xr.DataArray(valid, dims=dims, attrs={
            "flag_values": [0, 1], "flag_meanings": "invalid valid", "model": model.name}),
    }
    if probabilities:
        p = data[(slice(None),) * n + (slice(2, None),)]
        variables["probabilities"] = xr.DataArray(
            p, dims=tuple(leading) + ("class",) + tuple(spatial), attrs={"model": model.name})
        coords["class"] = xr.DataArray(model.classes, dims=("class",))
    ds = xr.Dataset(variables, coords=coords, attrs=dict(da.attrs))
    crs = _crs(da)
    if crs is not None:
        ds = ds.rio.write_crs(crs)
    return ds


def _crs(da: xr.DataArray) -> Any:
    """rioxarray's CRS of the array, when rioxarray is installed and the array has one."""
    try:
        import rioxarray  # noqa: F401  (registers the .rio accessor)
    except ImportError:
        return None
    return da.rio.crs
