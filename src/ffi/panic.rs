//! The panic boundary: every export and every callback wrapper runs inside one of these, so a
//! Rust panic never unwinds into C (in QGIS that would kill the user's session).

use super::status::{cm_status, record};
pub(crate) use crate::error::guarded;
use crate::error::{panic_error, Result};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs the body of an export that returns a status: records the outcome as this thread's last
/// error (cleared on success) and turns a panic into `CM_ERROR_INTERNAL` with its message.
pub(crate) fn call(body: impl FnOnce() -> Result<()>) -> cm_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => record(None),
        Ok(Err(e)) => record(Some(&e)),
        Err(payload) => record(Some(&panic_error(payload))),
    }
}

/// Runs the body of an export that returns a value: `fallback` when it fails or panics, in which
/// case the failure becomes the last error. Success leaves the last error alone, so that
/// `cm_last_error` and friends can be called after a failure without erasing it.
pub(crate) fn call_or<T>(fallback: T, body: impl FnOnce() -> Result<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            record(Some(&e));
            fallback
        }
        Err(payload) => {
            record(Some(&panic_error(payload)));
            fallback
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, ErrorKind};
    use crate::ffi::{cm_last_error, cm_last_error_code};

    fn last_message() -> String {
        let mut buf = vec![0u8; cm_last_error(std::ptr::null_mut(), 0)];
        cm_last_error(buf.as_mut_ptr().cast(), buf.len());
        String::from_utf8(buf[..buf.len() - 1].to_vec()).unwrap()
    }

    #[test]
    fn a_panic_becomes_an_internal_error_with_its_message() {
        let status = call(|| panic!("boom {}", 42));
        assert_eq!(status, cm_status::CM_ERROR_INTERNAL);
        assert_eq!(cm_last_error_code(), cm_status::CM_ERROR_INTERNAL as i32);
        assert!(last_message().contains("boom 42"), "{}", last_message());

        assert_eq!(call_or(7usize, || panic!("static")), 7);
        assert!(last_message().contains("static"), "{}", last_message());

        let err = guarded(|| -> bool { panic!("in a callback") }).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Internal);
    }

    #[test]
    fn success_clears_the_last_error_and_errors_keep_their_kind() {
        assert_eq!(
            call(|| Err(Error::window("bad window"))),
            cm_status::CM_ERROR_WINDOW
        );
        assert_eq!(last_message(), "bad window");
        // Reading the message does not clear it.
        assert_eq!(last_message(), "bad window");
        assert_eq!(call(|| Ok(())), cm_status::CM_OK);
        assert_eq!(last_message(), "");
    }
}
