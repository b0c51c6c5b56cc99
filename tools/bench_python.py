#!/usr/bin/env python3
"""mask_scenes on a dask.distributed LocalCluster against the CLI batch, in the same run.

16 scenes (512 x 512 crops of a mirrored mosaic of the sample scene, some flipped, so no two are
alike) are masked three ways, one after the other: one `cloudmask mask IN... --output-dir DIR`
process (its whole life timed: start, one model load, the scenes), then `mask_scenes` on a
cluster of 1 worker process, then on one of 2 worker processes. Cluster start-up is timed apart;
the `mask_scenes` figures include each worker's model load (its first scene), as the CLI's
include its own. CPU time (user + system: the CLI process's, the worker processes' during the
call) is given too: on a shared machine it moves less than wall time. The three ways take turns, --repeat times (3), and each figure is the median of
its runs, so a change in the machine's load during the run falls on all three alike. Every class
map must equal the CLI's. With --markdown FILE the table replaces
the section between `<!-- cloudmask-python-bench:start/end -->` in FILE (as `cloudmask bench
--markdown` does for its sections).

    .venv-python/bin/python tools/bench_python.py [--scenes 16] [--markdown docs/BENCHMARKS.md]
"""
import argparse
import datetime
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CLI = os.path.join(ROOT, "target", "release", "cloudmask")
SCENE = os.path.join(ROOT, "..", "shared", "data", "ukis-s2", "s2_6band.tif")
MARKER = "cloudmask-python-bench"


def reflect(n, m):
    i = np.arange(n) % (2 * m)
    return np.where(i < m, i, 2 * m - 1 - i)


def write_scenes(folder, count, size):
    from cloudmask import _gdal
    with _gdal.Raster.open(SCENE) as r:
        image = r.read()
        names = [r.band_description(b + 1) for b in range(image.shape[0])]
    side = 4 * size
    _, h, w = image.shape
    mosaic = image[:, reflect(side, h)][:, :, reflect(side, w)]
    paths = []
    for i in range(count):
        y, x = (97 * i) % (side - size), (389 * i) % (side - size)
        crop = mosaic[:, y:y + size, x:x + size]
        if i % 2:
            crop = crop[:, :, ::-1]
        path = os.path.join(folder, f"scene_{i:02d}.tif")
        _gdal.write_geotiff(path, np.ascontiguousarray(crop), band_names=names)
        paths.append(path)
    return paths


def cpu_seconds():
    """User + system CPU seconds of this process (run in each worker by client.run)."""
    import psutil
    t = psutil.Process().cpu_times()
    return t.user + t.system


def run_cli(scenes, out, threads):
    """Wall and CPU seconds of one CLI batch process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([CLI, "mask", *scenes, "--output-dir", out, "--threads", str(threads),
                    "--model", "ukis-6b-l1c"], check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def run_dask(scenes, out, workers, threads):
    import distributed
    import cloudmask.dask
    start = time.perf_counter()
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            client.wait_for_workers(workers)
            started = time.perf_counter() - start
            cpu = sum(client.run(cpu_seconds).values())
            t = time.perf_counter()
            summary = cloudmask.dask.mask_scenes(scenes, out, client=client,
                                                 model="ukis-6b-l1c", threads=threads)
            took = time.perf_counter() - t
            cpu = sum(client.run(cpu_seconds).values()) - cpu
    assert all(s["status"] == "ok" for s in summary), summary
    return took, cpu, started


def same(a_dir, b_dir, scenes):
    from cloudmask import _gdal
    for s in scenes:
        name = os.path.splitext(os.path.basename(s))[0] + "_mask.tif"
        with _gdal.Raster.open(os.path.join(a_dir, name)) as a, \
                _gdal.Raster.open(os.path.join(b_dir, name)) as b:
            if not np.array_equal(a.read(), b.read()):
                return False
    return True


def write_section(path, body):
    start, end = f"<!-- {MARKER}:start -->", f"<!-- {MARKER}:end -->"
    old = open(path).read() if os.path.exists(path) else ""
    section = f"{start}\n{body}{end}"
    s, e = old.find(start), old.find(end)
    new = old[:s] + section + old[e + len(end):] if 0 <= s < e else f"{old}\n{section}\n"
    with open(path, "w") as f:
        f.write(new)


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--markdown", help="file whose cloudmask-python-bench section to replace")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    where = machine()
    with tempfile.TemporaryDirectory(prefix="cloudmask-python-bench-") as tmp:
        scenes = write_scenes(tmp, args.scenes, args.size)
        runs = {"cli": [], "one": [], "two": []}
        cpus = {"cli": [], "one": [], "two": []}
        identical = True
        for r in range(args.repeat):
            cli_out, one_out, two_out = (os.path.join(tmp, f"{d}{r}") for d in ("cli", "w1", "w2"))
            wall, cpu = run_cli(scenes, cli_out, cores)
            runs["cli"].append(wall)
            cpus["cli"].append(cpu)
            one, cpu, one_start = run_dask(scenes, one_out, 1, cores)
            runs["one"].append(one)
            cpus["one"].append(cpu)
            two, cpu, two_start = run_dask(scenes, two_out, 2, max(1, cores // 2))
            runs["two"].append(two)
            cpus["two"].append(cpu)
            print(f"round {r + 1}: CLI {runs['cli'][-1]:.1f} s, 1 worker {one:.1f} s, "
                  f"2 workers {two:.1f} s; CPU {cpus['cli'][-1]:.1f}, {cpus['one'][-1]:.1f}, "
                  f"{cpu:.1f} s", flush=True)
            identical &= same(cli_out, one_out, scenes) and same(cli_out, two_out, scenes)
    cli, one, two = (statistics.median(runs[k]) for k in ("cli", "one", "two"))
    each = {k: ", ".join(f"{t:.1f}" for t in v) for k, v in runs.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    overhead = one / cli - 1
    body = (
        f"Measured {datetime.date.today()} by `make bench-python` (tools/bench_python.py) on {where}.\n\n"
        f"| {args.scenes} scenes of {args.size} x {args.size}, 6 bands, ukis-6b-l1c | wall time, median (each run) | "
        "against the CLI batch | CPU time, median | class maps |\n|---|---|---|---|---|\n"
        f"| one `cloudmask mask IN... --output-dir DIR`, `--threads {cores}` | {cli:.1f} s ({each['cli']}) | 1.00 | {cpu['cli']:.1f} s | reference |\n"
        f"| `mask_scenes`, 1 worker process x 1 Dask thread, {cores} ONNX Runtime threads | {one:.1f} s ({each['one']}) | "
        f"{one / cli:.2f} (Dask overhead **{overhead * 100:+.1f} %**) | {cpu['one']:.1f} s ({(cpu['one'] / cpu['cli'] - 1) * 100:+.1f} %) | {'identical' if identical else 'DIFFERENT'} |\n"
        f"| `mask_scenes`, 2 worker processes x 1 Dask thread, {max(1, cores // 2)} ONNX Runtime thread(s) each | {two:.1f} s ({each['two']}) | "
        f"{two / cli:.2f} (1 → 2 workers: **{one / two:.2f}x**) | {cpu['two']:.1f} s | {'identical' if identical else 'DIFFERENT'} |\n\n"
        f"{args.repeat} rounds. Cluster start-up, not in the figures: {one_start:.1f} s (1 worker), "
        f"{two_start:.1f} s (2 workers), last round.\n")
    print(body)
    if args.markdown:
        write_section(args.markdown, body)
        print(f"wrote the {MARKER} section of {args.markdown}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
