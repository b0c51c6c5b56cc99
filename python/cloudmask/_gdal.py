"""The few GDAL C calls the package needs, through ctypes on the libgdal that libcloudmask.so
itself links: opening a raster for ``cm_mask_window`` (which takes a GDALDatasetH), reading its
size and georeferencing, and writing assembled masks. No GDAL Python bindings are needed (they
are built for one Python and one numpy; a ctypes call works in any environment)."""
from __future__ import annotations

import ctypes as C
import ctypes.util
import threading
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ._library import CloudmaskError, library

GA_READONLY = 0
GA_UPDATE = 1
GDAL_OF_RASTER = 0x02
GDAL_OF_VERBOSE_ERROR = 0x40
GDT_BYTE = 1
GDT_FLOAT32 = 6
GF_READ = 0
GF_WRITE = 1

_SIGNATURES = {
    "GDALAllRegister": ([], None),
    "GDALOpenEx": ([C.c_char_p, C.c_uint, C.c_void_p, C.c_void_p, C.c_void_p], C.c_void_p),
    "GDALClose": ([C.c_void_p], C.c_int),
    "GDALGetRasterXSize": ([C.c_void_p], C.c_int),
    "GDALGetRasterYSize": ([C.c_void_p], C.c_int),
    "GDALGetRasterCount": ([C.c_void_p], C.c_int),
    "GDALGetGeoTransform": ([C.c_void_p, C.POINTER(C.c_double)], C.c_int),
    "GDALSetGeoTransform": ([C.c_void_p, C.POINTER(C.c_double)], C.c_int),
    "GDALGetProjectionRef": ([C.c_void_p], C.c_char_p),
    "GDALSetProjection": ([C.c_void_p, C.c_char_p], C.c_int),
    "GDALGetDriverByName": ([C.c_char_p], C.c_void_p),
    "GDALCreate": ([C.c_void_p, C.c_char_p, C.c_int, C.c_int, C.c_int, C.c_int,
                    C.POINTER(C.c_char_p)], C.c_void_p),
    "GDALGetRasterBand": ([C.c_void_p, C.c_int], C.c_void_p),
    "GDALRasterIO": ([C.c_void_p, C.c_int, C.c_int, C.c_int, C.c_int, C.c_int, C.c_void_p,
                      C.c_int, C.c_int, C.c_int, C.c_int, C.c_int], C.c_int),
    "GDALSetRasterNoDataValue": ([C.c_void_p, C.c_double], C.c_int),
    "GDALSetDescription": ([C.c_void_p, C.c_char_p], None),
    "GDALGetDescription": ([C.c_void_p], C.c_char_p),
    "GDALCreateColorTable": ([C.c_int], C.c_void_p),
    "GDALDestroyColorTable": ([C.c_void_p], None),
    "GDALSetColorEntry": ([C.c_void_p, C.c_int, C.POINTER(C.c_short * 4)], None),
    "GDALSetRasterColorTable": ([C.c_void_p, C.c_void_p], C.c_int),
    "GDALSetRasterCategoryNames": ([C.c_void_p, C.POINTER(C.c_char_p)], C.c_int),
    "CPLGetLastErrorMsg": ([], C.c_char_p),
    "CPLErrorReset": ([], None),
}

_lock = threading.Lock()
_gdal: Optional[C.CDLL] = None


def gdal() -> C.CDLL:
    """libgdal, the one libcloudmask.so is linked with (loaded with it), drivers registered."""
    global _gdal
    with _lock:
        if _gdal is None:
            library()  # loads libgdal as libcloudmask.so's dependency
            name = ctypes.util.find_library("gdal")
            if name is None:
                raise CloudmaskError("libgdal was not found (install GDAL's runtime, e.g. "
                                     "Debian's libgdal32)")
            lib = C.CDLL(name)
            for fn, (args, res) in _SIGNATURES.items():
                f = getattr(lib, fn)
                f.argtypes = args
                f.restype = res
            lib.GDALAllRegister()
            _gdal = lib
        return _gdal


def _failed(what: str) -> CloudmaskError:
    message = gdal().CPLGetLastErrorMsg() or b""
    return CloudmaskError(f"{what}: {message.decode('utf-8', 'replace') or 'GDAL gave no reason'}")


class Raster:
    """A GDAL dataset opened read-only (or for update), closed by ``close`` or ``with``. A GDAL
    handle must not be used by two threads at once: open one per thread."""

    def __init__(self, handle: int, path: str):
        self.handle = handle
        self.path = path

    @classmethod
    def open(cls, path: str, update: bool = False) -> "Raster":
        g = gdal()
        g.CPLErrorReset()
        flags = GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR | (GA_UPDATE if update else GA_READONLY)
        handle = g.GDALOpenEx(str(path).encode(), flags, None, None, None)
        if not handle:
            raise _failed(f"{path} could not be opened as a raster")
        return cls(handle, str(path))

    @classmethod
    def create(cls, path: str, width: int, height: int, bands: int, float32: bool,
               options: Sequence[str] = ()) -> "Raster":
        g = gdal()
        g.CPLErrorReset()
        driver = g.GDALGetDriverByName(b"GTiff")
        opts = (C.c_char_p * (len(options) + 1))(*[o.encode() for o in options], None)
        handle = g.GDALCreate(driver, str(path).encode(), width, height, bands,
                              GDT_FLOAT32 if float32 else GDT_BYTE, opts)
        if not handle:
            raise _failed(f"{path} could not be created")
        return cls(handle, str(path))

    def close(self) -> None:
        if self.handle:
            if gdal().GDALClose(self.handle) != 0:
                self.handle = None
                raise _failed(f"{self.path} could not be written completely")
            self.handle = None

    def __enter__(self) -> "Raster":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def shape(self) -> Tuple[int, int, int]:
        """(bands, height, width)."""
        g = gdal()
        return (g.GDALGetRasterCount(self.handle), g.GDALGetRasterYSize(self.handle),
                g.GDALGetRasterXSize(self.handle))

    def georeference(self) -> Tuple[Optional[List[float]], str]:
        """The geotransform (None when the raster has none) and the CRS as WKT ("" for none)."""
        g = gdal()
        gt = (C.c_double * 6)()
        has = g.GDALGetGeoTransform(self.handle, gt) == 0
        wkt = g.GDALGetProjectionRef(self.handle) or b""
        return (list(gt) if has else None), wkt.decode()

    def set_georeference(self, transform: Optional[Sequence[float]], wkt: str) -> None:
        g = gdal()
        if transform is not None:
            g.GDALSetGeoTransform(self.handle, (C.c_double * 6)(*transform))
        if wkt:
            g.GDALSetProjection(self.handle, wkt.encode())

    def band_description(self, band: int) -> str:
        b = gdal().GDALGetRasterBand(self.handle, band)
        return (gdal().GDALGetDescription(b) or b"").decode()

    def _io(self, band: int, x: int, y: int, array: np.ndarray, write: bool) -> None:
        g = gdal()
        b = g.GDALGetRasterBand(self.handle, band)
        if not b:
            raise _failed(f"{self.path} has no band {band}")
        h, w = array.shape
        kind = GDT_FLOAT32 if array.dtype == np.float32 else GDT_BYTE
        g.CPLErrorReset()
        if g.GDALRasterIO(b, GF_WRITE if write else GF_READ, x, y, w, h,
                          array.ctypes.data, w, h, kind, 0, 0) != 0:
            raise _failed(f"{'writing' if write else 'reading'} {self.path} failed")

    def read(self, x: int = 0, y: int = 0, width: Optional[int] = None,
             height: Optional[int] = None) -> np.ndarray:
        """A window of every band as float32, (bands, height, width)."""
        n, h, w = self.shape
        width = w - x if width is None else width
        height = h - y if height is None else height
        out = np.empty((n, height, width), np.float32)
        for k in range(n):
            self._io(k + 1, x, y, out[k], write=False)
        return out

    def write(self, band: int, x: int, y: int, array: np.ndarray) -> None:
        """Writes a C-contiguous 2-D uint8 or float32 array at (x, y) of ``band``."""
        self._io(band, x, y, np.ascontiguousarray(array), write=True)

    def set_nodata(self, band: int, value: float) -> None:
        gdal().GDALSetRasterNoDataValue(gdal().GDALGetRasterBand(self.handle, band), value)

    def set_classes(self, band: int, classes: Sequence[Tuple[int, str, Tuple[int, ...]]]) -> None:
        """A colour table and category names from (value, name, RGBA) entries, as the
        library's own class maps and valid masks carry (the binding's CLASSES, VALID_CLASSES)."""
        g = gdal()
        b = g.GDALGetRasterBand(self.handle, band)
        table = g.GDALCreateColorTable(1)  # GPI_RGB
        names: List[bytes] = [b""] * (max(v for v, _, _ in classes) + 1)
        for value in range(256):  # all 256 entries, opaque black where no class, as the library
            g.GDALSetColorEntry(table, value, C.byref((C.c_short * 4)(0, 0, 0, 255)))
        for value, name, rgba in classes:
            g.GDALSetColorEntry(table, value, C.byref((C.c_short * 4)(*rgba)))
            names[value] = name.encode()
        g.GDALSetRasterColorTable(b, table)
        g.GDALDestroyColorTable(table)
        g.GDALSetRasterCategoryNames(b, (C.c_char_p * (len(names) + 1))(*names, None))

    def set_band_description(self, band: int, text: str) -> None:
        gdal().GDALSetDescription(gdal().GDALGetRasterBand(self.handle, band), text.encode())


def write_geotiff(path: str, array: np.ndarray, like: Optional[str] = None,
                  band_names: Sequence[str] = (), nodata: Optional[float] = None) -> None:
    """Writes a (bands, y, x) float32 or uint8 array as a tiled, deflate-compressed GeoTIFF,
    with the georeferencing of the raster ``like`` when given."""
    if array.ndim == 2:
        array = array[None]
    n, h, w = array.shape
    options = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256", "COMPRESS=DEFLATE",
               "BIGTIFF=IF_NEEDED"]
    with Raster.create(path, w, h, n, array.dtype == np.float32, options) as out:
        if like is not None:
            with Raster.open(like) as src:
                out.set_georeference(*src.georeference())
        for k in range(n):
            out.write(k + 1, 0, 0, array[k])
            if k < len(band_names):
                out.set_band_description(k + 1, band_names[k])
            if nodata is not None:
                out.set_nodata(k + 1, nodata)
