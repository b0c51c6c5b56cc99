//! cloudmask: cloud and cloud-shadow masks for optical satellite imagery.
//!
//! Layers, from the shells down: `ffi` (C API) → `scene` (whole rasters to files) and `engine`
//! (window in, mask out) → `raster` (GDAL), `model` (cards, ONNX Runtime sessions) →
//! `tiling`, `postprocess`, `onnx`, `runtime`, `error`.

pub mod engine;
pub mod error;
pub mod eval;
pub mod ffi;
pub mod fractions;
pub mod gdal_plugin;
pub mod limits;
pub mod model;
pub mod onnx;
pub mod options;
pub mod postprocess;
pub mod raster;
pub mod records;
pub mod runtime;
pub mod scene;
pub mod select;
pub mod tiling;

/// The crate version, also reported by the C API.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub use engine::{mask_window, MaskOptions, MaskResult, Products, Region, Tiling};
pub use error::{Error, ErrorKind, Result};
pub use model::{Device, Model, ModelOptions};
