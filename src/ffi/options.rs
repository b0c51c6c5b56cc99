//! Option structs for loading models and masking, their defaults, and their translation into the
//! library's own option types (which own every default).

use super::args::{in_range, opt_arg, opt_text, or_default_in, write_default};
use crate::engine::{MaskOptions, Tiling};
use crate::error::{Error, Result};
use crate::limits::{MAX_BATCH, MAX_BUFFER, MAX_THREADS, MAX_TILE};
use crate::model::{Device, ModelOptions, Precision};
use crate::postprocess::Buffers;
use crate::raster::Scaling;
use std::os::raw::c_char;
use std::path::PathBuf;

/// Values of `cm_model_options.device`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cm_device {
    /// ONNX Runtime's CPU execution provider.
    Cpu = 0,
    /// ONNX Runtime's CUDA execution provider (cloudmask built with the `cuda` feature and
    /// onnxruntime-gpu); falls back to CPU when it is not available.
    Cuda = 1,
    /// ONNX Runtime's OpenVINO execution provider (the onnxruntime-openvino wheel's runtime,
    /// searched for when no library is named); falls back to CPU when it is not available.
    Openvino = 2,
    /// CUDA when usable, else OpenVINO when the runtime has it, else CPU.
    Auto = 3,
}

/// Values of `cm_model_options.precision`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cm_precision {
    /// 32-bit floats: the exact path on CPU.
    F32 = 0,
    /// bf16 inference precision, with `CM_DEVICE_OPENVINO` (or auto) on a CPU with native bf16
    /// (AVX512_BF16 or AMX-BF16) only; refused elsewhere (`CM_ERROR_INVALID_ARGUMENT`).
    Bf16 = 1,
    /// bf16 where OpenVINO runs the model on a CPU with native bf16, else f32.
    Auto = 2,
}

/// Values of `cm_mask_options.tiling`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cm_tiling {
    /// Overlapping tiles on a grid anchored to the raster, with context read from around the
    /// window: any window gives exactly the crop of the whole-raster result.
    Exact = 0,
    /// ukis-csmask's own procedure: a window is masked as if it were the whole image. On a
    /// whole raster both give the same pixels.
    Ukis = 1,
}

/// Values of `cm_input_options.scaling`: how stored values become reflectance.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cm_scaling {
    /// From what the raster says: its bands' GDAL scale/offset, else Sentinel-2 metadata
    /// (quantification and offset); float bands without them are reflectance; other integer
    /// bands are refused (`CM_ERROR_INPUT`).
    Auto = 0,
    /// Values are reflectance.
    Reflectance = 1,
    /// Digital numbers: reflectance = (DN + `dn_offset`) / `quantification`.
    Dn = 2,
}

/// How to load a model. Fill it with `cm_model_options_default`, then change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cm_model_options {
    /// ONNX Runtime threads per inference, 0 to 1024; 0 = all cores. More than the machine's
    /// cores are capped to them (cm_model_load prints a note on stderr).
    pub threads: i32,
    /// A `cm_device` value.
    pub device: i32,
    /// Absolute path of libonnxruntime.so (a relative one is refused), or NULL to search for it
    /// (as `cm_runtime_init`; for OpenVINO, a runtime with its provider first).
    pub ort_library: *const c_char,
    /// A `cm_precision` value (added in 0.1: the struct grew at its end; fill it with
    /// `cm_model_options_default` so new fields get their defaults).
    pub precision: i32,
}

/// How to mask. Fill it with `cm_mask_options_default`, then change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cm_mask_options {
    /// A `cm_tiling` value.
    pub tiling: i32,
    /// Tiles per ONNX Runtime call, 1 to 1024 (and at most 2^26 tile pixels per call).
    pub batch: i32,
    /// Pixels around clouds and shadows that are also marked invalid in the valid mask, 0 to
    /// 1024; -1 = the library's default (4).
    pub buffer: i32,
    /// Tile size in pixels, a multiple of `cm_model_info.size_multiple` up to 4096; -1 = the model's own
    /// (`cm_model_info.tile_size`, what the network was trained on). Larger tiles run faster
    /// but change the results of networks with global pooling (such as ukis-csmask's).
    pub tile: i32,
    /// Exact tiling: fraction of each tile that overlaps its neighbours, 0 < overlap <= 0.5;
    /// -1 = the library's default (0.2, as ukis-csmask). Less overlap runs faster but agrees
    /// less with ukis-csmask.
    pub overlap: f64,
}

/// Writes the default model options into `*out_options`: all cores, CPU, ONNX Runtime searched
/// for. NULL writes nothing.
#[no_mangle]
pub extern "C" fn cm_model_options_default(out_options: *mut cm_model_options) {
    write_default(out_options, || {
        let d = ModelOptions::default();
        cm_model_options {
            threads: d.threads as i32,
            device: cm_device::from(d.device) as i32,
            ort_library: std::ptr::null(),
            precision: cm_precision::from(d.precision) as i32,
        }
    })
}

/// Writes the default mask options into `*out_options`: exact tiling, one tile per call, the
/// default buffer, the model's tile size and the default overlap. NULL writes nothing.
#[no_mangle]
pub extern "C" fn cm_mask_options_default(out_options: *mut cm_mask_options) {
    write_default(out_options, || {
        let d = MaskOptions::default();
        cm_mask_options {
            tiling: cm_tiling::from(d.tiling) as i32,
            batch: d.batch as i32,
            buffer: -1,
            tile: -1,
            overlap: -1.0,
        }
    })
}

/// Pairs a C enum's variants with a library option's values: `From<library> for cm_*` (a match,
/// so every library value has its C constant) and the library type's one `TryFrom<i32>` (found
/// through that match among the library's values, so C values cannot map to two of them).
macro_rules! c_enum {
    ($c:ident <=> $lib:ident { $($cv:ident <=> $lv:ident),+ $(,)? }) => {
        impl From<$lib> for $c {
            fn from(v: $lib) -> Self {
                match v {
                    // `{ .. }` matches unit variants and variants with data alike.
                    $($lib::$lv { .. } => $c::$cv),+
                }
            }
        }

        impl TryFrom<i32> for $lib {
            type Error = $crate::error::Error;
            fn try_from(x: i32) -> $crate::error::Result<Self> {
                <$lib as $crate::options::Choice>::ALL
                    .iter()
                    .copied()
                    .find(|&v| $c::from(v) as i32 == x)
                    .ok_or_else(|| {
                        let c_name = stringify!($c);
                        let values = vec![$(format!(
                            "{} ({})",
                            $crate::ffi::options::c_constant(c_name, stringify!($cv)),
                            $c::$cv as i32
                        )),+];
                        $crate::error::Error::invalid(format!(
                            "{x}, not a {c_name} value: use {}",
                            $crate::options::one_of(values)
                        ))
                    })
            }
        }
    };
}
pub(crate) use c_enum;

c_enum!(cm_device <=> Device { Cpu <=> Cpu, Cuda <=> Cuda, Openvino <=> OpenVino, Auto <=> Auto });
c_enum!(cm_precision <=> Precision { F32 <=> F32, Bf16 <=> Bf16, Auto <=> Auto });
c_enum!(cm_tiling <=> Tiling { Exact <=> Exact, Ukis <=> Ukis });
c_enum!(cm_scaling <=> Scaling { Auto <=> Auto, Reflectance <=> Reflectance, Dn <=> DigitalNumbers });

/// The header's name of a C enum's variant: `cm_class`, `ThinCloud` → `CM_CLASS_THIN_CLOUD`
/// (cbindgen.toml: variants in SCREAMING_SNAKE_CASE, prefixed with the enum's name).
pub(crate) fn c_constant(c_enum: &str, variant: &str) -> String {
    let mut out = c_enum.to_ascii_uppercase();
    for (i, ch) in variant.char_indices() {
        if ch.is_ascii_uppercase() || i == 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// The library value of a caller's C enum field `field`.
pub(crate) fn c_value<T: TryFrom<i32, Error = Error>>(x: i32, field: &str) -> Result<T> {
    T::try_from(x).map_err(|e| Error::new(e.kind, format!("{field} is {}", e.message)))
}

/// The library's model options from a caller's struct, or the defaults when it is NULL.
///
/// # Safety
/// `p` is NULL or points to a valid struct whose `ort_library` is NULL or a C string.
pub(crate) unsafe fn model_options(p: *const cm_model_options) -> Result<ModelOptions> {
    let mut options = ModelOptions::default();
    let Some(c) = opt_arg(p, "options")? else {
        return Ok(options);
    };
    options.threads = in_range(c.threads, 0, MAX_THREADS, "options->threads")?;
    options.device = c_value(c.device, "options->device")?;
    options.ort_lib = opt_text(c.ort_library, "options->ort_library")?.map(PathBuf::from);
    options.precision = c_value(c.precision, "options->precision")?;
    Ok(options)
}

/// The library's mask options from a caller's struct, or the defaults when it is NULL.
///
/// # Safety
/// `p` is NULL or points to a valid struct.
pub(crate) unsafe fn mask_options(p: *const cm_mask_options) -> Result<MaskOptions> {
    let mut options = MaskOptions::default();
    let Some(c) = opt_arg(p, "options")? else {
        return Ok(options);
    };
    options.tiling = c_value(c.tiling, "options->tiling")?;
    options.batch = in_range(c.batch, 1, MAX_BATCH, "options->batch")?;
    if let Some(b) = or_default_in(c.buffer, 0, MAX_BUFFER, "options->buffer")? {
        options.buffers = Buffers::uniform(b as u32);
    }
    options.tile = or_default_in(c.tile, 1, MAX_TILE, "options->tile")?;
    if c.overlap != -1.0 {
        // The engine checks the range, with its own message.
        options.overlap = c.overlap;
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Choice;
    use std::mem::MaybeUninit;

    #[test]
    fn defaults_translate_to_the_library_defaults() {
        let mut c = MaybeUninit::<cm_mask_options>::uninit();
        cm_mask_options_default(c.as_mut_ptr());
        // SAFETY: written on success.
        let c = unsafe { c.assume_init() };
        let from_c = unsafe { mask_options(&c) }.unwrap();
        let d = MaskOptions::default();
        assert_eq!(from_c.tiling, d.tiling);
        assert_eq!(from_c.batch, d.batch);
        assert_eq!(from_c.buffers, d.buffers);
        assert_eq!(from_c.tile, d.tile);
        assert_eq!(from_c.overlap, d.overlap);

        let mut m = MaybeUninit::<cm_model_options>::uninit();
        cm_model_options_default(m.as_mut_ptr());
        let m = unsafe { model_options(m.as_ptr()) }.unwrap();
        assert_eq!(m.threads, 0);
        assert_eq!(m.device, Device::Cpu);
        assert_eq!(m.precision, Precision::F32);
        assert!(m.ort_lib.is_none());
    }

    #[test]
    fn c_values_round_trip_through_the_library_types() {
        for &d in Device::ALL {
            assert_eq!(Device::try_from(cm_device::from(d) as i32).unwrap(), d);
        }
        for &p in Precision::ALL {
            assert_eq!(
                Precision::try_from(cm_precision::from(p) as i32).unwrap(),
                p
            );
        }
        for &t in Tiling::ALL {
            assert_eq!(Tiling::try_from(cm_tiling::from(t) as i32).unwrap(), t);
        }
        assert_eq!(c_constant("cm_class", "ThinCloud"), "CM_CLASS_THIN_CLOUD");
        assert_eq!(c_constant("cm_tiling", "Exact"), "CM_TILING_EXACT");
    }

    #[test]
    fn out_of_range_values_are_refused_with_their_name() {
        let mut c = MaybeUninit::<cm_mask_options>::uninit();
        cm_mask_options_default(c.as_mut_ptr());
        let good = unsafe { c.assume_init() };
        for (bad, needle) in [
            (cm_mask_options { tiling: 2, ..good }, "options->tiling"),
            (cm_mask_options { batch: 0, ..good }, "options->batch"),
            (cm_mask_options { buffer: -2, ..good }, "options->buffer"),
            (cm_mask_options { tile: 0, ..good }, "options->tile"),
        ] {
            let err = unsafe { mask_options(&bad) }.unwrap_err();
            assert!(err.message.contains(needle), "{}", err.message);
        }
        let err = unsafe { mask_options(&cm_mask_options { tiling: 2, ..good }) }.unwrap_err();
        assert!(
            err.message
                .ends_with("use CM_TILING_EXACT (0) or CM_TILING_UKIS (1)"),
            "{}",
            err.message
        );
        let with_buffer = unsafe { mask_options(&cm_mask_options { buffer: 0, ..good }) }.unwrap();
        assert_eq!(with_buffer.buffers.max(), 0);
    }
}
