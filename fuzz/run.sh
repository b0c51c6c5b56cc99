#!/usr/bin/env bash
# Runs fuzz targets built by fuzz/build.sh from the committed corpus, each for a bounded time.
# Usage: fuzz/run.sh SECONDS [target...]   (no target: all five, one after the other).
# New inputs the fuzzer finds go to out/fuzz-corpus/<target>/ (the committed fuzz/corpus/ is
# only read); a crash is written to out/fuzz-artifacts/<target>/ and fails the run (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz/run.sh SECONDS [target...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(card ukis_sidecar onnx descriptor split_config)
TRIPLE=${FUZZ_TRIPLE:-$(rustc +nightly -vV | sed -n 's/^host: //p')}
bin_dir=${CARGO_TARGET_DIR:-$PWD/out/fuzz-target}/$TRIPLE/release
# The library's globals (ONNX Runtime, GDAL) are never loaded by these targets; leaks would be
# the parsers' own.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
# The descriptor target writes its file form once per input: in memory (/dev/shm) that is ten
# times faster than on disk. One folder for this run, removed at the end.
tmp_root=/dev/shm
[ -d "$tmp_root" ] && [ -w "$tmp_root" ] || tmp_root=${TMPDIR:-/tmp}
TMPDIR=$(mktemp -d "$tmp_root/cloudmask-fuzz.XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
for t in "${targets[@]}"; do
  [ -f "fuzz/fuzz_targets/$t.rs" ] || { echo "no fuzz target '$t' (fuzz/fuzz_targets/)"; exit 2; }
  [ -x "$bin_dir/$t" ] || { echo "$bin_dir/$t missing: run fuzz/build.sh first"; exit 2; }
  mkdir -p "out/fuzz-corpus/$t" "out/fuzz-artifacts/$t"
  dict=()
  case $t in card|ukis_sidecar) dict=(-dict=fuzz/dict/card.dict) ;; esac
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  echo "fuzzing $t for ${seconds}s"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: one taking 2 GiB is a failure.
  "$bin_dir/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="out/fuzz-artifacts/$t/" "${dict[@]}" \
    "out/fuzz-corpus/$t" "fuzz/corpus/$t" 2>"out/fuzz-artifacts/$t/log.txt" \
    || { tail -40 "out/fuzz-artifacts/$t/log.txt"; echo "fuzz target $t failed: see out/fuzz-artifacts/$t/"; exit 1; }
  grep -E '^stat::(number_of_executed_units|new_units_added)|^Done' "out/fuzz-artifacts/$t/log.txt" | tr '\n' ' '
  echo
done
