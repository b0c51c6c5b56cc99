#!/usr/bin/env bash
# The Debian package as a user meets it (make test-deb, docs/packaging.md): lintian, then
# install, use with no variable set and no project venv on PATH, and purge, checking that
# nothing is left. Installs system-wide (root or sudo, like `make deps`): other GDAL programs
# on this machine auto-load the plugin while it is installed, so the installed window is kept
# short and the package is always purged, also when a check fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
DEB=$ROOT/dist/cloudmask_${VERSION}_amd64.deb
SCENE=$ROOT/../shared/data/ukis-s2/s2_6band.tif
MULTIARCH=/usr/lib/x86_64-linux-gnu
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }
step() { echo "test-deb: $*"; }

QGIS_ZIP=$ROOT/dist/cloudmask-qgis.zip
[ -f "$DEB" ] || fail "$DEB missing: make deb builds it"
[ -f "$QGIS_ZIP" ] || fail "$QGIS_ZIP missing: make qgis-plugin builds it"
[ -f "$SCENE" ] || fail "sample scene $SCENE missing (../shared/data beside the checkout)"
command -v lintian >/dev/null || fail "lintian missing: make deb-deps installs it"
# Never take over (and then purge) a cloudmask the developer installed.
if dpkg -s cloudmask >/dev/null 2>&1; then
  fail "the cloudmask package is installed already: dpkg --purge cloudmask first (this test installs and removes it)"
fi
[ ! -e /usr/bin/cloudmask ] || fail "/usr/bin/cloudmask exists outside the package: remove it first"

step "lintian"
report=$(lintian --info --show-overrides "$DEB" 2>&1 | grep -v '^running with root privileges' || true)
echo "$report" | grep -E '^[EWO]:' || true
if echo "$report" | grep -q '^E:'; then fail "lintian reports errors (above)"; fi

WORK=$(mktemp -d /tmp/cloudmask-deb-check.XXXXXX)
installed=0
cleanup() {
  local rc=$?
  if [ "$installed" = 1 ]; then $SUDO dpkg --purge cloudmask >/dev/null || rc=1; fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM
mkdir -p "$WORK/home"
# A user's shell: nothing of this checkout or its venvs, no cloudmask or GDAL variable.
user() { env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"; }
# The C example, built before installing so the window stays short: header and pkg-config file
# come from the package, so it is compiled once the package is in.

step "dpkg -i $(basename "$DEB")"
installed=1
$SUDO dpkg -i "$DEB" >/dev/null
dpkg -L cloudmask > "$WORK/files"

step "gdalinfo --formats lists CLOUDMASK"
user gdalinfo --formats | grep -E '^ *CLOUDMASK -raster-' || fail "gdalinfo --formats has no CLOUDMASK driver"

step "cloudmask doctor: the package's ONNX Runtime and the four models"
user cloudmask doctor > "$WORK/doctor.txt" || { cat "$WORK/doctor.txt"; fail "cloudmask doctor failed"; }
grep -qx "ONNX Runtime resolved to $MULTIARCH/cloudmask/libonnxruntime.so.1.31.1" "$WORK/doctor.txt" \
  || { cat "$WORK/doctor.txt"; fail "doctor did not resolve the package's ONNX Runtime"; }
grep -qx "models: ukis-4b-l1c, ukis-4b-l2a, ukis-6b-l1c, ukis-6b-l2a" "$WORK/doctor.txt" \
  || { cat "$WORK/doctor.txt"; fail "doctor does not list the four models"; }
[ "$(user cloudmask models | grep -c ' /usr/share/cloudmask/models/ukis_csmask/model_.*\.onnx$')" = 4 ] \
  || fail "cloudmask models does not list the four packaged files"

step "cloudmask mask, and gdal_translate of the virtual mask from cloudmask vrt"
user cloudmask mask "$SCENE" -o "$WORK/mask.tif" -q
user cloudmask vrt "$SCENE" -o "$WORK/mask.vrt"
user gdal_translate -q "$WORK/mask.vrt" "$WORK/virtual.tif"

step "the C example, compiled with pkg-config --cflags --libs cloudmask"
# shellcheck disable=SC2046 # pkg-config's flags are words
user cc -std=c99 -Wall -Wextra -Werror examples/mask_window.c $(user pkg-config --cflags --libs cloudmask) \
  -o "$WORK/mask_window"
user "$WORK/mask_window" "$SCENE" "$WORK/c.tif" > "$WORK/c.txt" || { cat "$WORK/c.txt"; fail "the C example failed"; }

# The QGIS plugin's bundled library (from the zip) takes the package's runtime and models before
# anything else, as in QGIS (its binding, native.py, needs no QGIS).
step "the QGIS plugin's library finds the package's ONNX Runtime and models"
mkdir "$WORK/qgis" && /usr/bin/python3 -m zipfile -e "$QGIS_ZIP" "$WORK/qgis"
user /usr/bin/python3 - "$WORK/qgis" "$MULTIARCH/cloudmask/libonnxruntime.so.1.31.1" <<'PY' || fail "the QGIS plugin's library did not use the package's runtime"
import os, sys
sys.path.insert(0, sys.argv[1])
from cloudmask_qgis import native
lib = native.Library(os.path.join(sys.argv[1], "cloudmask_qgis", "lib", "libcloudmask.so"))
lib.runtime_init(None)
mapped = {line.split(None, 5)[-1].strip() for line in open("/proc/self/maps")}
ort = [p for p in mapped if os.path.basename(p).startswith("libonnxruntime.so")]
assert ort == [sys.argv[2]], ort
assert lib.list_models() == ["ukis-4b-l1c", "ukis-4b-l2a", "ukis-6b-l1c", "ukis-6b-l2a"], lib.list_models()
PY

# A checkout's plugin beside the installed one (a developer who keeps the package): both load,
# the first on GDAL_DRIVER_PATH registers, the other steps aside; the pixels are the same.
step "a checkout's plugin first on GDAL_DRIVER_PATH, the package's after it"
mkdir "$WORK/plugins" && cp target/release/libcloudmask.so "$WORK/plugins/gdal_cloudmask.so"
user GDAL_DRIVER_PATH="$WORK/plugins:$MULTIARCH/gdalplugins" CPL_DEBUG=ON \
  gdal_translate -q "$WORK/mask.vrt" "$WORK/both.tif" 2> "$WORK/both.log"
for plugin in "$WORK/plugins" "$MULTIARCH/gdalplugins"; do
  grep -q "Auto register $plugin/gdal_cloudmask.so" "$WORK/both.log" \
    || { cat "$WORK/both.log"; fail "GDAL did not load $plugin/gdal_cloudmask.so"; }
done

# Read before the purge (python3-gdal loads the installed plugin too; it does not matter here).
compare() {
  /usr/bin/python3 - "$@" <<'PY'
import sys
import numpy as np
from osgeo import gdal
ref = gdal.Open(sys.argv[1]).ReadAsArray()
counts = {int(v): int(n) for v, n in zip(*np.unique(ref, return_counts=True))}
assert counts.get(1, 0) > 0 and counts.get(2, 0) > 0, f"no clear or no cloud pixels: {counts}"
for other in sys.argv[2:]:
    got = gdal.Open(other).ReadAsArray()
    assert got.shape == ref.shape, f"{other}: shape {got.shape}, want {ref.shape}"
    differ = int((got != ref).sum())
    assert differ == 0, f"{other}: {differ} pixels differ from {sys.argv[1]}"
print(f"equal: {len(sys.argv) - 2} rasters, class counts {counts}")
PY
}
step "pixels: virtual mask, C example and both plugins equal cloudmask mask"
compare "$WORK/mask.tif" "$WORK/virtual.tif" "$WORK/c.tif" "$WORK/both.tif"

step "dpkg --purge cloudmask"
installed=0
$SUDO dpkg --purge cloudmask >/dev/null
left=0
while IFS= read -r path; do
  [ "$path" = /. ] && continue
  if [ -e "$path" ] || [ -L "$path" ]; then
    # Folders other packages own (/usr/bin, GDAL's plugin folder) stay, rightly.
    dpkg -S "$path" >/dev/null 2>&1 || { echo "left behind: $path" >&2; left=1; }
  fi
done < "$WORK/files"
[ "$left" = 0 ] || fail "files of the package are left after dpkg --purge"
! ldconfig -p | grep -q libcloudmask || fail "ldconfig still lists libcloudmask"
! gdalinfo --formats | grep -q CLOUDMASK || fail "gdalinfo still lists CLOUDMASK after the purge"
step "ok: $(wc -l < "$WORK/files") paths installed and removed"
