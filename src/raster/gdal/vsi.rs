//! GDAL's virtual file system (VSI): listing folders and reading small files wherever GDAL can
//! reach them, plain paths and archives (`/vsitar/`) alike, so a product opener need not care
//! whether its scene was unpacked.

use super::cpl::{cstring, opt_str, take_last_error};
use crate::error::{Error, Result};
use gdal_sys as g;

/// The names in the folder `path` (a plain folder or one inside an archive, e.g.
/// `/vsitar/scene.tar`), every level down, as paths relative to `path`; empty when it cannot be
/// listed.
pub fn read_dir_recursive(path: &str) -> Result<Vec<String>> {
    let c = cstring(path)?;
    // SAFETY: valid C string; the returned CSL list is ours and destroyed below.
    let list = unsafe { g::VSIReadDirRecursive(c.as_ptr()) };
    if list.is_null() {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    // SAFETY: a NULL-terminated array of C strings, read before it is destroyed.
    unsafe {
        let mut p = list;
        while !(*p).is_null() {
            if let Some(s) = opt_str(*p) {
                names.push(s);
            }
            p = p.add(1);
        }
        g::CSLDestroy(list);
    }
    Ok(names)
}

/// The whole file at `path` (any VSI path), refused when larger than `max_bytes`.
pub fn read_file(path: &str, max_bytes: usize) -> Result<Vec<u8>> {
    let c = cstring(path)?;
    let mut buf: *mut g::GByte = std::ptr::null_mut();
    let mut size: g::vsi_l_offset = 0;
    // SAFETY: GDAL opens, reads and closes the file itself (fp NULL); on success `buf` holds
    // `size` bytes that we copy and free with VSIFree.
    let ok = unsafe {
        g::VSIIngestFile(
            std::ptr::null_mut(),
            c.as_ptr(),
            &mut buf,
            &mut size,
            max_bytes as g::GIntBig,
        )
    };
    if ok == 0 || buf.is_null() {
        let why = take_last_error();
        return Err(Error::input(if why.is_empty() {
            format!("cannot read {path}")
        } else {
            format!("cannot read {path}: {why}")
        }));
    }
    // SAFETY: `buf` holds `size` bytes owned by GDAL until freed here.
    let bytes = unsafe {
        let v = std::slice::from_raw_parts(buf, size as usize).to_vec();
        g::VSIFree(buf as *mut libc::c_void);
        v
    };
    Ok(bytes)
}
