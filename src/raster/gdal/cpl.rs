//! GDAL's portability layer (CPL) as cloudmask uses it: C strings in and out, and the
//! thread-local error state that every failing GDAL call leaves behind.

use crate::error::{Error, Result};
use gdal_sys as g;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;

pub(crate) fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("'{s}' contains a NUL byte")))
}

pub(crate) fn opt_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-null C string owned by GDAL, copied immediately.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// GDAL's last error message on this thread, then reset, so the next failure starts clean.
pub(crate) fn take_last_error() -> String {
    // SAFETY: CPLGetLastErrorMsg returns a thread-local string, valid until the next CPL call.
    unsafe {
        let msg = CStr::from_ptr(g::CPLGetLastErrorMsg())
            .to_string_lossy()
            .into_owned();
        g::CPLErrorReset();
        msg
    }
}

/// Stops GDAL printing its own error lines: for programs (the CLI) whose errors already carry
/// GDAL's message. A library must leave this process-wide choice to its host.
pub fn silence_gdal_error_printing() {
    // SAFETY: installs GDAL's own quiet handler.
    unsafe { g::CPLPushErrorHandler(Some(g::CPLQuietErrorHandler)) };
}

/// A NULL-terminated list of C strings that lives as long as this value (GDAL's CSL).
pub(crate) struct CStringList {
    _owned: Vec<CString>,
    ptrs: Vec<*mut c_char>,
}

impl CStringList {
    pub fn new<S: AsRef<str>>(items: &[S]) -> Result<CStringList> {
        let owned: Vec<CString> = items
            .iter()
            .map(|s| cstring(s.as_ref()))
            .collect::<Result<_>>()?;
        let mut ptrs: Vec<*mut c_char> = owned.iter().map(|c| c.as_ptr() as *mut c_char).collect();
        ptrs.push(std::ptr::null_mut());
        Ok(CStringList {
            _owned: owned,
            ptrs,
        })
    }
    pub fn as_ptr(&mut self) -> *mut *mut c_char {
        self.ptrs.as_mut_ptr()
    }
}
