//! Status codes and the per-thread last error.

use crate::error::{Error, ErrorKind};
use std::cell::RefCell;
use std::os::raw::c_char;

/// cbindgen:prefix-with-name=false
/// What a call returned. `CM_OK` is 0; every other value is the library's error kind number and is
/// never reused for another meaning.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cm_status {
    /// Success.
    CM_OK = 0,
    /// A NULL pointer, an empty name, or an option out of range.
    CM_ERROR_INVALID_ARGUMENT = 1,
    /// A file is missing, unreadable, or not a raster GDAL can open.
    CM_ERROR_INPUT = 2,
    /// ONNX Runtime's shared library could not be found or loaded.
    CM_ERROR_RUNTIME_NOT_FOUND = 3,
    /// The model is unknown, not ONNX, has no card, or its card contradicts the network.
    CM_ERROR_MODEL = 4,
    /// The raster's bands cannot be mapped onto the model's input bands.
    CM_ERROR_BAND_MAPPING = 5,
    /// The window lies outside the raster or has zero size.
    CM_ERROR_WINDOW = 6,
    /// ONNX Runtime failed while running the network.
    CM_ERROR_INFERENCE = 7,
    /// An output file could not be created or written.
    CM_ERROR_OUTPUT = 8,
    /// The progress callback returned false; no output was left behind.
    CM_ERROR_CANCELLED = 9,
    /// An output buffer is smaller than the result; the message gives the size needed.
    CM_ERROR_BUFFER_TOO_SMALL = 10,
    /// A bug in cloudmask (a panic caught at the boundary); please report the message.
    CM_ERROR_INTERNAL = 11,
    /// A pixel value the model cannot use (NaN / infinite) where no nodata handling applies.
    CM_ERROR_DATA = 12,
}

impl From<ErrorKind> for cm_status {
    /// Exhaustive on purpose: a new error kind does not compile until it has a status here.
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidArgument => cm_status::CM_ERROR_INVALID_ARGUMENT,
            ErrorKind::Input => cm_status::CM_ERROR_INPUT,
            ErrorKind::RuntimeNotFound => cm_status::CM_ERROR_RUNTIME_NOT_FOUND,
            ErrorKind::Model => cm_status::CM_ERROR_MODEL,
            ErrorKind::BandMapping => cm_status::CM_ERROR_BAND_MAPPING,
            ErrorKind::Window => cm_status::CM_ERROR_WINDOW,
            ErrorKind::Inference => cm_status::CM_ERROR_INFERENCE,
            ErrorKind::Output => cm_status::CM_ERROR_OUTPUT,
            ErrorKind::Cancelled => cm_status::CM_ERROR_CANCELLED,
            ErrorKind::BufferTooSmall => cm_status::CM_ERROR_BUFFER_TOO_SMALL,
            ErrorKind::Internal => cm_status::CM_ERROR_INTERNAL,
            ErrorKind::Data => cm_status::CM_ERROR_DATA,
        }
    }
}

thread_local! {
    /// The status and message of the last call on this thread that returned a `cm_status`.
    static LAST_ERROR: RefCell<(cm_status, String)> = const { RefCell::new((cm_status::CM_OK, String::new())) };
}

/// Records the outcome of a call: an error, or success (which clears the message).
pub(crate) fn record(outcome: Option<&Error>) -> cm_status {
    let (status, message) = match outcome {
        None => (cm_status::CM_OK, String::new()),
        // A NUL inside the message would cut it short in C.
        Some(e) => (cm_status::from(e.kind), e.message.replace('\0', "?")),
    };
    LAST_ERROR.with(|last| *last.borrow_mut() = (status, message));
    status
}

/// Copies this thread's last error message into `buf` (`len` bytes), NUL-terminated and cut to
/// fit at a UTF-8 character boundary, and returns the length the whole message needs including
/// its NUL (as snprintf does): the message was cut when the result is greater than `len`. `buf`
/// may be NULL when `len` is 0, to ask for the size. The message is empty (result 1) when the
/// last call on this thread succeeded.
#[no_mangle]
pub extern "C" fn cm_last_error(buf: *mut c_char, len: usize) -> usize {
    super::panic::call_or(0, || {
        LAST_ERROR.with(|last| {
            // SAFETY: the caller gives `len` writable bytes at `buf` (or NULL).
            Ok(unsafe { super::args::write_truncated(&last.borrow().1, buf, len) })
        })
    })
}

/// The status of the last call on this thread that returned a `cm_status` (`CM_OK` after a success).
#[no_mangle]
pub extern "C" fn cm_last_error_code() -> i32 {
    super::panic::call_or(cm_status::CM_ERROR_INTERNAL as i32, || {
        Ok(LAST_ERROR.with(|last| last.borrow().0 as i32))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_equal_the_error_kind_numbers() {
        let kinds = [
            ErrorKind::InvalidArgument,
            ErrorKind::Input,
            ErrorKind::RuntimeNotFound,
            ErrorKind::Model,
            ErrorKind::BandMapping,
            ErrorKind::Window,
            ErrorKind::Inference,
            ErrorKind::Output,
            ErrorKind::Cancelled,
            ErrorKind::BufferTooSmall,
            ErrorKind::Internal,
            ErrorKind::Data,
        ];
        for (i, kind) in kinds.into_iter().enumerate() {
            assert_eq!(kind as i32, i as i32 + 1);
            assert_eq!(cm_status::from(kind) as i32, kind as i32, "{kind:?}");
            // The report name is the status name without its prefix, in lower case.
            let status = format!("{:?}", cm_status::from(kind));
            assert_eq!(status.to_lowercase(), format!("cm_error_{}", kind.name()));
        }
        assert_eq!(cm_status::CM_OK as i32, 0);
    }

    #[test]
    fn messages_are_cut_at_character_boundaries() {
        record(Some(&Error::invalid("naïve")));
        let mut buf = [0x55 as c_char; 4];
        // "na" + the 2-byte 'ï' does not fit in 3 bytes: the cut falls before it.
        assert_eq!(cm_last_error(buf.as_mut_ptr(), 4), "naïve".len() + 1);
        assert_eq!(&buf[..3], &[b'n' as c_char, b'a' as c_char, 0]);
        assert_eq!(
            cm_last_error_code(),
            cm_status::CM_ERROR_INVALID_ARGUMENT as i32
        );
        record(None);
        assert_eq!(cm_last_error(std::ptr::null_mut(), 0), 1);
        assert_eq!(cm_last_error_code(), 0);
    }
}
