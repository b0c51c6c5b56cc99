"""The cloudmask C API (libcloudmask.so) through ctypes, and where the native files are.

Nothing here imports QGIS, so the binding can be used (and tested) from plain Python too.

The library is looked for, in order, at:
1. ``$CLOUDMASK_LIBRARY`` (a path to libcloudmask.so),
2. the QGIS setting ``cloudmask/library`` (passed in by the provider),
3. ``lib/libcloudmask.so`` inside this plugin folder (what ``make qgis-plugin`` bundles),
4. ``target/release/libcloudmask.so`` of the source checkout the plugin folder sits in
   (``qgis-plugin/cloudmask_qgis`` of the repository, also through a symlink).

ONNX Runtime is found by the library itself (``$CLOUDMASK_ORT_LIB``, ``$ORT_DYLIB_PATH``, the
cloudmask Debian package's private copy, a ``.venv`` beside the library, Python environments
with the onnxruntime wheel, system folders; never the current directory); ``runtime.py`` adds
the QGIS setting ``cloudmask/ort_library`` (an absolute path) in front of that search and the
set-up's copy in the QGIS profile after it. Virtual masks never name the library.
"""
import ctypes as C
import os

PLUGIN_DIR = os.path.dirname(os.path.realpath(__file__))
REPO_DIR = os.path.dirname(os.path.dirname(PLUGIN_DIR))

# Values from include/cloudmask.h; tests/bindings.rs checks every constant, struct, signature,
# default and colour below against the header and the library.
CM_OK = 0
CM_ERROR_RUNTIME_NOT_FOUND = 3
CM_ERROR_MODEL = 4
CM_ERROR_CANCELLED = 9
CM_DEVICE_CPU = 0
CM_DEVICE_CUDA = 1
CM_DEVICE_OPENVINO = 2
CM_DEVICE_AUTO = 3
CM_PRECISION_F32 = 0
CM_PRECISION_BF16 = 1
CM_PRECISION_AUTO = 2
CM_TILING_EXACT = 0
CM_TILING_UKIS = 1
CM_SCALING_AUTO = 0
CM_SCALING_REFLECTANCE = 1
CM_SCALING_DN = 2
CM_MEASURE_ENTROPY = 0
CM_MEASURE_MARGIN = 1
CM_MEASURE_DISAGREEMENT = 2
CM_CLASS_NODATA = 0
CM_CLASS_CLEAR = 1
CM_CLASS_CLOUD = 2
CM_CLASS_THIN_CLOUD = 3
CM_CLASS_CLOUD_SHADOW = 4

# The library's defaults, for the dialogs (the C structs' defaults come from the library itself).
DEFAULT_MODEL = "ukis-6b-l1c"
DEFAULT_BUFFER = 4
DEFAULT_SELECT_TILE = 512
DEFAULT_SELECT_COUNT = 10
DEFAULT_MIN_VALID = 0.5

# The choices the dialogs offer: (C value, label), the library's default first; each label starts
# with the library's name of the value (what `cloudmask` takes on the command line).
DEVICES = [(CM_DEVICE_CPU, "CPU"), (CM_DEVICE_CUDA, "CUDA (falls back to CPU when unavailable)"),
           (CM_DEVICE_OPENVINO, "OpenVINO (onnxruntime-openvino; falls back to CPU when unavailable)"),
           (CM_DEVICE_AUTO, "auto (CUDA if usable, else OpenVINO, else CPU)")]
PRECISIONS = [(CM_PRECISION_F32, "f32 (exact on CPU)"),
              (CM_PRECISION_BF16, "bf16 (OpenVINO on a CPU with native bf16 only)"),
              (CM_PRECISION_AUTO, "auto (bf16 where OpenVINO runs on a CPU with native bf16)")]
TILINGS = [(CM_TILING_EXACT, "exact (any window equals the crop of the whole result)"),
           (CM_TILING_UKIS, "ukis (ukis-csmask's own procedure)")]
SCALINGS = [(CM_SCALING_AUTO, "auto (scale/offset or product metadata; floats are reflectance, "
             "other integers refused)"),
            (CM_SCALING_REFLECTANCE, "reflectance (values are 0..1)"),
            (CM_SCALING_DN, "dn (digital numbers: (DN + offset) / quantification)")]
MEASURES = [(CM_MEASURE_ENTROPY, "entropy (how evenly the model spreads its probability)"),
            (CM_MEASURE_MARGIN, "margin (how close the two most likely classes are)"),
            (CM_MEASURE_DISAGREEMENT, "disagreement between two models (needs a second model)")]


def labels(choices):
    """The labels of a choice list, for a QgsProcessingParameterEnum."""
    return [label for _, label in choices]


def chosen(choices, index):
    """The C value of the choice at `index` of a QgsProcessingParameterEnum."""
    return choices[index][0]


# cm_class codes: value, name, RGBA (the library's colour table of class maps).
CLASSES = [
    (CM_CLASS_NODATA, "nodata", (0, 0, 0, 0)),
    (CM_CLASS_CLEAR, "clear", (60, 160, 60, 255)),
    (CM_CLASS_CLOUD, "cloud", (240, 240, 240, 255)),
    (CM_CLASS_THIN_CLOUD, "thin cloud", (120, 200, 255, 255)),
    (CM_CLASS_CLOUD_SHADOW, "cloud shadow", (70, 50, 120, 255)),
]

# Valid-mask values: value, name, RGBA (the library's colour table of valid masks): invalid
# pixels a translucent red overlay, valid ones transparent.
VALID_CLASSES = [
    (0, "invalid", (220, 40, 40, 160)),
    (1, "valid", (0, 0, 0, 0)),
]


class ModelOptions(C.Structure):
    _fields_ = [("threads", C.c_int32), ("device", C.c_int32), ("ort_library", C.c_char_p),
                ("precision", C.c_int32)]


class MaskOptions(C.Structure):
    _fields_ = [("tiling", C.c_int32), ("batch", C.c_int32),
                ("buffer", C.c_int32), ("tile", C.c_int32), ("overlap", C.c_double)]


class InputOptions(C.Structure):
    """cm_input_options: how the input raster is read. scaling a CM_SCALING_* value (DN:
    (DN + dn_offset) / quantification); nodata when has_nodata; resolution
    0 = native; per-class buffers -1 = cm_mask_options.buffer."""
    _fields_ = [("scaling", C.c_int32), ("quantification", C.c_double),
                ("dn_offset", C.c_double), ("has_nodata", C.c_bool), ("nodata", C.c_double),
                ("resolution", C.c_double), ("buffer_cloud", C.c_int32),
                ("buffer_thin_cloud", C.c_int32), ("buffer_shadow", C.c_int32),
                ("buffer_nodata", C.c_int32)]


class ModelInfo(C.Structure):
    _fields_ = [("n_bands", C.c_size_t), ("n_classes", C.c_size_t),
                ("tile_size", C.c_size_t), ("size_multiple", C.c_size_t)]


class Chunk(C.Structure):
    """cm_chunk: where a buffer lies in a larger raster (its first value's column and row) and
    the halo of context it carries on each side; the rest, its core, is masked."""
    _fields_ = [("raster_width", C.c_size_t), ("raster_height", C.c_size_t),
                ("x", C.c_size_t), ("y", C.c_size_t),
                ("halo_left", C.c_size_t), ("halo_top", C.c_size_t),
                ("halo_right", C.c_size_t), ("halo_bottom", C.c_size_t)]


PROGRESS_FN = C.CFUNCTYPE(C.c_bool, C.c_double, C.c_char_p, C.c_void_p)


class OutputPaths(C.Structure):
    """cm_output_paths: where each product goes; NULL skips it."""
    _fields_ = [("classes", C.c_char_p), ("valid", C.c_char_p), ("probabilities", C.c_char_p)]


class EvalPredictor(C.Structure):
    """cm_eval_predictor: a name, a source (raster, folder, "model:NAME"), a class scheme."""
    _fields_ = [("name", C.c_char_p), ("source", C.c_char_p), ("scheme", C.c_char_p)]


class EvalOptions(C.Structure):
    """cm_eval_options: reference scheme, images for "model:" predictors, beta (-1 = 2),
    reports; input_options (NULL = the defaults) reads the images."""
    _fields_ = [("reference_scheme", C.c_char_p), ("images", C.c_char_p),
                ("beta", C.c_double), ("reports", C.c_char_p),
                ("input_options", C.POINTER(InputOptions))]


class EvalSummary(C.Structure):
    """cm_eval_summary: one predictor's headline numbers (NaN where undefined)."""
    _fields_ = [("pixels", C.c_uint64), ("overall_accuracy", C.c_double), ("kappa", C.c_double),
                ("median_boa_cloud", C.c_double), ("median_boa_shadow", C.c_double),
                ("median_boa_valid", C.c_double), ("f_beta_cloud", C.c_double)]


class SelectOptions(C.Structure):
    """cm_select_options: measure, candidate tile, stride (-1 = tile), count, gap (-1 = one
    tile), least valid fraction; input_options (NULL = the defaults) reads the rasters."""
    _fields_ = [("measure", C.c_int32), ("tile", C.c_int32), ("stride", C.c_int32),
                ("count", C.c_int32), ("min_gap", C.c_int32), ("min_valid", C.c_double),
                ("input_options", C.POINTER(InputOptions))]


class CloudmaskError(Exception):
    """A failed library call: `status` is the cm_status, the message is the library's."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


_SIGNATURES = {
    "cm_version": ([], C.c_char_p),
    "cm_runtime_init": ([C.c_char_p], C.c_int32),
    "cm_last_error": ([C.c_char_p, C.c_size_t], C.c_size_t),
    "cm_last_error_code": ([], C.c_int32),
    "cm_list_models": ([C.c_char_p, C.c_size_t], C.c_size_t),
    "cm_model_options_default": ([C.POINTER(ModelOptions)], None),
    "cm_mask_options_default": ([C.POINTER(MaskOptions)], None),
    "cm_input_options_default": ([C.POINTER(InputOptions)], None),
    "cm_model_load": ([C.c_char_p, C.POINTER(ModelOptions), C.POINTER(C.c_void_p)], C.c_int32),
    "cm_model_free": ([C.c_void_p], None),
    "cm_model_get_info": ([C.c_void_p, C.POINTER(ModelInfo)], C.c_int32),
    "cm_model_band_name": ([C.c_void_p, C.c_size_t, C.c_char_p, C.c_size_t], C.c_int32),
    "cm_model_card": ([C.c_void_p, C.c_char_p, C.c_size_t], C.c_size_t),
    "cm_model_class_name": ([C.c_void_p, C.c_size_t, C.c_char_p, C.c_size_t], C.c_int32),
    "cm_model_class_code": ([C.c_void_p, C.c_size_t, C.POINTER(C.c_uint8)], C.c_int32),
    "cm_model_context": ([C.c_void_p, C.POINTER(MaskOptions), C.POINTER(C.c_size_t)], C.c_int32),
    "cm_mask_window": ([C.c_void_p, C.c_void_p, C.POINTER(C.c_int32), C.c_size_t,
                        C.POINTER(MaskOptions), C.c_int32, C.c_int32, C.c_int32, C.c_int32,
                        C.POINTER(C.c_uint8), C.c_size_t, C.POINTER(C.c_uint8), C.c_size_t],
                       C.c_int32),
    "cm_mask_buffer": ([C.c_void_p, C.POINTER(C.c_float), C.c_size_t, C.c_size_t, C.c_size_t,
                        C.POINTER(C.c_float), C.POINTER(MaskOptions), C.POINTER(C.c_uint8),
                        C.c_size_t, C.POINTER(C.c_uint8), C.c_size_t], C.c_int32),
    "cm_mask_chunk": ([C.c_void_p, C.POINTER(C.c_float), C.c_size_t, C.c_size_t, C.c_size_t,
                       C.POINTER(C.c_float), C.POINTER(Chunk), C.POINTER(MaskOptions),
                       C.POINTER(C.c_uint8), C.c_size_t, C.POINTER(C.c_uint8), C.c_size_t,
                       C.POINTER(C.c_float), C.c_size_t], C.c_int32),
    "cm_mask_dataset": ([C.c_void_p, C.c_char_p, C.c_char_p, C.c_char_p, C.POINTER(MaskOptions),
                         PROGRESS_FN, C.c_void_p], C.c_int32),
    "cm_mask_to_files": ([C.c_void_p, C.c_char_p, C.POINTER(OutputPaths), C.POINTER(C.c_int32),
                          C.c_size_t, C.POINTER(MaskOptions), PROGRESS_FN, C.c_void_p],
                         C.c_int32),
    "cm_mask_to_files_ex": ([C.c_void_p, C.c_char_p, C.POINTER(InputOptions),
                             C.POINTER(OutputPaths), C.POINTER(C.c_int32), C.c_size_t,
                             C.POINTER(MaskOptions), PROGRESS_FN, C.c_void_p], C.c_int32),
    "cm_write_virtual_mask": ([C.c_char_p, C.c_char_p, C.POINTER(ModelOptions),
                               C.POINTER(MaskOptions), C.c_char_p, C.c_char_p], C.c_int32),
    "cm_eval_options_default": ([C.POINTER(EvalOptions)], None),
    "cm_evaluate": ([C.c_char_p, C.POINTER(EvalPredictor), C.c_size_t, C.POINTER(EvalOptions),
                     C.POINTER(ModelOptions), C.c_char_p, PROGRESS_FN, C.c_void_p,
                     C.POINTER(EvalSummary), C.c_size_t], C.c_int32),
    "cm_select_options_default": ([C.POINTER(SelectOptions)], None),
    "cm_select_tiles": ([C.c_void_p, C.c_void_p, C.POINTER(C.c_char_p), C.c_size_t,
                         C.POINTER(SelectOptions), C.POINTER(MaskOptions), C.c_char_p,
                         C.c_char_p, PROGRESS_FN, C.c_void_p, C.POINTER(C.c_size_t)],
                        C.c_int32),
}


def library_candidates(setting=None):
    """(path, where it came from) in search order; paths may not exist."""
    out = []
    env = os.environ.get("CLOUDMASK_LIBRARY")
    if env:
        out.append((env, "$CLOUDMASK_LIBRARY"))
    if setting:
        out.append((setting, "QGIS setting cloudmask/library"))
    out.append((os.path.join(PLUGIN_DIR, "lib", "libcloudmask.so"), "the plugin folder"))
    out.append((os.path.join(REPO_DIR, "target", "release", "libcloudmask.so"),
                "the source checkout's target/release"))
    return out


def find_library(setting=None):
    """The first existing libcloudmask.so, or raise CloudmaskError saying where it looked."""
    candidates = library_candidates(setting)
    for path, why in candidates:
        if why.startswith(("$", "QGIS setting")) and not os.path.isfile(path):
            raise CloudmaskError(
                f"the cloudmask native library {path} (from {why}) does not exist: point it at "
                "libcloudmask.so, or unset it to use the library bundled with the plugin")
        if os.path.isfile(path):
            return os.path.abspath(path)
    looked = "; ".join(f"{p} ({why})" for p, why in candidates)
    raise CloudmaskError(
        "the cloudmask native library (libcloudmask.so) was not found. Looked at: " + looked +
        ". Install the plugin from the zip that `make qgis-plugin` builds (it bundles the "
        "library), or set CLOUDMASK_LIBRARY to the path of libcloudmask.so.")


def gdal_plugin_dir(library_path):
    """Folder holding gdal_cloudmask.so for this library, or None."""
    here = os.path.dirname(library_path)
    for d in (here, os.path.join(here, "gdalplugins")):
        if os.path.isfile(os.path.join(d, "gdal_cloudmask.so")):
            return d
    return None


def encoded(text):
    """Bytes for a char * argument; None or "" gives NULL."""
    return text.encode() if text else None


def progress_callback(progress, errors):
    """A PROGRESS_FN calling `progress(fraction, stage) -> bool` (None: always go on); a Python
    exception is kept in `errors` and cancels, so it never unwinds through C. Keep the returned
    object alive for the whole call."""
    def on_progress(fraction, stage, _user):
        if progress is None:
            return True
        try:
            return bool(progress(fraction, stage.decode("utf-8", "replace") if stage else ""))
        except Exception as e:
            errors.append(e)
            return False
    return PROGRESS_FN(on_progress)


class Library:
    """libcloudmask.so loaded through ctypes, with Python-friendly wrappers."""

    def __init__(self, path):
        self.path = path
        try:
            self.lib = C.CDLL(path)
        except OSError as e:
            raise CloudmaskError(f"the cloudmask native library {path} could not be loaded: {e}")
        for name, (args, res) in _SIGNATURES.items():
            fn = getattr(self.lib, name)
            fn.argtypes = args
            fn.restype = res
        self.version = self.lib.cm_version().decode()

    def last_error(self):
        size = self.lib.cm_last_error(None, 0)
        buf = C.create_string_buffer(size)
        self.lib.cm_last_error(buf, size)
        return buf.value.decode("utf-8", "replace")

    def check(self, status):
        if status != CM_OK:
            raise CloudmaskError(self.last_error() or f"cloudmask failed with status {status}",
                                 status)

    @staticmethod
    def _set(options, **values):
        """Sets the fields given (not None) of a struct the library filled with its defaults."""
        for name, value in values.items():
            if value is not None:
                setattr(options, name, value)
        return options

    def model_options(self, threads=None, device=None, ort_library=None, precision=None):
        o = ModelOptions()
        self.lib.cm_model_options_default(C.byref(o))
        return self._set(o, threads=threads, device=device,
                         ort_library=encoded(ort_library), precision=precision)

    def mask_options(self, tiling=None, buffer=None):
        o = MaskOptions()
        self.lib.cm_mask_options_default(C.byref(o))
        return self._set(o, tiling=tiling, buffer=buffer)

    def input_options(self, scaling=CM_SCALING_AUTO, quantification=None, dn_offset=0.0,
                      nodata=None, resolution=0.0):
        """cm_input_options from the library's defaults; `nodata` None keeps the raster's own."""
        o = InputOptions()
        self.lib.cm_input_options_default(C.byref(o))
        o.scaling = int(scaling)
        if quantification is not None:
            o.quantification = float(quantification)
        o.dn_offset = float(dn_offset)
        o.has_nodata = nodata is not None
        o.nodata = float(nodata) if nodata is not None else 0.0
        o.resolution = float(resolution)
        return o

    def list_models(self):
        """Names of the models the library can see (cm_list_models)."""
        size = self.lib.cm_list_models(None, 0)
        buf = C.create_string_buffer(size)
        self.lib.cm_list_models(buf, size)
        return [n for n in buf.value.decode("utf-8", "replace").split("\n") if n]

    def runtime_init(self, ort_library=None):
        self.check(self.lib.cm_runtime_init(encoded(ort_library)))

    def load_model(self, name_or_path, model_options):
        handle = C.c_void_p()
        self.check(self.lib.cm_model_load(name_or_path.encode(), C.byref(model_options),
                                          C.byref(handle)))
        return Model(self, handle)

    def write_virtual_mask(self, image, model, model_options, mask_options, outputs, vrt_path):
        self.check(self.lib.cm_write_virtual_mask(
            image.encode(), model.encode(), C.byref(model_options), C.byref(mask_options),
            outputs.encode(), vrt_path.encode()))

    def evaluate(self, reference, predictors, report_dir, reference_scheme=None, images=None,
                 beta=-1.0, model_options=None, progress=None, input_options=None):
        """Runs cm_evaluate. `predictors` is a list of (name, source, scheme) with source a
        raster, a folder or "model:NAME" and scheme None for cloudmask's codes; "model:"
        predictors read the images as `input_options` (an InputOptions, resolution 0; None =
        the defaults) says. Returns one EvalSummary per predictor; the reports are in
        `report_dir`. `progress(fraction, stage) -> bool` (False cancels)."""
        errors = []
        array = (EvalPredictor * len(predictors))(
            *[EvalPredictor(encoded(n), encoded(src), encoded(sch)) for n, src, sch in predictors])
        options = EvalOptions()
        self.lib.cm_eval_options_default(C.byref(options))
        options.reference_scheme = encoded(reference_scheme)
        options.images = encoded(images)
        options.beta = float(beta)
        if input_options is not None:
            options.input_options = C.pointer(input_options)  # kept alive by `options`
        summaries = (EvalSummary * len(predictors))()
        callback = progress_callback(progress, errors)
        status = self.lib.cm_evaluate(
            reference.encode(), array, len(predictors), C.byref(options),
            C.byref(model_options) if model_options is not None else None, report_dir.encode(),
            callback, None, summaries, len(predictors))
        if errors:
            raise errors[0]
        self.check(status)
        return list(summaries)

    def select_options(self, measure=None, tile=None, stride=None, count=None, min_gap=None,
                       min_valid=None, input_options=None):
        """cm_select_options from the library's defaults; `input_options` (an InputOptions,
        resolution 0; None = the defaults) says how the rasters are read."""
        o = SelectOptions()
        self.lib.cm_select_options_default(C.byref(o))
        if input_options is not None:
            o.input_options = C.pointer(input_options)  # kept alive by `o`
        return self._set(o, measure=measure, tile=tile, stride=stride, count=count,
                         min_gap=min_gap, min_valid=min_valid)

    def select_tiles(self, model, second_model, inputs, select_options, mask_options=None,
                     geojson=None, list_path=None, progress=None):
        """Runs cm_select_tiles on `inputs` (raster paths) with `model` (and `second_model`, a
        Model or None, for the disagreement measure); writes the GeoJSON and/or the CSV list.
        Returns the number of tiles written."""
        errors = []
        paths = (C.c_char_p * len(inputs))(*[p.encode() for p in inputs])
        selected = C.c_size_t(0)
        callback = progress_callback(progress, errors)
        status = self.lib.cm_select_tiles(
            model.handle, second_model.handle if second_model else None, paths, len(inputs),
            C.byref(select_options),
            C.byref(mask_options) if mask_options is not None else None,
            encoded(geojson), encoded(list_path),
            callback, None, C.byref(selected))
        if errors:
            raise errors[0]
        self.check(status)
        return selected.value

    def register_gdal_plugin(self):
        """Registers the CLOUDMASK GDAL driver and pixel function in this process (idempotent)."""
        fn = getattr(self.lib, "GDALRegister_cloudmask", None)
        if fn is None:
            raise CloudmaskError(f"{self.path} does not export GDALRegister_cloudmask")
        fn.argtypes = []
        fn.restype = None
        fn()


class Model:
    def __init__(self, library, handle):
        self.library = library
        self.handle = handle

    def close(self):
        if self.handle:
            self.library.lib.cm_model_free(self.handle)
            self.handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def info(self):
        """The model's cm_model_info: bands, classes, tile size."""
        info = ModelInfo()
        self.library.check(self.library.lib.cm_model_get_info(self.handle, C.byref(info)))
        return info

    def band_names(self):
        names = []
        for i in range(self.info().n_bands):
            buf = C.create_string_buffer(64)
            self.library.check(self.library.lib.cm_model_band_name(self.handle, i, buf, len(buf)))
            names.append(buf.value.decode())
        return names

    def mask_to_files(self, input_path, classes, valid, probabilities, bands, mask_options,
                      progress=None, input_options=None):
        """Runs cm_mask_to_files_ex. Paths may be None (skipped); `bands` is None (by name) or
        raster band numbers in the model's order; `input_options` None reads the input with the
        defaults. `progress(fraction, stage) -> bool` (False cancels)."""
        errors = []
        paths = OutputPaths(encoded(classes), encoded(valid), encoded(probabilities))
        numbers = (C.c_int32 * len(bands))(*bands) if bands else None
        callback = progress_callback(progress, errors)
        status = self.library.lib.cm_mask_to_files_ex(
            self.handle, input_path.encode(),
            C.byref(input_options) if input_options is not None else None, C.byref(paths),
            numbers, len(bands) if bands else 0, C.byref(mask_options), callback, None)
        if errors:
            raise errors[0]
        self.library.check(status)
