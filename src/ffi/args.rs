//! One-line checks for what C hands in: NULL pointers, strings, buffers and their lengths, and
//! integer options. Each failure is an error that names the parameter.
//!
//! Safety of all `unsafe fn`s here: a non-NULL pointer must be valid for the access its type and
//! length describe, for the duration of the call, as the header's conventions require. NULL and
//! misaligned pointers are caught and reported.

use crate::error::{Error, ErrorKind, Result};
use std::ffi::CStr;
use std::os::raw::c_char;

fn null(name: &str) -> Error {
    Error::invalid(format!("{name} is NULL"))
}

fn checked<T>(p: *const T, name: &str) -> Result<()> {
    if p.is_null() {
        return Err(null(name));
    }
    if !p.is_aligned() {
        return Err(Error::invalid(format!(
            "{name} is not aligned to {} bytes",
            std::mem::align_of::<T>()
        )));
    }
    Ok(())
}

/// A required input.
pub(crate) unsafe fn arg<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    checked(p, name)?;
    Ok(&*p)
}

/// An optional input: NULL is `None`.
pub(crate) unsafe fn opt_arg<'a, T>(p: *const T, name: &str) -> Result<Option<&'a T>> {
    if p.is_null() {
        return Ok(None);
    }
    arg(p, name).map(Some)
}

/// A required output.
pub(crate) unsafe fn out<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    checked(p, name)?;
    Ok(&mut *p)
}

/// Writes `value()` into `*out_options`; NULL writes nothing. The body of every
/// `cm_*_options_default`.
pub(crate) fn write_default<T>(out_options: *mut T, value: impl FnOnce() -> T) {
    super::panic::call_or((), || {
        // SAFETY: checked for NULL; the caller gives a writable struct.
        *unsafe { out(out_options, "out_options") }? = value();
        Ok(())
    })
}

/// A required NUL-terminated UTF-8 string.
pub(crate) unsafe fn text<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    checked(p, name)?;
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::invalid(format!("{name} is not valid UTF-8")))
}

/// An optional string: NULL is `None`.
pub(crate) unsafe fn opt_text<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        return Ok(None);
    }
    text(p, name).map(Some)
}

/// A required input buffer of `len` elements.
pub(crate) unsafe fn input<'a, T>(p: *const T, len: usize, name: &str) -> Result<&'a [T]> {
    checked(p, name)?;
    Ok(std::slice::from_raw_parts(p, len))
}

/// A required output buffer of `len` elements.
pub(crate) unsafe fn output<'a, T>(p: *mut T, len: usize, name: &str) -> Result<&'a mut [T]> {
    checked(p, name)?;
    Ok(std::slice::from_raw_parts_mut(p, len))
}

/// An optional output buffer: NULL is `None` (its length is then ignored).
pub(crate) unsafe fn opt_output<'a, T>(
    p: *mut T,
    len: usize,
    name: &str,
) -> Result<Option<&'a mut [T]>> {
    if p.is_null() {
        return Ok(None);
    }
    output(p, len, name).map(Some)
}

/// Fails with `CM_ERROR_BUFFER_TOO_SMALL`, giving the size needed, when `len < needed`.
/// How many values a buffer of `n_bands` planes of `width` x `height` holds; an error when the
/// product overflows (a caller's sizes must never wrap into a small buffer length).
pub(crate) fn band_values(n_bands: usize, width: usize, height: usize) -> Result<usize> {
    n_bands
        .checked_mul(width)
        .and_then(|n| n.checked_mul(height))
        .ok_or_else(|| {
            Error::invalid(format!(
                "{n_bands} bands x {width} x {height} values overflow"
            ))
        })
}

pub(crate) fn need(name: &str, len: usize, needed: usize, unit: &str) -> Result<()> {
    if len < needed {
        return Err(Error::new(
            ErrorKind::BufferTooSmall,
            format!("{name} holds {len} {unit} but {needed} are needed"),
        ));
    }
    Ok(())
}

/// Copies `s` and a NUL into a caller's buffer of `len` bytes; nothing is written when it does
/// not fit.
pub(crate) unsafe fn write_text(s: &str, buf: *mut c_char, len: usize, name: &str) -> Result<()> {
    let dst = output(buf.cast::<u8>(), len, name)?;
    need(name, len, s.len() + 1, "bytes")?;
    dst[..s.len()].copy_from_slice(s.as_bytes());
    dst[s.len()] = 0;
    Ok(())
}

/// Copies `s` into `buf` like snprintf: cut at a UTF-8 boundary to fit `len` bytes with its NUL
/// (nothing written when `buf` is NULL or `len` is 0), and returns the length the whole text
/// needs, NUL included.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes.
pub(crate) unsafe fn write_truncated(s: &str, buf: *mut c_char, len: usize) -> usize {
    if !buf.is_null() && len > 0 {
        let mut n = s.len().min(len - 1);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf as *mut u8, n);
        *buf.add(n) = 0;
    }
    s.len() + 1
}

/// An `int32_t` option that must be at least `min`.
pub(crate) fn at_least(value: i32, min: i32, name: &str) -> Result<usize> {
    if value < min {
        return Err(Error::invalid(format!(
            "{name} is {value} but must be at least {min}"
        )));
    }
    Ok(value as usize)
}

/// An `int32_t` option where -1 means "the default" (`None`) and other values must be >= `min`.
pub(crate) fn or_default(value: i32, min: i32, name: &str) -> Result<Option<usize>> {
    if value == -1 {
        return Ok(None);
    }
    if value < min {
        return Err(Error::invalid(format!(
            "{name} is {value} but must be -1 (the default) or at least {min}"
        )));
    }
    Ok(Some(value as usize))
}

/// An `int32_t` option that must lie in `min..=max` (a documented limit, `crate::limits`).
pub(crate) fn in_range(value: i32, min: u64, max: u64, name: &str) -> Result<usize> {
    crate::limits::check(name, value, min, max).map(|v| v as usize)
}

/// An `int32_t` option where -1 means "the default" (`None`) and other values must lie in
/// `min..=max`.
pub(crate) fn or_default_in(value: i32, min: u64, max: u64, name: &str) -> Result<Option<usize>> {
    if value == -1 {
        return Ok(None);
    }
    in_range(value, min, max, name)
        .map(Some)
        .map_err(|e| Error::invalid(format!("{} (or -1 for the default)", e.message)))
}
