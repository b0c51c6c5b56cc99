#!/usr/bin/env python3
"""Run the ukis-csmask 1.0.0 reference on an image and record time, memory and result.

Usage (with the python of a venv that has ukis-csmask and onnxruntime, no GDAL needed):
    /tmp/refvenv/bin/python tools/ukis_reference.py --image IN.npy|IN.tif \
        --model 6b_l1c|6b_l2a|4b_l1c|4b_l2a --threads N --out OUT.npy [--json]
        [--inter-threads 1] [--band-order blue,green,red,nir,swir16,swir22]

--image  a (rows, cols, bands) float32 .npy (make one with tools/tif_to_npy.py under a
         python that has GDAL), or a GeoTIFF if the `tifffile` package is importable.
         Values are TOA reflectance 0..1.
--model  6b_* feeds the blue, green, red, nir, swir16, swir22 bands; 4b_* feeds only
         blue, green, red, nir (the first four bands in the default band order).
         l1c / l2a selects ukis-csmask's product_level.
--threads  ORT intra_op_num_threads; inter_op_num_threads is --inter-threads (default 1).

ukis-csmask is called with its defaults otherwise: nodata_value=None, invalid_buffer=4,
batch_size=1, providers=None (what onnxruntime offers; CPU here).

Timing: ukis-csmask does all of its work inside the CSmask(...) constructor, including
creating the ORT InferenceSession (loading the ~40 MB model), normalising, tiling,
inference, blending and the valid mask. "seconds" is the wall time of that constructor
call, so it INCLUDES ORT session creation; imports and the image load are excluded.
"session_seconds" is a separate, later measurement of creating one InferenceSession with
the same options, to show how much of "seconds" that part is.
"peak_rss_mb" is the process's ru_maxrss (whole process: interpreter, libraries, the loaded
input image and everything ukis allocates), taken right after the constructor returns;
"rss_before_mb" is the peak reached before the call (mostly imports + loaded image).

Output: OUT.npy, uint8 array of shape (2, rows, cols): [0] class (0 clear, 1 cloud,
2 cloud shadow), [1] valid (1 valid, 0 invalid). The last stdout line is a JSON object;
with --json nothing else is printed to stdout.
"""
import argparse
import json
import os
import resource
import sys
import time
import warnings

import numpy as np

DEFAULT_BANDS = "blue,green,red,nir,swir16,swir22"
MODELS = {
    "6b_l1c": (("blue", "green", "red", "nir", "swir16", "swir22"), "l1c"),
    "6b_l2a": (("blue", "green", "red", "nir", "swir16", "swir22"), "l2a"),
    "4b_l1c": (("blue", "green", "red", "nir"), "l1c"),
    "4b_l2a": (("blue", "green", "red", "nir"), "l2a"),
}


def max_rss_mb():
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_image(path):
    lower = path.lower()
    if lower.endswith(".npy"):
        img = np.load(path)
    elif lower.endswith((".tif", ".tiff")):
        try:
            import tifffile
        except ImportError:
            sys.exit("error: reading .tif needs the 'tifffile' package, which this python lacks; "
                     "convert first with: /usr/bin/python3 tools/tif_to_npy.py IN.tif IN.npy")
        img = tifffile.imread(path)
        # tifffile gives (rows, cols, bands) for pixel-interleaved files and
        # (bands, rows, cols) for band-separate ones; bands are few.
        if img.ndim == 3 and img.shape[0] < img.shape[2] and img.shape[0] <= 32:
            img = np.moveaxis(img, 0, -1)
    else:
        sys.exit(f"error: --image must be .npy or .tif, got {path}")
    if img.ndim != 3:
        sys.exit(f"error: expected a (rows, cols, bands) image, got shape {img.shape}")
    return np.ascontiguousarray(img, dtype=np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser(description="ukis-csmask 1.0.0 reference run with timing.")
    ap.add_argument("--image", required=True)
    ap.add_argument("--model", required=True, choices=sorted(MODELS))
    ap.add_argument("--threads", type=int, default=1, help="ORT intra_op_num_threads")
    ap.add_argument("--inter-threads", type=int, default=1, help="ORT inter_op_num_threads")
    ap.add_argument("--band-order", default=DEFAULT_BANDS,
                    help=f"names of the image bands in file order (default {DEFAULT_BANDS})")
    ap.add_argument("--out", required=True, help="output .npy, uint8 (2, rows, cols)")
    ap.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    a = ap.parse_args(argv)

    import onnxruntime
    import ukis_csmask
    from ukis_csmask.mask import CSmask

    def say(msg):
        if not a.json:
            print(msg)

    img = load_image(a.image)
    names = [b.strip().lower() for b in a.band_order.split(",")]
    if len(names) != img.shape[2]:
        sys.exit(f"error: --band-order names {len(names)} bands, image has {img.shape[2]}")
    want, level = MODELS[a.model]
    missing = [b for b in want if b not in names]
    if missing:
        sys.exit(f"error: model {a.model} needs bands {missing} not in --band-order")
    idx = [names.index(b) for b in want]
    # Hand ukis exactly the bands the model uses, so its own model choice (6b when all
    # six are present, else 4b) matches --model.
    sub = img if idx == list(range(img.shape[2])) else np.ascontiguousarray(img[:, :, idx])
    if sub is not img:
        del img
    h, w = sub.shape[:2]
    say(f"image {a.image}: {h}x{w}, feeding bands {list(want)}; ukis-csmask {ukis_csmask.__version__}, "
        f"onnxruntime {onnxruntime.__version__}")

    rss_before = max_rss_mb()
    with warnings.catch_warnings():
        if a.json:
            warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        cs = CSmask(
            img=sub,
            band_order=list(want),
            product_level=level,
            nodata_value=None,
            invalid_buffer=4,
            intra_op_num_threads=a.threads,
            inter_op_num_threads=a.inter_threads,
        )
        seconds = time.perf_counter() - t0
    peak = max_rss_mb()

    model_used = os.path.splitext(os.path.basename(cs.model_file))[0]
    if model_used != "model_" + a.model:
        sys.exit(f"error: ukis-csmask picked {model_used}, expected model_{a.model}")

    out = np.empty((2, h, w), dtype=np.uint8)
    out[0] = cs.csm[:, :, 0]
    out[1] = cs.valid[:, :, 0]
    np.save(a.out, out)
    counts = np.bincount(out[0].ravel(), minlength=3).tolist()
    valid_count = int(np.count_nonzero(out[1]))
    session = cs.session
    del cs, session

    # Separate measurement of ORT session creation alone (same options), after the run.
    so = onnxruntime.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = a.inter_threads
    model_path = os.path.join(os.path.dirname(ukis_csmask.__file__), f"model_{a.model}.onnx")
    t1 = time.perf_counter()
    onnxruntime.InferenceSession(model_path, sess_options=so,
                                 providers=onnxruntime.get_available_providers())
    session_seconds = time.perf_counter() - t1

    result = {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak, 1),
        "height": h,
        "width": w,
        "model": a.model,
        "threads": a.threads,
        "inter_threads": a.inter_threads,
        "class_counts": counts,
        "valid_count": valid_count,
        "rss_before_mb": round(rss_before, 1),
        "session_seconds": round(session_seconds, 3),
        "seconds_include_session": True,
        "model_version": None,
        "out": a.out,
    }
    try:
        with open(os.path.splitext(model_path)[0] + ".json") as f:
            result["model_version"] = json.load(f)["model"]["version"]
    except (OSError, KeyError, ValueError):
        pass
    say(f"saved {a.out} (2, {h}, {w}) uint8: class, valid")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
