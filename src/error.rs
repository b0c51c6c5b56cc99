//! One error type for the whole library, with a stable numeric code per kind.
//!
//! The codes double as the C API's status codes (`CmStatus` in `include/cloudmask.h`), so a
//! number, once published, is never reused for another meaning.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What went wrong, as a stable number. `Ok` is only used at the C boundary.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A caller passed a NULL pointer, an empty name, or an option out of range.
    InvalidArgument = 1,
    /// A file is missing, unreadable, or not a raster GDAL can open.
    Input = 2,
    /// ONNX Runtime's shared library could not be found or loaded.
    RuntimeNotFound = 3,
    /// A model file is not ONNX, has no card, or its card contradicts the network.
    Model = 4,
    /// The raster's bands cannot be mapped onto the model's input bands.
    BandMapping = 5,
    /// A requested window lies outside the raster or has zero size.
    Window = 6,
    /// ONNX Runtime failed while running the network.
    Inference = 7,
    /// The output could not be created or written.
    Output = 8,
    /// The caller asked to stop through the cancel callback.
    Cancelled = 9,
    /// A caller's output buffer is smaller than the result.
    BufferTooSmall = 10,
    /// A bug: a panic was caught at the library boundary.
    Internal = 11,
    /// A pixel value the model cannot use (NaN / infinite) where no nodata handling applies.
    Data = 12,
}

/// An error with the kind and a message that tells the user what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Input, message)
    }
    pub fn model(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Model, message)
    }
    pub fn bands(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BandMapping, message)
    }
    pub fn window(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Window, message)
    }
    pub fn inference(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Inference, message)
    }
    pub fn output(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Output, message)
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
