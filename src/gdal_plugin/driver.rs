//! The `CLOUDMASK` raster driver: the exact virtual mask.
//!
//! GDAL 3.6 can only define drivers in C++, so `driver/shim.cpp` (compiled by build.rs) holds
//! the GDALDataset / GDALRasterBand subclasses and calls back into the `extern "C"` functions
//! below for everything: identify, open, read one block, close. The work is Rust's:
//! `super::descriptor` (what a mask is made of), `virtual_mask` (opening it and computing blocks
//! with the engine's exact tiling, a shared tile cache and a model from the process's model
//! cache).
//!
//! Every callback runs inside [`boundary`]: a panic becomes a `CPLError` and a failure status,
//! never an unwind into GDAL (which would abort gdal_translate or QGIS).

mod virtual_mask;

use super::descriptor;
use crate::error::guarded;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::catch_unwind;
use virtual_mask::VirtualMask;

extern "C" {
    /// shim.cpp: registers the driver unless GDAL already has one called CLOUDMASK.
    fn cloudmask_gdal_register_driver() -> c_int;
}

/// Registers the `CLOUDMASK` driver (idempotent).
pub fn register() {
    // SAFETY: plain C++ call that catches its own exceptions.
    if unsafe { cloudmask_gdal_register_driver() } == 0 {
        super::report_error("cloudmask plugin: registering the CLOUDMASK driver failed");
    }
}

/// One band as the C++ side sees it. Mirrors `CmBandInfo` in shim.cpp.
#[repr(C)]
pub struct CmBandInfo {
    data_type: c_int,
    has_nodata: c_int,
    nodata: f64,
    description: *const c_char,
    color_count: c_int,
    colors: *const i16,
    categories: *const *const c_char,
}

/// The dataset as the C++ side sees it. Mirrors `CmDatasetInfo` in shim.cpp.
#[repr(C)]
pub struct CmDatasetInfo {
    width: c_int,
    height: c_int,
    band_count: c_int,
    block_x: c_int,
    block_y: c_int,
    has_geotransform: c_int,
    geotransform: [f64; 6],
    projection: *const c_char,
    description: *const c_char,
    metadata: *const *const c_char,
    bands: *const CmBandInfo,
}

/// Keeps a C copy of `s` alive in `strings` and returns its pointer.
fn keep(s: &str, strings: &mut Vec<CString>) -> *const c_char {
    let c = c_str(s);
    let p = c.as_ptr();
    strings.push(c);
    p
}

/// A NULL-terminated list of C strings kept alive in `strings` and `lists`; NULL when empty.
fn list(
    items: Vec<String>,
    strings: &mut Vec<CString>,
    lists: &mut Vec<Vec<*const c_char>>,
) -> *const *const c_char {
    if items.is_empty() {
        return std::ptr::null();
    }
    let mut ptrs: Vec<*const c_char> = items.iter().map(|s| keep(s, strings)).collect();
    ptrs.push(std::ptr::null());
    let p = ptrs.as_ptr();
    lists.push(ptrs);
    p
}

/// An open dataset: the mask and the C strings its `CmDatasetInfo` points into.
struct Handle {
    mask: VirtualMask,
    _strings: Vec<CString>,
    _lists: Vec<Vec<*const c_char>>,
    _colours: Vec<Vec<i16>>,
    _bands: Vec<CmBandInfo>,
}

/// Runs a callback from GDAL: errors are reported through `CPLError`, panics are caught.
fn boundary<T>(what: &str, failed: T, f: impl FnOnce() -> crate::Result<T>) -> T {
    match guarded(f).and_then(|r| r) {
        Ok(v) => v,
        Err(e) if e.kind == crate::ErrorKind::Internal => {
            super::report_error(&format!("CLOUDMASK: {e} (while {what})"));
            failed
        }
        Err(e) => {
            super::report_error(&format!("CLOUDMASK: {e}"));
            failed
        }
    }
}

fn c_str(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

/// # Safety
/// `filename` is NULL or a C string; `header` is NULL or `header_bytes` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn cloudmask_gdal_driver_identify(
    filename: *const c_char,
    header: *const u8,
    header_bytes: c_int,
) -> c_int {
    catch_unwind(|| {
        if filename.is_null() {
            return 0;
        }
        // SAFETY: non-null C string from GDAL.
        let name = unsafe { CStr::from_ptr(filename) }.to_string_lossy();
        let head: &[u8] = if header.is_null() || header_bytes <= 0 {
            &[]
        } else {
            // SAFETY: GDAL's header buffer holds header_bytes bytes.
            unsafe { std::slice::from_raw_parts(header, header_bytes as usize) }
        };
        descriptor::identify(&name, head) as c_int
    })
    .unwrap_or(0)
}

/// Opens a mask and fills `info`; NULL (with a CPLError) on failure.
///
/// # Safety
/// `filename` is a C string and `info` points to a writable `CmDatasetInfo`; the pointers
/// written into it stay valid until `cloudmask_gdal_driver_close`.
#[no_mangle]
pub unsafe extern "C" fn cloudmask_gdal_driver_open(
    filename: *const c_char,
    info: *mut CmDatasetInfo,
) -> *mut c_void {
    boundary("opening a virtual mask", std::ptr::null_mut(), || {
        if filename.is_null() || info.is_null() {
            return Err(crate::Error::invalid("no file name given"));
        }
        // SAFETY: non-null C string from GDAL.
        let name = unsafe { CStr::from_ptr(filename) }
            .to_string_lossy()
            .into_owned();
        let mask = VirtualMask::open(&name)?;
        let mut handle = Box::new(Handle {
            mask,
            _strings: Vec::new(),
            _lists: Vec::new(),
            _colours: Vec::new(),
            _bands: Vec::new(),
        });
        let h = &mut *handle;
        let m = &h.mask;
        let metadata = list(
            m.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            &mut h._strings,
            &mut h._lists,
        );
        for b in &m.bands {
            let colours: Vec<i16> = b.look.colours.iter().flatten().map(|&c| c.into()).collect();
            let band = CmBandInfo {
                data_type: b.pixel_type.gdal() as c_int,
                has_nodata: b.look.nodata.is_some() as c_int,
                nodata: b.look.nodata.unwrap_or(0.0),
                description: keep(&b.look.description, &mut h._strings),
                color_count: b.look.colours.len() as c_int,
                colors: if colours.is_empty() {
                    std::ptr::null()
                } else {
                    colours.as_ptr()
                },
                categories: list(b.look.categories.clone(), &mut h._strings, &mut h._lists),
            };
            h._colours.push(colours);
            h._bands.push(band);
        }
        let gt = m.georef.geo_transform;
        let out = CmDatasetInfo {
            width: m.width as c_int,
            height: m.height as c_int,
            band_count: h._bands.len() as c_int,
            block_x: m.block as c_int,
            block_y: m.block as c_int,
            has_geotransform: gt.is_some() as c_int,
            geotransform: gt.unwrap_or([0.0, 1.0, 0.0, 0.0, 0.0, 1.0]),
            projection: keep(&m.georef.projection, &mut h._strings),
            description: keep(&m.connection, &mut h._strings),
            metadata,
            bands: h._bands.as_ptr(),
        };
        // SAFETY: `info` is writable (checked non-null above).
        unsafe { info.write(out) };
        Ok(Box::into_raw(handle).cast())
    })
}

/// Computes one block of one band into GDAL's buffer; 0 on success, -1 (with a CPLError) on
/// failure.
///
/// # Safety
/// `handle` comes from `cloudmask_gdal_driver_open`; `data` holds one block of the band.
#[no_mangle]
pub unsafe extern "C" fn cloudmask_gdal_driver_read_block(
    handle: *mut c_void,
    band: c_int,
    block_x: c_int,
    block_y: c_int,
    data: *mut c_void,
) -> c_int {
    boundary("computing a block", -1, || {
        if handle.is_null() || data.is_null() || band < 1 || block_x < 0 || block_y < 0 {
            return Err(crate::Error::invalid("invalid block request"));
        }
        // SAFETY: a live handle from open; only shared access is taken (VirtualMask is Sync).
        let h = unsafe { &*(handle as *const Handle) };
        // SAFETY: GDAL's block buffer holds one block of this band's type.
        unsafe {
            h.mask.read_block(
                band as usize,
                block_x as usize,
                block_y as usize,
                data.cast(),
            )?
        };
        Ok(0)
    })
}

/// Releases a dataset's state.
///
/// # Safety
/// `handle` comes from `cloudmask_gdal_driver_open` and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn cloudmask_gdal_driver_close(handle: *mut c_void) {
    boundary("closing a virtual mask", (), || {
        if !handle.is_null() {
            // SAFETY: the pointer came from Box::into_raw in open and is closed once.
            drop(unsafe { Box::from_raw(handle as *mut Handle) });
        }
        Ok(())
    })
}
