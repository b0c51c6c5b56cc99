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

/// Runs `f` with GDAL's messages on this thread kept from its error handlers (nothing printed):
/// for calls whose message cloudmask reads back itself ([`take_last_error`]).
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: pushes GDAL's own quiet handler, popped below on the same thread.
    unsafe { g::CPLPushErrorHandler(Some(g::CPLQuietErrorHandler)) };
    let value = f();
    // SAFETY: pops the handler pushed above.
    unsafe { g::CPLPopErrorHandler() };
    value
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

/// Runs `f` and returns what it returned with every failure GDAL reported on this thread while it
/// ran. GDAL reports some failures only through its error handler, never through a return value:
/// a block written back from its cache when the disk is full, a file that fails to close (in
/// GDAL 3.6 `GDALClose` and `GDALFlushCache` return nothing). Warnings are not failures.
pub(crate) fn collect_failures<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let mut failures: Vec<String> = Vec::new();
    let value = {
        // The handler is popped when `_pushed` drops, also if `f` panics.
        let _pushed = PushedHandler::new(&mut failures);
        f()
    };
    (value, failures)
}

/// A handler pushed on this thread's GDAL handler stack for as long as this value lives.
struct PushedHandler;

impl PushedHandler {
    fn new(failures: &mut Vec<String>) -> PushedHandler {
        // SAFETY: `failures` outlives the handler: the handler is popped (drop below) before the
        // caller's vector goes out of scope, and GDAL calls it only on this thread.
        unsafe {
            g::CPLPushErrorHandlerEx(Some(collect_failure), (failures as *mut Vec<String>).cast())
        };
        PushedHandler
    }
}

impl Drop for PushedHandler {
    fn drop(&mut self) {
        // SAFETY: pops the handler this value pushed, on the same thread.
        unsafe { g::CPLPopErrorHandler() };
    }
}

unsafe extern "C" fn collect_failure(
    class: g::CPLErr::Type,
    _number: g::CPLErrorNum,
    message: *const std::os::raw::c_char,
) {
    if class != g::CPLErr::CE_Failure && class != g::CPLErr::CE_Fatal {
        return;
    }
    let text = opt_str(message).unwrap_or_default();
    // A panic must not unwind into GDAL's C code; there is nothing to panic on here, but the
    // guard keeps that true.
    let _ = crate::error::guarded(|| {
        // SAFETY: the user data is the vector `PushedHandler::new` registered, alive while the
        // handler is on the stack.
        let failures = unsafe { &mut *(g::CPLGetErrorHandlerUserData() as *mut Vec<String>) };
        failures.push(text);
    });
}
