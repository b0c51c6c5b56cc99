//! The C API as C programs and Python see it: the C example compiled with strict flags and run,
//! the Python ctypes example run, every error path through the exported functions, and window
//! invariance (any window equals the crop of the whole-raster result) through the C API.
//! One test binary sharing one model handle; a module per topic.

#[path = "../common/mod.rs"]
mod common;

mod errors;
mod examples;
mod files;
mod models;
mod windows;

use cloudmask::ffi::cm_model;
use common::capi::load_model;
use std::sync::OnceLock;

/// A model handle shared by every test of this binary, so also used from several threads at once.
pub struct Shared(pub *mut cm_model);
// SAFETY: the header promises a cm_model may be used from several threads at once.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

/// The ukis-csmask 6-band model through the C API, 2 ONNX Runtime threads; fails with what to
/// install when ONNX Runtime or the model is not installed.
pub fn model() -> *const cm_model {
    shared_model().0.cast_const()
}

pub fn shared_model() -> &'static Shared {
    static MODEL: OnceLock<Shared> = OnceLock::new();
    MODEL.get_or_init(|| Shared(load_model("ukis-6b-l1c", 2)))
}
