"""cloudmask on Dask: a lazy mask of a raster file, many scenes spread over a dask.distributed
cluster, and one large raster split into windows over the cluster.

Every task loads its model once per worker process (``shared_model``) and reuses it. Exact
tiling makes every window equal the crop of the whole-raster result, so the work can be cut
and retried anywhere without changing a pixel. A worker that dies mid-run loses only its
running task, which the scheduler runs again elsewhere; outputs are written whole or not at all.

Needs the ``dask`` extra (``distributed`` for ``mask_scenes`` and ``mask_large``).
"""
from __future__ import annotations

import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .model import shared_model

DEFAULT_MODEL = "ukis-6b-l1c"
PRODUCTS = ("classes", "valid", "probabilities")


def mask_file(path: str, chunks: int = 512, model: str = DEFAULT_MODEL, product: str = "classes",
              device: str = "cpu", threads: int = 0, precision: str = "f32",
              **options: Any) -> Any:
    """A lazy (y, x) uint8 Dask array of a raster's ``classes`` or ``valid`` mask in square
    chunks of ``chunks`` pixels; each chunk masks its window of the file (cm_mask_window), so
    the array equals ``cloudmask mask``'s output. ``options`` as ``Model.mask_file``'s."""
    import dask
    import dask.array as dsa

    from ._gdal import Raster

    if product not in ("classes", "valid"):
        raise ValueError(f"product {product!r} is not 'classes' or 'valid'")
    with Raster.open(path) as raster:
        _, height, width = raster.shape
    window = dask.delayed(_window, pure=True)
    rows = []
    for y in range(0, height, chunks):
        row = []
        for x in range(0, width, chunks):
            w, h = min(chunks, width - x), min(chunks, height - y)
            part = window(path, (x, y, w, h), product, model, device, threads, precision,
                          options)
            row.append(dsa.from_delayed(part, shape=(h, w), dtype=np.uint8))
        rows.append(row)
    return dsa.block(rows)


def _window(path: str, window: Tuple[int, int, int, int], product: str, model: str,
            device: str, threads: int, precision: str, options: Dict[str, Any]) -> np.ndarray:
    m = shared_model(model, device, threads, precision)
    result = m.mask_file(path, window=window, valid=product == "valid", **options)
    return result.valid if product == "valid" else result.classes


def output_paths(input_path: str, output_dir: str, products: Sequence[str]) -> List[str]:
    """Where ``mask_scenes`` writes a scene's products, named as ``cloudmask mask
    --output-dir`` names them: ``{stem}_mask.tif`` for the first, ``{stem}_mask_{product}.tif``
    for the others."""
    stem = os.path.splitext(os.path.basename(input_path))[0]
    return [os.path.join(output_dir, f"{stem}_mask.tif" if i == 0 else
                         f"{stem}_mask_{p}.tif") for i, p in enumerate(products)]


def mask_scenes(inputs: Sequence[str], output_dir: str, client: Any = None,
                model: str = DEFAULT_MODEL, products: Sequence[str] = ("classes",),
                device: str = "cpu", threads: int = 1, precision: str = "f32",
                before: Optional[Callable[[str], None]] = None,
                **options: Any) -> List[Dict[str, Any]]:
    """Masks each input raster into ``output_dir``, one task per scene over the cluster's
    workers (``client``: a distributed Client, the current one when None).

    A scene whose outputs all exist is skipped (also when a task runs again because its worker
    died after writing them: its summary then says "skipped"); each output appears only when complete (the
    library writes a hidden temporary file in ``output_dir`` and renames it). ``threads`` are
    ONNX Runtime's per worker: cores / workers keeps a machine busy without oversubscribing
    it. ``before(input)`` runs in the worker before each scene (for logging). Returns one
    summary per input, in order: ``input``, ``outputs``, ``status`` ("ok", "skipped" or
    "failed"), ``error`` (the message when failed), ``seconds`` and ``worker`` (its process id).
    """
    client = _client(client)
    unknown = [p for p in products if p not in PRODUCTS]
    if unknown or not products:
        raise ValueError(f"products {list(products)} must be some of {', '.join(PRODUCTS)}")
    os.makedirs(output_dir, exist_ok=True)
    inputs = [os.path.abspath(os.fspath(p)) for p in inputs]
    futures = client.map(_mask_scene, inputs, output_dir=os.path.abspath(output_dir),
                         products=tuple(products), model=model, device=device,
                         threads=threads, precision=precision, before=before, options=options,
                         pure=False)
    return client.gather(futures)


def _mask_scene(input_path: str, output_dir: str, products: Tuple[str, ...], model: str,
                device: str, threads: int, precision: str,
                before: Optional[Callable[[str], None]],
                options: Dict[str, Any]) -> Dict[str, Any]:
    outputs = output_paths(input_path, output_dir, products)
    summary: Dict[str, Any] = {"input": input_path, "outputs": outputs, "status": "skipped",
                               "error": None, "seconds": 0.0, "worker": os.getpid()}
    if all(os.path.exists(p) for p in outputs):
        return summary
    start = time.perf_counter()
    if before is not None:
        before(input_path)
    paths = dict(zip(products, outputs))
    try:
        shared_model(model, device, threads, precision).mask_to_files(
            input_path, classes=paths.get("classes"), valid=paths.get("valid"),
            probabilities=paths.get("probabilities"), **options)
        summary["status"] = "ok"
    except Exception as e:  # a bad scene is reported; the other scenes go on
        summary["status"] = "failed"
        summary["error"] = str(e)
    summary["seconds"] = time.perf_counter() - start
    return summary


def mask_large(path: str, output: str, client: Any = None, model: str = DEFAULT_MODEL,
               valid: Optional[str] = None, window: int = 1024, device: str = "cpu",
               threads: int = 1, precision: str = "f32",
               before: Optional[Callable[[Tuple[int, int]], None]] = None,
               **options: Any) -> Dict[str, Any]:
    """Masks one large raster in windows of ``window`` pixels spread over the cluster, and
    assembles the class map (and the valid mask at ``valid``) as tiled, deflate-compressed
    GeoTIFFs with the input's georeferencing and the library's colour tables and category
    names: pixel for pixel ``cloudmask mask``'s output.

    Windows are computed on the workers (cm_mask_window; exact tiling makes each the crop of
    the whole result) and written by this process as they arrive, into a hidden temporary file
    beside each output that is renamed only when every window is in. ``before((x, y))`` runs
    in the worker before each window. Returns ``windows``, ``seconds`` and ``outputs``.
    """
    from distributed import as_completed

    from ._gdal import Raster

    client = _client(client)
    start = time.perf_counter()
    path = os.path.abspath(os.fspath(path))
    with Raster.open(path) as src:
        _, height, width = src.shape
        transform, wkt = src.georeference()
    windows = [(x, y, min(window, width - x), min(window, height - y))
               for y in range(0, height, window) for x in range(0, width, window)]
    futures = client.map(_large_window, windows, path=path, model=model, device=device,
                         threads=threads, precision=precision, want_valid=valid is not None,
                         before=before,
                         options=options, pure=False)
    targets = [output] + ([valid] if valid is not None else [])
    temps = [os.path.join(os.path.dirname(os.path.abspath(t)) or ".",
                          f".{os.path.basename(t)}.{os.getpid()}.tmp") for t in targets]
    opened: List[Raster] = []
    try:
        for tmp in temps:
            r = Raster.create(tmp, width, height, 1, False,
                              ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256",
                               "COMPRESS=DEFLATE", "BIGTIFF=IF_NEEDED"])
            opened.append(r)
            r.set_georeference(transform, wkt)
        from . import _native
        opened[0].set_nodata(1, 0)
        opened[0].set_classes(1, _native.CLASSES)
        if valid is not None:
            opened[1].set_classes(1, _native.VALID_CLASSES)
        for future in as_completed(futures):
            (x, y, _, _), classes, valid_part = future.result()
            opened[0].write(1, x, y, classes)
            if valid is not None:
                opened[1].write(1, x, y, valid_part)
        for r in opened:
            r.close()
        for tmp, target in zip(temps, targets):
            # GDAL keeps the category names in a .aux.xml sidecar (as for the CLI's outputs).
            if os.path.exists(tmp + ".aux.xml"):
                os.replace(tmp + ".aux.xml", target + ".aux.xml")
            os.replace(tmp, target)
    finally:
        for r in opened:
            if r.handle:  # a failure: close what is open, then remove it below
                try:
                    r.close()
                except Exception:
                    pass
        for tmp in temps:
            for leftover in (tmp, tmp + ".aux.xml"):
                if os.path.exists(leftover):
                    os.remove(leftover)
    return {"windows": len(windows), "seconds": time.perf_counter() - start,
            "outputs": targets}


def _large_window(window: Tuple[int, int, int, int], path: str, model: str, device: str,
                  threads: int, precision: str, want_valid: bool, before: Optional[Callable[[Tuple[int, int]],
                                                                             None]],
                  options: Dict[str, Any]) -> Tuple[Tuple[int, int, int, int], np.ndarray,
                                                    Optional[np.ndarray]]:
    if before is not None:
        before(window[:2])
    result = shared_model(model, device, threads, precision).mask_file(
        path, window=window, valid=want_valid, **options)
    return window, result.classes, result.valid


def _client(client: Any) -> Any:
    if client is not None:
        return client
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        raise ValueError("no dask.distributed Client: pass client=, or create one first "
                         "(distributed.Client(...))") from None
