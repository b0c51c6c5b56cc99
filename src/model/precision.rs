//! Numeric precision of inference, and what this CPU can do natively.
//!
//! bf16 halves the width of the numbers OpenVINO multiplies: on a CPU with native bf16
//! (AVX512_BF16, AMX-BF16) the model ran 1.6 to 2.5 times faster at about 99.85 % identical
//! classes (docs/engine.md, "Execution providers and precision"). Without native bf16, OpenVINO
//! ignores the hint (measured: the same outputs as f32), so asking for bf16 there would promise
//! a speed it cannot give: it is refused, with what to use instead. ONNX Runtime's CPU and CUDA
//! providers compute in f32 only.

use super::Device;
use crate::error::{Error, Result};

/// The precision asked for; its names (`f32`, `bf16`, `auto`) come from `options::choice!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit floats: the exact path on cpu, and OpenVINO's f32 inference precision.
    F32,
    /// bf16 inference precision in OpenVINO; refused where the CPU has no native bf16.
    Bf16,
    /// bf16 where the CPU has native bf16 and OpenVINO runs the model, else f32.
    Auto,
}

crate::options::choice!(Precision, "precision", [
    F32 => "f32", "32-bit floats (exact on cpu)",
    Bf16 => "bf16", "bf16 inference precision, --device openvino on a CPU with native bf16 only",
    Auto => "auto", "bf16 where OpenVINO runs the model on a CPU with native bf16, else f32",
]);

/// The CPU's native bf16 instructions (x86-64 cpuid; none elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuBf16 {
    /// AVX512_BF16: cpuid leaf 7, subleaf 1, EAX bit 5.
    pub avx512_bf16: bool,
    /// AMX-BF16: cpuid leaf 7, subleaf 0, EDX bit 22.
    pub amx_bf16: bool,
}

impl CpuBf16 {
    /// What this machine's CPU reports.
    pub fn detect() -> CpuBf16 {
        detect()
    }

    /// Whether bf16 runs natively (either instruction set).
    pub fn native(self) -> bool {
        self.avx512_bf16 || self.amx_bf16
    }

    /// One line for `cloudmask doctor` and the bench.
    pub fn describe(self) -> String {
        let has: Vec<&str> = [
            (self.avx512_bf16, "AVX512_BF16"),
            (self.amx_bf16, "AMX-BF16"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        if has.is_empty() {
            "none (no AVX512_BF16, no AMX-BF16)".to_string()
        } else {
            format!("native ({})", has.join(", "))
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn detect() -> CpuBf16 {
    use core::arch::x86_64::__cpuid_count;
    // SAFETY: cpuid exists on every x86-64 CPU; leaf 7 is read only when the CPU lists it
    // (leaf 0's EAX is the highest leaf), and subleaf 1 only when leaf 7 lists it. The call is
    // safe from Rust 1.87; `unsafe` keeps the crate building on its rust-version.
    #[allow(unused_unsafe)]
    unsafe {
        if __cpuid_count(0, 0).eax < 7 {
            return CpuBf16::default();
        }
        let leaf7 = __cpuid_count(7, 0);
        let avx512_bf16 = leaf7.eax >= 1 && __cpuid_count(7, 1).eax & (1 << 5) != 0;
        CpuBf16 {
            avx512_bf16,
            amx_bf16: leaf7.edx & (1 << 22) != 0,
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn detect() -> CpuBf16 {
    CpuBf16::default()
}

/// Whether inference runs in bf16: `requested` on `device` (before any fallback) on a CPU with
/// `cpu`. `auto` chooses; an explicit bf16 that cannot be honoured is an error that says what
/// to use instead, never a silent f32.
pub fn resolve(requested: Precision, device: Device, cpu: CpuBf16) -> Result<bool> {
    let openvino = matches!(device, Device::OpenVino | Device::Auto);
    match requested {
        Precision::F32 => Ok(false),
        Precision::Auto => Ok(openvino && cpu.native()),
        Precision::Bf16 if !openvino => Err(Error::invalid(format!(
            "precision bf16 runs only with device openvino: ONNX Runtime's {device} provider computes in f32; use device openvino (on a CPU with native bf16), or precision f32"
        ))),
        Precision::Bf16 if !cpu.native() => Err(Error::invalid(
            "precision bf16 is refused: this CPU has no native bf16 (neither AVX512_BF16 nor AMX-BF16), where OpenVINO would compute in f32 anyway; use precision f32, or auto (bf16 only where the CPU has it)",
        )),
        Precision::Bf16 => Ok(true),
    }
}

/// What `precision auto` chooses on this machine, for `cloudmask doctor`.
pub fn auto_choice(cpu: CpuBf16) -> &'static str {
    if cpu.native() {
        "bf16 with device openvino (the CPU has native bf16), f32 otherwise"
    } else {
        "f32 (the CPU has no native bf16)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: CpuBf16 = CpuBf16 {
        avx512_bf16: false,
        amx_bf16: false,
    };
    const AMX: CpuBf16 = CpuBf16 {
        avx512_bf16: false,
        amx_bf16: true,
    };

    #[test]
    fn bf16_only_where_openvino_runs_on_a_cpu_that_has_it() {
        for device in [Device::OpenVino, Device::Auto] {
            assert!(!resolve(Precision::Auto, device, NONE).unwrap());
            assert!(resolve(Precision::Auto, device, AMX).unwrap());
            assert!(resolve(Precision::Bf16, device, AMX).unwrap());
            let e = resolve(Precision::Bf16, device, NONE).unwrap_err();
            assert!(e.message.contains("no native bf16"), "{}", e.message);
            assert!(e.message.contains("use precision f32"), "{}", e.message);
        }
        for device in [Device::Cpu, Device::Cuda] {
            assert!(!resolve(Precision::Auto, device, AMX).unwrap());
            assert!(!resolve(Precision::F32, device, AMX).unwrap());
            let e = resolve(Precision::Bf16, device, AMX).unwrap_err();
            assert!(
                e.message.contains("runs only with device openvino"),
                "{}",
                e.message
            );
        }
        assert_eq!(NONE.describe(), "none (no AVX512_BF16, no AMX-BF16)");
        assert_eq!(AMX.describe(), "native (AMX-BF16)");
        let both = CpuBf16 {
            avx512_bf16: true,
            amx_bf16: true,
        };
        assert_eq!(both.describe(), "native (AVX512_BF16, AMX-BF16)");
    }

    #[test]
    fn detection_agrees_with_the_kernel() {
        // Linux lists the same cpuid bits in /proc/cpuinfo's flags.
        let info = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        let flags: Vec<&str> = info
            .lines()
            .find(|l| l.starts_with("flags"))
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default();
        let cpu = CpuBf16::detect();
        assert_eq!(cpu.avx512_bf16, flags.contains(&"avx512_bf16"));
        assert_eq!(cpu.amx_bf16, flags.contains(&"amx_bf16"));
    }
}
