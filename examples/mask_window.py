#!/usr/bin/env python3
"""The cloudmask C API from Python through ctypes: no numpy, no GDAL bindings.

The declarations come from the QGIS plugin's binding, qgis-plugin/cloudmask_qgis/native.py, which
imports no QGIS; the calls it does not wrap (cm_mask_dataset, cm_mask_buffer) go through its
ctypes library `lib.lib` directly, with the signatures it declares. (The `cloudmask` Python
package, python/, wraps all of this with numpy: docs/python.md.)

Masks a whole raster into a class-map GeoTIFF with a Python progress callback, then a small
synthetic buffer held in memory (reflectance 0.9 in every band, as bright as thick cloud), and
checks that the buffer comes out mostly cloud. Exit status 0 on success.

Run from the crate root after `cargo build` (works with /usr/bin/python3 or the .venv's python):

    python3 examples/mask_window.py [INPUT] [OUTPUT] [--lib target/debug/libcloudmask.so]

ONNX Runtime and the ukis-csmask models are found as the library finds them (the project's .venv
above target/<profile>/libcloudmask.so, or $CLOUDMASK_ORT_LIB; `cloudmask doctor` lists the places).
"""
import argparse
import ctypes as C
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The plugin's ctypes binding of the C API (it imports no QGIS); tests/bindings.rs checks its
# constants, structs and signatures against include/cloudmask.h.
sys.path.insert(0, os.path.join(ROOT, "qgis-plugin"))
from cloudmask_qgis import native  # noqa: E402

CLASS_NAMES = [name for _, name, _ in native.CLASSES]
CloudmaskError = native.CloudmaskError


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", nargs="?",
                    default=os.path.join(ROOT, "..", "shared", "data", "ukis-s2", "s2_6band.tif"))
    ap.add_argument("output", nargs="?", help="class map to write (default: a temporary folder)")
    ap.add_argument("--lib", default=os.environ.get(
        "CLOUDMASK_LIB", os.path.join(ROOT, "target", "debug", "libcloudmask.so")))
    args = ap.parse_args(argv)

    lib = native.Library(args.lib)
    print(f"cloudmask {lib.version} via {args.lib}")

    # Errors come back as a status and a message; outputs are untouched.
    model = C.c_void_p()
    status = lib.lib.cm_model_load(b"no-such-model", None, C.byref(model))
    if status != native.CM_ERROR_MODEL or model.value is not None:
        raise CloudmaskError(
            f"an unknown model gave status {status}, expected {native.CM_ERROR_MODEL}")
    print(f"unknown model, as expected: {lib.last_error()}")

    with lib.load_model("ukis-6b-l1c", lib.model_options()) as model:
        names = model.band_names()
        print(f"model ukis-6b-l1c: bands {', '.join(names)}; {model.info().n_classes} classes")
        options = lib.mask_options()
        with tempfile.TemporaryDirectory(prefix="cloudmask-example-") as tmp:
            output = args.output or os.path.join(tmp, "classes.tif")
            mask_file(lib, model, options, args.input, output)
        mask_bright_buffer(lib, model, options, len(names))
    return 0


def mask_file(lib, model, options, input_path, output):
    stages = []

    def on_progress(fraction, stage, _user_data):
        stage = stage.decode()
        if not stages or stages[-1] != stage:
            stages.append(stage)
        print(f"  progress {fraction * 100:5.1f}% ({stage})")
        return True  # False would cancel

    callback = native.PROGRESS_FN(on_progress)  # kept alive for the whole call
    lib.check(lib.lib.cm_mask_dataset(model.handle, input_path.encode(), output.encode(), None,
                                      C.byref(options), callback, None))
    if not os.path.isfile(output) or "masking" not in stages:
        raise CloudmaskError(f"cm_mask_dataset succeeded but {output} or its progress is missing")
    print(f"wrote {output} ({os.path.getsize(output)} bytes), stages: {', '.join(stages)}")


def mask_bright_buffer(lib, model, options, n_bands, size=64):
    """A uniformly bright scene (reflectance 0.9 in every band) must come out mostly cloud."""
    n = size * size
    bands = (C.c_float * (n_bands * n))(*([0.9] * (n_bands * n)))
    classes = (C.c_uint8 * n)()
    valid = (C.c_uint8 * n)()
    lib.check(lib.lib.cm_mask_buffer(model.handle, bands, n_bands, size, size, None,
                                     C.byref(options), classes, n, valid, n))
    counts = [0] * len(CLASS_NAMES)
    for c in classes:
        counts[c] += 1
    summary = ", ".join(f"{name}={count}" for name, count in zip(CLASS_NAMES, counts))
    print(f"bright {size}x{size} buffer: {summary}; valid={sum(valid)}")
    if counts[native.CM_CLASS_CLOUD] * 2 <= n:
        raise CloudmaskError(f"a bright buffer should be mostly cloud: {summary}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (CloudmaskError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
