//! A thin, safe layer over the GDAL C API (gdal-sys, system libgdal).
//!
//! GDAL handles are re-entrant but not thread-safe: [`Dataset`] is `Send` (it may move to a
//! reader thread) but not `Sync` (two threads must never use it at once).
//!
//! One job a file: `cpl` C strings and GDAL's error state, `open` opening and creating
//! datasets, `pixels` reading and writing band windows, `metadata` what a dataset says about
//! itself, `vsi` GDAL's virtual file system (folders and archives), `xml` metadata documents GDAL
//! hands over as text; this file holds the handle itself.

mod cpl;
mod metadata;
mod open;
mod pixels;
pub mod vsi;
mod xml;

pub use cpl::silence_gdal_error_printing;
pub(crate) use cpl::{collect_failures, cstring, opt_str, quietly, take_last_error, CStringList};
pub(crate) use metadata::set_metadata_item;
pub use metadata::ValueKind;

pub use pixels::{Pixel, PixelType};
pub(crate) use xml::escape;
pub use xml::{XmlDoc, XmlNode};

use crate::error::{Error, Result};
use gdal_sys as g;
use std::ffi::CStr;
use std::sync::Once;

/// Registers GDAL's drivers once per process.
pub fn register_drivers() {
    static ONCE: Once = Once::new();
    // SAFETY: plain GDAL initialisation.
    ONCE.call_once(|| unsafe { g::GDALAllRegister() });
}

/// Runtime GDAL version, e.g. "3.6.2".
pub fn version() -> String {
    // SAFETY: static string owned by GDAL.
    unsafe {
        CStr::from_ptr(g::GDALVersionInfo(c"RELEASE_NAME".as_ptr()))
            .to_string_lossy()
            .into_owned()
    }
}

/// An open GDAL dataset. Owned datasets are closed on drop; borrowed ones (handed in through
/// the C API) are left to their owner.
pub struct Dataset {
    handle: g::GDALDatasetH,
    owned: bool,
    pub description: String,
    /// A dataset this one reads through (a VRT made by GDALTranslate refers to its source's
    /// handle), closed only after this one.
    _source: Option<Box<Dataset>>,
}

// SAFETY: a GDAL dataset handle may be used from any thread, one thread at a time (not Sync).
unsafe impl Send for Dataset {}

impl Drop for Dataset {
    fn drop(&mut self) {
        if self.owned && !self.handle.is_null() {
            // SAFETY: we own the handle and close it exactly once.
            unsafe { g::GDALClose(self.handle) };
        }
    }
}

impl Dataset {
    /// Wraps a handle owned by someone else (the C API's caller).
    ///
    /// # Safety
    /// `handle` must be a valid, open dataset that outlives the returned value.
    pub unsafe fn borrow(handle: g::GDALDatasetH) -> Dataset {
        let description =
            opt_str(g::GDALGetDescription(handle as g::GDALMajorObjectH)).unwrap_or_default();
        Dataset {
            handle,
            owned: false,
            description,
            _source: None,
        }
    }

    pub(crate) fn from_owned_handle(handle: g::GDALDatasetH, description: &str) -> Dataset {
        Dataset {
            handle,
            owned: true,
            description: description.to_string(),
            _source: None,
        }
    }

    /// A dataset derived from `source` (e.g. a resampling VRT) that keeps it open.
    pub(crate) fn derived(handle: g::GDALDatasetH, source: Dataset) -> Dataset {
        Dataset {
            handle,
            owned: true,
            description: source.description.clone(),
            _source: Some(Box::new(source)),
        }
    }

    pub fn handle(&self) -> g::GDALDatasetH {
        self.handle
    }

    pub fn width(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { g::GDALGetRasterXSize(self.handle) as usize }
    }

    pub fn height(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { g::GDALGetRasterYSize(self.handle) as usize }
    }

    pub fn band_count(&self) -> usize {
        // SAFETY: valid handle.
        unsafe { g::GDALGetRasterCount(self.handle) as usize }
    }

    /// The handle of band `index` (1-based), or an error naming the dataset's band count.
    fn band(&self, index: usize) -> Result<g::GDALRasterBandH> {
        if index == 0 || index > self.band_count() {
            return Err(Error::bands(format!(
                "band {index} does not exist in {} ({} bands)",
                self.description,
                self.band_count()
            )));
        }
        // SAFETY: index checked above.
        Ok(unsafe { g::GDALGetRasterBand(self.handle, index as i32) })
    }
}
