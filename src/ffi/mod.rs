//! The C API (`include/cloudmask.h`, generated from this module by cbindgen in `build.rs`).
//!
//! A thin shell: every export checks its arguments, calls one library function
//! (`Model::load`, `engine::mask_window`, `scene::mask_scene`, `runtime::init`) and turns the
//! result into a status code and this thread's last error. The conventions every function follows
//! (ownership, NULL, buffers, threads) are written once, in the header's preamble (`cbindgen.toml`).
//!
//! - `status`: the status codes and the per-thread last error;
//! - `panic`: the panic boundary every export runs inside;
//! - `args`: NULL, string, buffer and option checks;
//! - `options`: option structs and their defaults;
//! - `input`: how an input raster is read (scaling, nodata, resolution, per-class buffers);
//! - `handles`: the `cm_model` handle and what it tells about the model;
//! - `mask`: masking windows, buffers and whole files;
//! - `chunk`: masking a buffer as the part of a larger raster it is (exact chunks);
//! - `eval`: comparing predicted masks with reference masks (`cloudmask eval`);
//! - `select`: choosing the most uncertain tiles for labelling (`cloudmask select`);
//! - `progress`: a caller's progress callback, inside the panic boundary.

// The exports take raw pointers from C and check them; their contract is the header's, so they
// stay `extern "C" fn` rather than `unsafe extern "C" fn` (as in rustls-ffi). Rust code should
// use the library's own API.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
// Argument lists mirror the C signatures.
#![allow(clippy::too_many_arguments)]
// Type names are the header's C names (`cm_model`, `cm_status`).
#![allow(non_camel_case_types)]

// The header lists functions in this order (kept apart so rustfmt does not sort them).
mod status;

mod options;

mod input;

mod handles;

mod mask;

mod chunk;

mod args;
/// The panic boundary, also used by the GDAL plugin's callbacks.
pub(crate) mod panic;
mod virtual_mask;

mod eval;

mod select;

mod progress;

pub use chunk::{cm_chunk, cm_mask_chunk, cm_model_context};
pub use eval::{
    cm_eval_options, cm_eval_options_default, cm_eval_predictor, cm_eval_summary, cm_evaluate,
};
pub use handles::{
    cm_class, cm_list_models, cm_model, cm_model_band_name, cm_model_card, cm_model_class_code,
    cm_model_class_name, cm_model_free, cm_model_get_info, cm_model_info, cm_model_load,
};
pub use input::{cm_input_options, cm_input_options_default};
pub use mask::{
    cm_gdal_dataset, cm_mask_buffer, cm_mask_dataset, cm_mask_to_files, cm_mask_to_files_ex,
    cm_mask_window, cm_output_paths, cm_progress_fn,
};
pub use options::{
    cm_device, cm_mask_options, cm_mask_options_default, cm_model_options,
    cm_model_options_default, cm_precision, cm_tiling,
};
pub use select::{cm_measure, cm_select_options, cm_select_options_default, cm_select_tiles};
pub use status::{cm_last_error, cm_last_error_code, cm_status};
pub use virtual_mask::{cm_write_virtual_mask, cm_write_virtual_mask_ex};

use std::os::raw::c_char;
use std::path::Path;

/// The library version, e.g. "0.1.0" (the same as the CLOUDMASK_VERSION_* macros of the header
/// it was built with). A static string: do not free it.
#[no_mangle]
pub extern "C" fn cm_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// Loads ONNX Runtime from `ort_library` (an absolute path to libonnxruntime.so; a relative one
/// is refused), or searches for it when NULL ($CLOUDMASK_ORT_LIB, $ORT_DYLIB_PATH, a .venv beside
/// libcloudmask.so, Python environments by absolute prefix, system folders; never the current
/// directory: `cloudmask doctor` lists them). Optional: `cm_model_load` does it too. A process holds one ONNX
/// Runtime: a later call naming another library fails with CM_ERROR_RUNTIME_NOT_FOUND.
#[no_mangle]
pub extern "C" fn cm_runtime_init(ort_library: *const c_char) -> cm_status {
    panic::call(|| {
        // SAFETY: NULL or a NUL-terminated string (header).
        let path = unsafe { args::opt_text(ort_library, "ort_library") }?;
        crate::runtime::init(path.map(Path::new)).map(|_| ())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_the_crate_version() {
        // SAFETY: static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(super::cm_version()) };
        assert_eq!(v.to_str().unwrap(), crate::VERSION);
    }
}
