//! Models: the card, where models are found, and running them through ONNX Runtime.

pub mod bands;
pub mod cache;
pub mod card;
pub mod choose;
pub mod classes;
pub mod precision;
mod providers;
pub mod registry;
mod session;
pub mod threads;

pub use card::{ModelCard, OutputKind};
pub use choose::{check_level, choose_model};
pub use classes::CommonClass;
pub use precision::{CpuBf16, Precision};
pub use providers::OPENVINO_PROVIDER;
pub use registry::{list_models, resolve, ModelEntry, DEFAULT_MODEL};
pub use session::{Device, Model, ModelOptions, RunStats};

/// Whether this library was built with ONNX Runtime's CUDA execution provider registered (the
/// `cuda` feature); the programs report it, since only the library knows how it was built.
pub const CUDA_BUILT: bool = cfg!(feature = "cuda");
