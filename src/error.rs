//! One error type for the whole library, with a stable numeric code per kind.
//!
//! The codes double as the C API's status codes (`CmStatus` in `include/cloudmask.h`), so a
//! number, once published, is never reused for another meaning.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What went wrong, as a stable number: numbered from 1 in declaration order (new kinds go at
/// the end), the C API's `cm_status` values and the CLI's exit codes. `Ok` (0) is only used at
/// the C boundary; a test in `ffi/status.rs` pins each number to its status.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A caller passed a NULL pointer, an empty name, or an option out of range.
    InvalidArgument = 1,
    /// A file is missing, unreadable, or not a raster GDAL can open.
    Input,
    /// ONNX Runtime's shared library could not be found or loaded.
    RuntimeNotFound,
    /// A model file is not ONNX, has no card, or its card contradicts the network.
    Model,
    /// The raster's bands cannot be mapped onto the model's input bands.
    BandMapping,
    /// A requested window lies outside the raster or has zero size.
    Window,
    /// ONNX Runtime failed while running the network.
    Inference,
    /// The output could not be created or written.
    Output,
    /// The caller asked to stop through the cancel callback.
    Cancelled,
    /// A caller's output buffer is smaller than the result.
    BufferTooSmall,
    /// A bug: a panic was caught at the library boundary.
    Internal,
    /// A pixel value the model cannot use (NaN / infinite) where no nodata handling applies.
    Data,
}

impl ErrorKind {
    /// The kind's stable name in machine-readable reports (`cloudmask mask --json`): the C
    /// status name without its prefix, in lower case (`input`, `band_mapping`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Input => "input",
            ErrorKind::RuntimeNotFound => "runtime_not_found",
            ErrorKind::Model => "model",
            ErrorKind::BandMapping => "band_mapping",
            ErrorKind::Window => "window",
            ErrorKind::Inference => "inference",
            ErrorKind::Output => "output",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::BufferTooSmall => "buffer_too_small",
            ErrorKind::Internal => "internal",
            ErrorKind::Data => "data",
        }
    }
}

/// An error with the kind and a message that tells the user what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

/// `pub fn name(message) -> Error` for each `name: Kind`: the shorthand constructors.
macro_rules! kind_constructors {
    ($($name:ident: $kind:ident),* $(,)?) => {
        $(
            pub fn $name(message: impl Into<String>) -> Self {
                Self::new(ErrorKind::$kind, message)
            }
        )*
    };
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    kind_constructors! {
        invalid: InvalidArgument, input: Input, model: Model, bands: BandMapping,
        window: Window, inference: Inference, output: Output,
    }
    pub fn cancelled() -> Self {
        Self::new(
            ErrorKind::Cancelled,
            "cancelled by the caller; no output was written",
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Runs Rust code that C calls back into (or that wraps a C callback): `Err` with the panic as
/// an internal error instead of unwinding. Here, below both shells, so that the C API and the
/// GDAL plugin share one panic boundary without importing each other.
pub(crate) fn guarded<T>(body: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(body)).map_err(panic_error)
}

pub(crate) fn panic_error(payload: Box<dyn std::any::Any + Send>) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    Error::new(
        ErrorKind::Internal,
        format!("internal error in cloudmask (please report it): {what}"),
    )
}
