#!/usr/bin/env python3
"""The cloudmask C API from Python through ctypes: no numpy, no GDAL bindings.

Masks a whole raster into a class-map GeoTIFF with a Python progress callback, then a small
synthetic buffer held in memory (reflectance 0.9 in every band, as bright as thick cloud), and
checks that the buffer comes out mostly cloud. Exit status 0 on success.

Run from the crate root after `cargo build` (works with /usr/bin/python3 or the .venv's python):

    python3 examples/mask_window.py [INPUT] [OUTPUT] [--lib target/debug/libcloudmask.so]

ONNX Runtime and the ukis-csmask models are found as the library finds them (the project's .venv
when run from the crate root, or $CLOUDMASK_ORT_LIB).
"""
import argparse
import ctypes as C
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# Values from include/cloudmask.h.
CM_OK = 0
CM_ERROR_MODEL = 4
CLASS_NAMES = ["nodata", "clear", "cloud", "thin cloud", "cloud shadow"]
CM_CLASS_CLOUD = 2


class ModelOptions(C.Structure):
    _fields_ = [("threads", C.c_int32), ("device", C.c_int32), ("ort_library", C.c_char_p)]


class ModelInfo(C.Structure):
    _fields_ = [("n_bands", C.c_size_t), ("n_classes", C.c_size_t),
                ("tile_size", C.c_size_t), ("size_multiple", C.c_size_t)]


class MaskOptions(C.Structure):
    _fields_ = [("tiling", C.c_int32), ("batch", C.c_int32),
                ("buffer", C.c_int32), ("tile", C.c_int32), ("overlap", C.c_double)]


PROGRESS_FN = C.CFUNCTYPE(C.c_bool, C.c_double, C.c_char_p, C.c_void_p)


def load_library(path):
    lib = C.CDLL(path)
    u8p = C.POINTER(C.c_uint8)
    signatures = {
        "cm_version": ([], C.c_char_p),
        "cm_last_error": ([C.c_char_p, C.c_size_t], C.c_size_t),
        "cm_last_error_code": ([], C.c_int32),
        "cm_model_options_default": ([C.POINTER(ModelOptions)], None),
        "cm_mask_options_default": ([C.POINTER(MaskOptions)], None),
        "cm_model_load": ([C.c_char_p, C.POINTER(ModelOptions), C.POINTER(C.c_void_p)], C.c_int32),
        "cm_model_free": ([C.c_void_p], None),
        "cm_model_get_info": ([C.c_void_p, C.POINTER(ModelInfo)], C.c_int32),
        "cm_model_band_name": ([C.c_void_p, C.c_size_t, C.c_char_p, C.c_size_t], C.c_int32),
        "cm_mask_buffer": ([C.c_void_p, C.POINTER(C.c_float), C.c_size_t, C.c_size_t, C.c_size_t,
                            C.POINTER(C.c_float), C.POINTER(MaskOptions),
                            u8p, C.c_size_t, u8p, C.c_size_t], C.c_int32),
        "cm_mask_dataset": ([C.c_void_p, C.c_char_p, C.c_char_p, C.c_char_p,
                             C.POINTER(MaskOptions), PROGRESS_FN, C.c_void_p], C.c_int32),
    }
    for name, (args, res) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res
    return lib


class CloudmaskError(Exception):
    pass


def last_error(lib):
    """This thread's last error message: ask for the size, then copy."""
    size = lib.cm_last_error(None, 0)
    buf = C.create_string_buffer(size)
    lib.cm_last_error(buf, size)
    return buf.value.decode("utf-8", "replace")


def check(lib, status, call):
    if status != CM_OK:
        raise CloudmaskError(f"{call} failed (status {status}): {last_error(lib)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", nargs="?",
                    default=os.path.join(ROOT, "..", "shared", "data", "ukis-s2", "s2_6band.tif"))
    ap.add_argument("output", nargs="?", help="class map to write (default: a temporary folder)")
    ap.add_argument("--lib", default=os.environ.get(
        "CLOUDMASK_LIB", os.path.join(ROOT, "target", "debug", "libcloudmask.so")))
    args = ap.parse_args(argv)

    lib = load_library(args.lib)
    print(f"cloudmask {lib.cm_version().decode()} via {args.lib}")

    # Errors come back as a status and a message; outputs are untouched.
    model = C.c_void_p()
    status = lib.cm_model_load(b"no-such-model", None, C.byref(model))
    if status != CM_ERROR_MODEL or model.value is not None:
        raise CloudmaskError(f"an unknown model gave status {status}, expected {CM_ERROR_MODEL}")
    print(f"unknown model, as expected: {last_error(lib)}")

    model_options = ModelOptions()
    lib.cm_model_options_default(C.byref(model_options))
    check(lib, lib.cm_model_load(b"ukis-6b-l1c", C.byref(model_options), C.byref(model)),
          "cm_model_load")
    try:
        info = ModelInfo()
        check(lib, lib.cm_model_get_info(model, C.byref(info)), "cm_model_get_info")
        names = []
        for i in range(info.n_bands):
            buf = C.create_string_buffer(64)
            check(lib, lib.cm_model_band_name(model, i, buf, len(buf)), "cm_model_band_name")
            names.append(buf.value.decode())
        print(f"model ukis-6b-l1c: bands {', '.join(names)}; {info.n_classes} classes")

        options = MaskOptions()
        lib.cm_mask_options_default(C.byref(options))
        with tempfile.TemporaryDirectory(prefix="cloudmask-example-") as tmp:
            output = args.output or os.path.join(tmp, "classes.tif")
            mask_file(lib, model, options, args.input, output)
        mask_bright_buffer(lib, model, options, info.n_bands)
    finally:
        lib.cm_model_free(model)
    return 0


def mask_file(lib, model, options, input_path, output):
    stages = []

    def on_progress(fraction, stage, _user_data):
        stage = stage.decode()
        if not stages or stages[-1] != stage:
            stages.append(stage)
        print(f"  progress {fraction * 100:5.1f}% ({stage})")
        return True  # False would cancel

    callback = PROGRESS_FN(on_progress)  # kept alive for the whole call
    check(lib, lib.cm_mask_dataset(model, input_path.encode(), output.encode(), None,
                                   C.byref(options), callback, None), "cm_mask_dataset")
    if not os.path.isfile(output) or "masking" not in stages:
        raise CloudmaskError(f"cm_mask_dataset succeeded but {output} or its progress is missing")
    print(f"wrote {output} ({os.path.getsize(output)} bytes), stages: {', '.join(stages)}")


def mask_bright_buffer(lib, model, options, n_bands, size=64):
    """A uniformly bright scene (reflectance 0.9 in every band) must come out mostly cloud."""
    n = size * size
    bands = (C.c_float * (n_bands * n))(*([0.9] * (n_bands * n)))
    classes = (C.c_uint8 * n)()
    valid = (C.c_uint8 * n)()
    check(lib, lib.cm_mask_buffer(model, bands, n_bands, size, size, None, C.byref(options),
                                  classes, n, valid, n), "cm_mask_buffer")
    counts = [0] * len(CLASS_NAMES)
    for c in classes:
        counts[c] += 1
    summary = ", ".join(f"{name}={count}" for name, count in zip(CLASS_NAMES, counts))
    print(f"bright {size}x{size} buffer: {summary}; valid={sum(valid)}")
    if counts[CM_CLASS_CLOUD] * 2 <= n:
        raise CloudmaskError(f"a bright buffer should be mostly cloud: {summary}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (CloudmaskError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
