//! A small, dependency-free reader and editor for ONNX model files.
//!
//! Why it exists: the crate needs to check a model before handing it to ONNX
//! Runtime (input names, band count, element type, number of output classes),
//! to make the exported fixed tile size (e.g. 256x256) dynamic so larger tiles
//! can be run, and to stamp provenance metadata into models it writes. All of
//! that touches a few small messages of a file whose bulk is weights, so the
//! module walks the protobuf wire format directly and copies everything it does
//! not change byte for byte, rather than depending on a protobuf code generator.
//!
//! Layout, one job per file:
//! - [`wire`]: protobuf wire format (varints, tags, field iteration, encoding).
//! - `message`: schema-checked field access with error paths.
//! - `schema`: the `onnx.proto` field numbers used here.
//! - `model`: reading a `ModelProto` ([`inspect`]).
//! - `edit`: rewriting one ([`with_dynamic_spatial_dims`], [`with_metadata`]).
//! - [`graph`]: writing a new one (the trainer's export).
//! - `error`: [`OnnxError`].
//!
//! Every entry point returns an [`OnnxError`] instead of panicking on arbitrary
//! input.

mod edit;
mod error;
pub mod graph;
mod message;
mod model;
mod schema;
pub mod wire;

#[cfg(test)]
mod test_models;

pub use edit::{with_dynamic_spatial_dims, with_metadata, BATCH_DIM, HEIGHT_DIM, WIDTH_DIM};
pub use error::{OnnxError, OnnxErrorKind};
pub use model::{elem_type_name, inspect, Dim, ModelInfo, TensorInfo, ELEM_TYPE_FLOAT};
