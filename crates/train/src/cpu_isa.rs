//! `--cpu-isa`: which instruction set libtorch computes with on the CPU.
//!
//! libtorch picks its kernels from the CPU it runs on: ATen's vectorised kernels (AVX2 or
//! AVX-512), oneDNN's convolutions (JIT code for the widest ISA) and MKL's matrix products
//! (a code path per ISA and vendor). Each sums in a different order, so the same seed trains a
//! different network on an AVX-512 machine than on an AVX2 one, and a comparison of methods
//! that is decided by a few hundredths can flip. Pinning sets the three libraries' own
//! environment variables before libtorch first computes (each reads its variable once, on its
//! first use), so every x86-64 machine with AVX2 runs the same code paths:
//!
//! | `--cpu-isa` | `ATEN_CPU_CAPABILITY` | `ONEDNN_MAX_CPU_ISA` | `MKL_CBWR` |
//! |---|---|---|---|
//! | `avx2` | `avx2` | `AVX2` | `COMPATIBLE` |
//! | `baseline` | `default` | `SSE41` | `COMPATIBLE` |
//! | `native` | (left as the environment has it) | | |
//!
//! MKL is pinned to `COMPATIBLE` (SSE2 code) because it is the only MKL mode honoured on every
//! vendor: MKL ignores `MKL_CBWR=AVX2` on AMD processors (its verbose log reports `CNR:AUTO`).
//! The matrix products it runs here (projection heads, InfoNCE logits) are small, so the cost
//! is small. What pinning cannot fix: oneDNN sizes its blocks from the cache sizes and every
//! reduction depends on the thread count, so `--threads` must match too (see docs/training.md).

use clap::ValueEnum;
use cloudmask::error::{Error, Result};

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuIsa {
    /// Whatever libtorch picks for this CPU (fastest; results depend on the CPU).
    Native,
    /// AVX2 code paths on any x86-64 CPU with AVX2 and FMA (reproducible across them).
    Avx2,
    /// Scalar / SSE code paths (slow; for CPUs without AVX2).
    Baseline,
}

/// What `experiment` pins when `--cpu-isa` is not given: it compares methods, whose ranking
/// must not depend on the machine.
pub const EXPERIMENT_DEFAULT: CpuIsa = CpuIsa::Avx2;

impl CpuIsa {
    pub fn name(self) -> &'static str {
        match self {
            CpuIsa::Native => "native",
            CpuIsa::Avx2 => "avx2",
            CpuIsa::Baseline => "baseline",
        }
    }

    /// The variables that pin this ISA, as (name, value); none for `native`.
    pub fn variables(self) -> &'static [(&'static str, &'static str)] {
        match self {
            CpuIsa::Native => &[],
            CpuIsa::Avx2 => &[
                ("ATEN_CPU_CAPABILITY", "avx2"),
                ("ONEDNN_MAX_CPU_ISA", "AVX2"),
                ("MKL_CBWR", "COMPATIBLE"),
            ],
            CpuIsa::Baseline => &[
                ("ATEN_CPU_CAPABILITY", "default"),
                ("ONEDNN_MAX_CPU_ISA", "SSE41"),
                ("MKL_CBWR", "COMPATIBLE"),
            ],
        }
    }
}

/// Sets the variables of `isa` for this process. Must run before the first tensor operation
/// (libtorch reads them once) and while the program has one thread: `main` calls it right
/// after parsing the command line. ATen trusts `ATEN_CPU_CAPABILITY=avx2` without checking the
/// CPU (it would die of an illegal instruction), so AVX2 and FMA are checked here first.
pub fn pin(isa: CpuIsa) -> Result<()> {
    if isa == CpuIsa::Avx2 && !has_avx2() {
        return Err(Error::invalid(
            "--cpu-isa avx2: this CPU has no AVX2/FMA; use --cpu-isa baseline (slower) or native",
        ));
    }
    for (name, value) in isa.variables() {
        std::env::set_var(name, value);
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}
