//! What a dataset says about itself: metadata domains, subdatasets, band descriptions, types
//! and nodata, and its georeferencing.

use super::cpl::{cstring, opt_str};
use super::Dataset;
use crate::error::Result;
use gdal_sys as g;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;

impl Dataset {
    /// Subdataset names and descriptions (GDAL's SUBDATASETS metadata), in GDAL's order.
    pub fn subdatasets(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for i in 1.. {
            let Some(name) = self.metadata_item(&format!("SUBDATASET_{i}_NAME"), "SUBDATASETS")
            else {
                break;
            };
            let desc = self
                .metadata_item(&format!("SUBDATASET_{i}_DESC"), "SUBDATASETS")
                .unwrap_or_default();
            out.push((name, desc));
        }
        out
    }

    /// All `KEY=VALUE` items of a metadata domain ("" for the default one) of the dataset, or of
    /// a band when `band` is given.
    pub fn metadata_list(&self, band: Option<usize>, domain: &str) -> Vec<(String, String)> {
        let obj = match band {
            Some(b) => match self.band(b) {
                Ok(h) => h as g::GDALMajorObjectH,
                Err(_) => return Vec::new(),
            },
            None => self.handle() as g::GDALMajorObjectH,
        };
        let Ok(d) = CString::new(domain) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // SAFETY: GDAL returns a NULL-terminated list it owns; entries are copied at once.
        unsafe {
            let list = g::GDALGetMetadata(obj, domain_ptr(&d));
            if !list.is_null() {
                let mut i = 0;
                while !(*list.add(i)).is_null() {
                    let entry = CStr::from_ptr(*list.add(i)).to_string_lossy().into_owned();
                    if let Some((k, v)) = entry.split_once('=') {
                        out.push((k.to_string(), v.to_string()));
                    }
                    i += 1;
                }
            }
        }
        out
    }

    pub fn metadata_item(&self, key: &str, domain: &str) -> Option<String> {
        metadata_item(self.handle() as g::GDALMajorObjectH, key, domain)
    }

    pub fn band_metadata_item(&self, index: usize, key: &str, domain: &str) -> Option<String> {
        let b = self.band(index).ok()?;
        metadata_item(b as g::GDALMajorObjectH, key, domain)
    }

    /// GDAL data type name of a band, e.g. "UInt16".
    pub fn band_type_name(&self, index: usize) -> String {
        let Ok(b) = self.band(index) else {
            return String::new();
        };
        // SAFETY: valid band; GDAL returns a static name.
        unsafe { opt_str(g::GDALGetDataTypeName(g::GDALGetRasterDataType(b))).unwrap_or_default() }
    }

    /// True when the band stores integers (digital numbers rather than reflectance).
    pub fn band_is_integer(&self, index: usize) -> bool {
        let Ok(b) = self.band(index) else {
            return false;
        };
        // SAFETY: valid band.
        let t = unsafe { g::GDALGetRasterDataType(b) };
        !matches!(
            t,
            g::GDALDataType::GDT_Float32
                | g::GDALDataType::GDT_Float64
                | g::GDALDataType::GDT_CFloat32
                | g::GDALDataType::GDT_CFloat64
        )
    }

    /// What a band's values are, for scaling them to reflectance (1-based index; a band that
    /// does not exist reads as [`ValueKind::Float`], and reading it fails later with its reason).
    pub fn band_kind(&self, index: usize) -> ValueKind {
        let Ok(b) = self.band(index) else {
            return ValueKind::Float;
        };
        // SAFETY: valid band.
        let t = unsafe { g::GDALGetRasterDataType(b) };
        match t {
            g::GDALDataType::GDT_Byte | GDT_INT8 => ValueKind::SmallInteger,
            g::GDALDataType::GDT_Float32 | g::GDALDataType::GDT_Float64 => ValueKind::Float,
            g::GDALDataType::GDT_CInt16
            | g::GDALDataType::GDT_CInt32
            | g::GDALDataType::GDT_CFloat32
            | g::GDALDataType::GDT_CFloat64 => ValueKind::Complex,
            _ => ValueKind::Integer,
        }
    }

    /// The band's GDAL scale and offset (stored value * scale + offset), when either is set to
    /// anything but the identity. Formats differ in whether they report an unset scale as
    /// "not set" or as 1, so the identity counts as unset.
    pub fn band_scale_offset(&self, index: usize) -> Option<(f64, f64)> {
        let b = self.band(index).ok()?;
        let (mut has_scale, mut has_offset) = (0, 0);
        // SAFETY: valid band, out-parameters on our stack.
        let (scale, offset) = unsafe {
            (
                g::GDALGetRasterScale(b, &mut has_scale),
                g::GDALGetRasterOffset(b, &mut has_offset),
            )
        };
        let scale = if has_scale != 0 { scale } else { 1.0 };
        let offset = if has_offset != 0 { offset } else { 0.0 };
        (scale != 1.0 || offset != 0.0).then_some((scale, offset))
    }

    /// Band description (GDAL's band name), 1-based index.
    pub fn band_description(&self, index: usize) -> String {
        self.band(index)
            .ok()
            // SAFETY: valid band handle.
            .and_then(|b| opt_str(unsafe { g::GDALGetDescription(b as g::GDALMajorObjectH) }))
            .unwrap_or_default()
    }

    pub fn set_band_description(&self, band: usize, text: &str) -> Result<()> {
        let b = self.band(band)?;
        let c = cstring(text)?;
        // SAFETY: valid band; GDAL copies the string.
        unsafe { g::GDALSetDescription(b as g::GDALMajorObjectH, c.as_ptr()) };
        Ok(())
    }

    pub fn band_nodata(&self, index: usize) -> Option<f64> {
        let b = self.band(index).ok()?;
        let mut has = 0;
        // SAFETY: valid band, out-parameter on our stack.
        let v = unsafe { g::GDALGetRasterNoDataValue(b, &mut has) };
        (has != 0).then_some(v)
    }

    pub fn set_band_nodata(&self, band: usize, value: f64) -> Result<()> {
        let b = self.band(band)?;
        // SAFETY: valid band.
        unsafe { g::GDALSetRasterNoDataValue(b, value) };
        Ok(())
    }

    pub fn geo_transform(&self) -> Option<[f64; 6]> {
        let mut gt = [0.0f64; 6];
        // SAFETY: GDAL writes 6 doubles.
        let err = unsafe { g::GDALGetGeoTransform(self.handle(), gt.as_mut_ptr()) };
        (err == g::CPLErr::CE_None).then_some(gt)
    }

    pub fn projection(&self) -> String {
        // SAFETY: valid handle; string copied.
        opt_str(unsafe { g::GDALGetProjectionRef(self.handle()) }).unwrap_or_default()
    }
}

/// GDAL 3.7's `GDT_Int8` (GDAL 3.6 stores signed bytes as Byte with `PIXELTYPE=SIGNEDBYTE`,
/// which is a Byte band here too); the bindings of GDAL 3.6 do not name it.
const GDT_INT8: g::GDALDataType::Type = 14;

/// The kinds of stored values that scale to reflectance differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Byte and Int8: too narrow for Sentinel-2 digital numbers (0..10000), so their scaling
    /// must be given.
    SmallInteger,
    /// 16 bits and wider: digital numbers.
    Integer,
    /// Float32, Float64: reflectance.
    Float,
    /// CInt16 … CFloat64: no reflectance.
    Complex,
}

fn metadata_item(obj: g::GDALMajorObjectH, key: &str, domain: &str) -> Option<String> {
    let k = CString::new(key).ok()?;
    let d = CString::new(domain).ok()?;
    // SAFETY: valid object and C strings; result copied.
    opt_str(unsafe { g::GDALGetMetadataItem(obj, k.as_ptr(), domain_ptr(&d)) })
}

pub(crate) fn set_metadata_item(obj: g::GDALMajorObjectH, key: &str, value: &str) -> Result<()> {
    let k = cstring(key)?;
    let v = cstring(value)?;
    // SAFETY: valid object and C strings (GDAL copies them).
    unsafe { g::GDALSetMetadataItem(obj, k.as_ptr(), v.as_ptr(), std::ptr::null()) };
    Ok(())
}

/// GDAL names the default metadata domain with NULL, not "".
fn domain_ptr(domain: &CStr) -> *const c_char {
    if domain.is_empty() {
        std::ptr::null()
    } else {
        domain.as_ptr()
    }
}

impl Dataset {
    /// The short name of the driver that opened this dataset ("GTiff", "SENTINEL2", …).
    pub fn driver_name(&self) -> String {
        // SAFETY: valid handle; GDAL owns the driver and its name, copied at once.
        opt_str(unsafe { g::GDALGetDriverShortName(g::GDALGetDatasetDriver(self.handle())) })
            .unwrap_or_default()
    }

    /// The document of an `xml:` metadata domain (e.g. `xml:SENTINEL2`, the product's main
    /// metadata file as GDAL read it): such a domain holds one XML string, not KEY=VALUE items.
    pub fn metadata_xml(&self, domain: &str) -> Option<String> {
        let d = CString::new(domain).ok()?;
        // SAFETY: GDAL returns a NULL-terminated list it owns; the first entry is copied.
        unsafe {
            let list = g::GDALGetMetadata(self.handle() as g::GDALMajorObjectH, d.as_ptr());
            if list.is_null() || (*list).is_null() {
                return None;
            }
            Some(CStr::from_ptr(*list).to_string_lossy().into_owned())
        }
    }
}
