"""A loaded model and masking numpy arrays, chunks of larger arrays, and raster files."""
from __future__ import annotations

import ctypes as C
import functools
import json
import os
import threading
from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native
from ._library import CloudmaskError, check, library

#: ``scaling=`` values: how array values become reflectance.
Scaling = Union[None, str, Tuple[float, float]]

# The library's names of its choices ("cpu", "cuda", ...; "exact", "ukis"): each label of the
# binding's choice lists starts with the name, so a device the library adds appears here too.
_DEVICES = {label.split()[0].lower(): value for value, label in _native.DEVICES}
_TILINGS = {label.split()[0].lower(): value for value, label in _native.TILINGS}
_PRECISIONS = {label.split()[0].lower(): value for value, label in _native.PRECISIONS}
#: Sentinel-2's quantification value: reflectance = (DN + offset) / 10000.
DEFAULT_QUANTIFICATION = 10000.0


@dataclass(frozen=True)
class Chunk:
    """Where an array lies in a larger raster (the C API's cm_chunk): its first value is raster
    pixel (``x``, ``y``); ``halo_*`` pixels on each side are context only, the rest (the core)
    is masked, exactly as the same pixels of the whole raster. Each halo must hold
    ``Model.context()`` pixels, or reach the raster's edge."""
    raster_width: int
    raster_height: int
    x: int = 0
    y: int = 0
    halo_left: int = 0
    halo_top: int = 0
    halo_right: int = 0
    halo_bottom: int = 0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if int(value) < 0:
                raise ValueError(f"Chunk.{name} is {value}: sizes and offsets are at least 0")


@dataclass
class MaskResult:
    """What masking gives, each (y, x) like the input: ``classes`` cm_class codes (0 nodata,
    1 clear, 2 cloud, 3 thin cloud, 4 cloud shadow), ``valid`` 1 where usable (None unless
    asked), ``probabilities`` (n_classes, y, x) float32, NaN on nodata (None unless asked)."""
    classes: np.ndarray
    valid: Optional[np.ndarray] = None
    probabilities: Optional[np.ndarray] = None


def models() -> list:
    """Names of the models the library can see (``cloudmask models``)."""
    return library().list_models()


def _choice(table: Dict[str, int], value: str, what: str) -> int:
    try:
        return table[value.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"{what} {value!r} is not one of {', '.join(table)}") from None


class Model:
    """A model loaded once, by name (``cloudmask.models()``) or .onnx path.

    One Model may be used by several threads at once: each call takes an ONNX Runtime session
    of its own and releases the GIL while the library computes. ``threads`` are ONNX Runtime's
    threads per inference (0 = all cores). ``device``: "cpu" (the exact path), "cuda", "openvino"
    or "auto"; ``precision``: "f32", "bf16" (OpenVINO on a CPU with native bf16 only) or "auto"
    (docs/engine.md, "Execution providers and precision"). Pickling a Model (as Dask does to ship it to worker
    processes) sends its name and options; each process loads it once and shares it.
    """

    def __init__(self, name_or_path: str = "ukis-6b-l1c", device: str = "cpu",
                 threads: int = 0, precision: str = "f32"):
        self._lib = library()
        self.name = str(name_or_path)
        self.device = device
        self.threads = int(threads)
        self.precision = precision
        options = self._lib.model_options(threads=self.threads,
                                          device=_choice(_DEVICES, device, "device"),
                                          precision=_choice(_PRECISIONS, precision, "precision"))
        handle = C.c_void_p()
        check(self._lib, self._lib.lib.cm_model_load(self.name.encode(), C.byref(options),
                                                     C.byref(handle)))
        self._handle = handle
        info = _native.ModelInfo()
        check(self._lib, self._lib.lib.cm_model_get_info(handle, C.byref(info)))
        self.n_bands = int(info.n_bands)
        self.n_classes = int(info.n_classes)
        self.tile_size = int(info.tile_size)
        self.size_multiple = int(info.size_multiple)
        self.bands = [self._text(self._lib.lib.cm_model_band_name, i) for i in range(self.n_bands)]
        self.classes = [self._text(self._lib.lib.cm_model_class_name, i)
                        for i in range(self.n_classes)]
        self.class_codes = []
        for i in range(self.n_classes):
            code = C.c_uint8()
            check(self._lib, self._lib.lib.cm_model_class_code(handle, i, C.byref(code)))
            self.class_codes.append(int(code.value))

    def _text(self, fn: Any, index: int) -> str:
        buf = C.create_string_buffer(256)
        check(self._lib, fn(self._handle, index, buf, len(buf)))
        return buf.value.decode()

    def __reduce__(self) -> Tuple[Any, Tuple[str, str, int, str]]:
        return shared_model, (self.name, self.device, self.threads, self.precision)

    def __repr__(self) -> str:
        return (f"Model({self.name!r}, device={self.device!r}, threads={self.threads}, "
                f"precision={self.precision!r}): "
                f"bands {', '.join(self.bands)}")

    def close(self) -> None:
        """Releases the model now (also done when it is garbage collected). Not while another
        thread uses it."""
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            self._lib.lib.cm_model_free(handle)

    __del__ = close

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def handle(self) -> C.c_void_p:
        if not self._handle:
            raise CloudmaskError(f"model {self.name} was closed")
        return self._handle

    def card(self) -> Dict[str, Any]:
        """The model card (cm_model_card): name, version, bands and their normalisation, classes,
        output kind, tile size... plus ``halo``, the context exact chunks need
        (``context()``)."""
        fn = self._lib.lib.cm_model_card
        needed = fn(self.handle, None, 0)
        if needed == 0:
            check(self._lib, self._lib.lib.cm_last_error_code())
        buf = C.create_string_buffer(needed)
        fn(self.handle, buf, needed)
        card: Dict[str, Any] = json.loads(buf.value.decode("utf-8"))
        card["halo"] = self.context()
        return card

    def mask_options(self, tiling: str = "exact", buffer: Optional[int] = None,
                     tile: Optional[int] = None, overlap: Optional[float] = None,
                     batch: Optional[int] = None) -> _native.MaskOptions:
        """cm_mask_options from the library's defaults and the values given."""
        o = self._lib.mask_options(tiling=_choice(_TILINGS, tiling, "tiling"), buffer=buffer)
        if tile is not None:
            o.tile = int(tile)
        if overlap is not None:
            o.overlap = float(overlap)
        if batch is not None:
            o.batch = int(batch)
        return o

    def context(self, **options: Any) -> int:
        """Pixels of halo on every side that exact chunks need (a tile less one pixel, plus the
        valid mask's buffer): Dask's ``map_overlap`` depth. ``options`` as in ``mask``."""
        out = C.c_size_t()
        check(self._lib, self._lib.lib.cm_model_context(
            self.handle, C.byref(self.mask_options(**options)), C.byref(out)))
        return int(out.value)

    def mask(self, array: Any, bands: Optional[Sequence[int]] = None, scaling: Scaling = None,
             nodata: Optional[float] = None, valid: bool = True, probabilities: bool = False,
             chunk: Optional[Chunk] = None, dn_offset: float = 0.0,
             quantification: float = DEFAULT_QUANTIFICATION, **options: Any) -> MaskResult:
        """Masks a (bands, y, x) array of any real dtype.

        ``bands``: indices into the first axis, one per model band in the model's order
        (``model.bands``); None takes the array's bands as they are. ``scaling``: None or
        "reflectance" for floats already 0..1 reflectance; "dn" for digital numbers,
        (DN + ``dn_offset``) / ``quantification``; or ``(gain, offset)``: value * gain + offset.
        Integers need a scaling. ``nodata``: a raw value marking nodata in any band; NaN or
        infinite values are refused unless ``nodata`` is NaN (then they mark nodata).
        ``chunk``: the array's place in a larger raster (exact tiling: the result equals those
        pixels of the whole raster's). ``options``: tiling ("exact" or "ukis"), buffer, tile,
        overlap, batch, as the CLI's flags.
        """
        data = reflectance(array, self, bands, scaling, nodata, dn_offset, quantification)
        _, h, w = data.shape
        place = chunk or Chunk(w, h)
        core_w = w - place.halo_left - place.halo_right
        core_h = h - place.halo_top - place.halo_bottom
        n = max(core_w, 0) * max(core_h, 0)
        classes = np.empty((max(core_h, 0), max(core_w, 0)), np.uint8)
        valid_out = np.empty_like(classes) if valid else None
        prob_out = (np.empty((self.n_classes,) + classes.shape, np.float32)
                    if probabilities else None)
        c_chunk = _native.Chunk(*(int(v) for v in (
            place.raster_width, place.raster_height, place.x, place.y, place.halo_left,
            place.halo_top, place.halo_right, place.halo_bottom)))
        u8 = C.POINTER(C.c_uint8)
        f32 = C.POINTER(C.c_float)
        check(self._lib, self._lib.lib.cm_mask_chunk(
            self.handle, data.ctypes.data_as(f32), self.n_bands, w, h, None, C.byref(c_chunk),
            C.byref(self.mask_options(**options)), classes.ctypes.data_as(u8), n,
            valid_out.ctypes.data_as(u8) if valid_out is not None else None, n,
            prob_out.ctypes.data_as(f32) if prob_out is not None else None,
            prob_out.size if prob_out is not None else 0))
        return MaskResult(classes, valid_out, prob_out)

    def mask_file(self, path: Union[str, os.PathLike],
                  window: Optional[Tuple[int, int, int, int]] = None, valid: bool = True,
                  bands: Optional[Sequence[int]] = None, **options: Any) -> MaskResult:
        """Masks a raster file, or the window ``(x, y, width, height)`` of it, in memory. Bands
        are found by name (or ``bands``: 1-based raster band numbers in the model's order) and
        scaled as the CLI does by default. With exact tiling a window equals that crop of the
        whole file's result (and of ``cloudmask mask``'s output)."""
        from ._gdal import Raster
        with Raster.open(os.fspath(path)) as raster:
            _, height, width = raster.shape
            x, y, w, h = window if window is not None else (0, 0, width, height)
            n = max(w, 0) * max(h, 0)
            classes = np.empty((max(h, 0), max(w, 0)), np.uint8)
            valid_out = np.empty_like(classes) if valid else None
            numbers = (C.c_int32 * len(bands))(*bands) if bands else None
            u8 = C.POINTER(C.c_uint8)
            check(self._lib, self._lib.lib.cm_mask_window(
                self.handle, raster.handle, numbers, len(bands) if bands else 0,
                C.byref(self.mask_options(**options)), x, y, w, h,
                classes.ctypes.data_as(u8), n,
                valid_out.ctypes.data_as(u8) if valid_out is not None else None, n))
        return MaskResult(classes, valid_out)

    def mask_to_files(self, input_path: Union[str, os.PathLike],
                      classes: Optional[str] = None, valid: Optional[str] = None,
                      probabilities: Optional[str] = None,
                      bands: Optional[Sequence[int]] = None, **options: Any) -> None:
        """Masks a whole raster file into GeoTIFFs, as ``cloudmask mask`` does (streamed, any
        size). Each output appears only when complete, all together (written to a hidden
        temporary file in its folder and renamed)."""
        native_model = _native.Model(self._lib, self.handle)
        native_model.mask_to_files(os.fspath(input_path), classes, valid, probabilities,
                                   list(bands) if bands else None, self.mask_options(**options))


_shared_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def _load_shared(name: str, device: str, threads: int, precision: str) -> Model:
    return Model(name, device=device, threads=threads, precision=precision)


def shared_model(name: str, device: str = "cpu", threads: int = 0,
                 precision: str = "f32") -> Model:
    """This process's one Model for these settings, loaded on first use (Dask workers use it:
    one model load per worker process)."""
    with _shared_lock:
        return _load_shared(name, device, int(threads), precision)


def reflectance(array: Any, model: Model, bands: Optional[Sequence[int]], scaling: Scaling,
                nodata: Optional[float], dn_offset: float = 0.0,
                quantification: float = DEFAULT_QUANTIFICATION) -> np.ndarray:
    """The model's bands of a (bands, y, x) array as C-contiguous float32 reflectance, nodata
    pixels NaN; ValueError or TypeError saying what is wrong otherwise."""
    a = np.asarray(array)
    if a.ndim != 3:
        raise ValueError(f"expected a (bands, y, x) array, got {a.ndim} dimensions "
                         f"(shape {a.shape}); a single band needs a leading axis of 1")
    if a.dtype.kind not in "iuf":
        raise TypeError(f"array of {a.dtype} cannot be reflectance: use integer or float values")
    if a.size == 0:
        raise ValueError(f"array of shape {a.shape} is empty")
    if not a.flags.c_contiguous:
        # Refused rather than copied silently: a strided view of a large cube would be copied
        # whole on every call, and the caller decides when that copy is made.
        raise ValueError(
            f"the array (shape {a.shape}, strides {a.strides}) is not C-contiguous, as a slice, "
            "a transposed or a strided view is: pass numpy.ascontiguousarray(array)")
    if bands is not None:
        bands = [int(b) for b in bands]
        if any(not 0 <= b < a.shape[0] for b in bands):
            raise ValueError(f"bands {bands} must be indices 0..{a.shape[0] - 1} of the "
                             f"array's first axis")
        a = a[bands]
    if a.shape[0] != model.n_bands:
        raise ValueError(
            f"the array gives {a.shape[0]} bands but model {model.name} needs {model.n_bands} "
            f"({', '.join(model.bands)}): pass bands=[...] to pick them in that order")
    gain, offset = _gain_offset(a.dtype, scaling, dn_offset, quantification)
    nan_nodata = nodata is not None and np.isnan(nodata)
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any() and not nan_nodata:
            raise ValueError(
                f"the array holds {int(bad.sum())} NaN or infinite values: pass nodata=numpy.nan "
                "to treat them as nodata, or fill them")
    missing = np.zeros(a.shape[1:], bool)
    if nodata is not None:
        missing |= (~np.isfinite(a) if nan_nodata else a == nodata).any(axis=0)
    if gain == 1.0 and offset == 0.0:
        out = np.array(a, dtype=np.float32, order="C", copy=True)
    else:
        # In float64, as the library scales raster values, so a file and its array agree.
        out = (a.astype(np.float64) * gain + offset).astype(np.float32, order="C")
    if missing.any():
        out[:, missing] = np.nan
    return out


def _gain_offset(dtype: np.dtype, scaling: Scaling, dn_offset: float,
                 quantification: float) -> Tuple[float, float]:
    if scaling is None or scaling == "auto":
        if dtype.kind != "f":
            raise ValueError(
                f"{dtype} values say nothing about their scale: pass scaling='dn' for digital "
                f"numbers ((DN + dn_offset) / quantification, {DEFAULT_QUANTIFICATION:g} by "
                "default), scaling=(gain, offset), or float reflectance")
        return 1.0, 0.0
    if scaling == "reflectance":
        return 1.0, 0.0
    if scaling == "dn":
        if not quantification > 0:
            raise ValueError(f"quantification {quantification} must be positive")
        return 1.0 / quantification, dn_offset / quantification
    if isinstance(scaling, tuple) and len(scaling) == 2:
        return float(scaling[0]), float(scaling[1])
    raise ValueError(f"scaling {scaling!r} is not None, 'reflectance', 'dn' or (gain, offset)")
