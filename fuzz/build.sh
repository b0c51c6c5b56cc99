#!/usr/bin/env bash
# Builds the fuzz targets the way `cargo fuzz build` does, without needing cargo-fuzz installed:
# nightly, release with debug assertions and overflow checks, libFuzzer's coverage
# instrumentation (SanitizerCoverage) and AddressSanitizer. The explicit --target keeps the
# instrumentation off build scripts and proc macros, as cargo-fuzz does.
# Usage: fuzz/build.sh [target...]   (no target: all of them). Binaries land in
# $CARGO_TARGET_DIR (default out/fuzz-target)/x86_64-unknown-linux-gnu/release/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo +nightly --version >/dev/null 2>&1 || {
  echo "fuzzing needs a nightly Rust toolchain: rustup toolchain install nightly"; exit 1; }
TRIPLE=${FUZZ_TRIPLE:-$(rustc +nightly -vV | sed -n 's/^host: //p')}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/out/fuzz-target}
export RUSTFLAGS="${RUSTFLAGS:-} -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks \
 -Zsanitizer=address -Cforce-frame-pointers"
bins=()
for t in "$@"; do bins+=(--bin "$t"); done
exec cargo +nightly build --release --locked --manifest-path fuzz/Cargo.toml --target "$TRIPLE" "${bins[@]}"
