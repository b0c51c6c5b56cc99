//! A caller's progress callback as a Rust stage-progress closure: called inside the panic
//! boundary, its panic (a bug in the caller's code reached through us) remembered and reported
//! instead of the cancel it causes.

use super::mask::cm_progress_fn;
use super::panic::guarded;
use crate::error::{Error, ErrorKind, Result};
use std::ffi::CString;
use std::os::raw::c_void;

pub(crate) struct Progress {
    callback: cm_progress_fn,
    user_data: *mut c_void,
    failure: Option<Error>,
}

impl Progress {
    pub(crate) fn new(callback: cm_progress_fn, user_data: *mut c_void) -> Progress {
        Progress {
            callback,
            user_data,
            failure: None,
        }
    }

    /// Calls the callback (if any); false cancels.
    pub(crate) fn report(&mut self, fraction: f64, stage: &str) -> bool {
        let Some(callback) = self.callback else {
            return true;
        };
        let stage = CString::new(stage).unwrap_or_default();
        let user_data = self.user_data;
        // SAFETY: the caller's function, called as its type says with its own user_data.
        match guarded(|| unsafe { callback(fraction, stage.as_ptr(), user_data) }) {
            Ok(go_on) => go_on,
            Err(e) => {
                self.failure = Some(e);
                false
            }
        }
    }

    /// The work's result, with a cancel caused by a failing callback reported as that failure.
    pub(crate) fn finish<T>(self, result: Result<T>) -> Result<T> {
        match (result, self.failure) {
            (Err(e), Some(f)) if e.kind == ErrorKind::Cancelled => Err(f),
            (result, _) => result,
        }
    }
}
