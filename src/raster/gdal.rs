//! A thin, safe layer over the GDAL C API (gdal-sys, system libgdal).
//!
//! GDAL handles are re-entrant but not thread-safe: [`Dataset`] is `Send` (it may move to a
//! reader thread) but not `Sync` (two threads must never use it at once).

use crate::error::{Error, ErrorKind, Result};
use gdal_sys as g;
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::Path;
use std::sync::Once;

// gdal.h macros that bindgen does not carry.
const GDAL_OF_READONLY: u32 = 0x00;
const GDAL_OF_RASTER: u32 = 0x02;
const GDAL_OF_VERBOSE_ERROR: u32 = 0x40;

pub(crate) fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("'{s}' contains a NUL byte")))
}

/// Registers GDAL's drivers once per process.
pub fn register_drivers() {
    static ONCE: Once = Once::new();
    // SAFETY: plain GDAL initialisation.
    ONCE.call_once(|| unsafe { g::GDALAllRegister() });
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

/// Runtime GDAL version, e.g. "3.6.2".
pub fn version() -> String {
    // SAFETY: static string owned by GDAL.
    unsafe {
        CStr::from_ptr(g::GDALVersionInfo(c"RELEASE_NAME".as_ptr()))
            .to_string_lossy()
            .into_owned()
    }
}

pub(crate) fn opt_str(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-null C string owned by GDAL, copied immediately.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
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
    /// Opens a raster read-only with a message that names the file when GDAL cannot.
    pub fn open(path: &str) -> Result<Dataset> {
        let ds = Dataset::open_container(path)?;
        if ds.band_count() == 0 {
            return Err(Error::input(format!(
                "{path} has no raster bands of its own{}",
                if ds.subdatasets().is_empty() {
                    ""
                } else {
                    "; its bands are in subdatasets (see `gdalinfo`)"
                }
            )));
        }
        Ok(ds)
    }

    /// Like [`Dataset::open`], but also accepts a product whose bands live only in
    /// subdatasets (a Sentinel-2 .SAFE, a multi-table GeoPackage, …). A `.SAFE` folder is opened
    /// through the product metadata file inside it.
    pub fn open_container(path: &str) -> Result<Dataset> {
        register_drivers();
        if !path.starts_with("/vsi") && !path.contains(':') && !Path::new(path).exists() {
            return Err(Error::input(format!("input raster {path} does not exist")));
        }
        let mut target = path.to_string();
        if Path::new(path).is_dir() {
            let inner = ["MTD_MSIL1C.xml", "MTD_MSIL2A.xml"]
                .iter()
                .map(|f| Path::new(path).join(f))
                .find(|p| p.is_file());
            match inner {
                Some(p) => target = p.to_string_lossy().into_owned(),
                None => return Err(Error::input(format!("{path} is a folder, not a raster (for a Sentinel-2 .SAFE, it must hold MTD_MSIL1C.xml or MTD_MSIL2A.xml)"))),
            }
        }
        let c = cstring(&target)?;
        // SAFETY: valid C string; flags ask for a read-only raster, errors reported via CPL.
        let handle = unsafe {
            g::GDALOpenEx(
                c.as_ptr(),
                GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if handle.is_null() {
            let why = take_last_error();
            return Err(Error::input(format!(
                "cannot open {path} as a raster: {why}"
            )));
        }
        Ok(Dataset {
            handle,
            owned: true,
            description: path.to_string(),
            _source: None,
        })
    }

    /// Opens `name` with one named driver only (e.g. a `CLOUDMASK:` connection string).
    pub fn open_with_driver(name: &str, driver: &str) -> Result<Dataset> {
        register_drivers();
        let c_name = cstring(name)?;
        let c_driver = cstring(driver)?;
        let drivers = [c_driver.as_ptr(), std::ptr::null()];
        // SAFETY: valid C strings and a NULL-terminated driver list; the handle becomes ours.
        let handle = unsafe {
            g::GDALOpenEx(
                c_name.as_ptr(),
                GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR,
                drivers.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if handle.is_null() {
            let why = take_last_error();
            return Err(Error::input(if why.is_empty() {
                format!("the {driver} driver could not open {name}")
            } else {
                why
            }));
        }
        Ok(Dataset::from_owned_handle(handle, name))
    }

    /// Writes a copy of this dataset with another driver (e.g. "VRT") and closes it.
    pub fn copy_to(&self, driver: &str, path: &Path) -> Result<()> {
        let c_driver = cstring(driver)?;
        let c_path = cstring(&path.to_string_lossy())?;
        // SAFETY: valid handles and C strings; the copy is closed at once.
        unsafe {
            let drv = g::GDALGetDriverByName(c_driver.as_ptr());
            if drv.is_null() {
                return Err(Error::output(format!("GDAL has no {driver} driver")));
            }
            let copy = g::GDALCreateCopy(
                drv,
                c_path.as_ptr(),
                self.handle,
                0,
                std::ptr::null_mut(),
                None,
                std::ptr::null_mut(),
            );
            if copy.is_null() {
                return Err(Error::output(format!(
                    "writing {} failed: {}",
                    path.display(),
                    take_last_error()
                )));
            }
            g::GDALClose(copy);
        }
        Ok(())
    }

    /// Subdataset names and descriptions (GDAL's SUBDATASETS metadata), in GDAL's order.
    pub fn subdatasets(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for i in 1.. {
            let name = metadata_item(
                self.handle as g::GDALMajorObjectH,
                &format!("SUBDATASET_{i}_NAME"),
                "SUBDATASETS",
            );
            let Some(name) = name else { break };
            let desc = metadata_item(
                self.handle as g::GDALMajorObjectH,
                &format!("SUBDATASET_{i}_DESC"),
                "SUBDATASETS",
            )
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
            None => self.handle as g::GDALMajorObjectH,
        };
        let Ok(d) = CString::new(domain) else {
            return Vec::new();
        };
        let dp = if domain.is_empty() {
            std::ptr::null()
        } else {
            d.as_ptr()
        };
        let mut out = Vec::new();
        // SAFETY: GDAL returns a NULL-terminated list it owns; entries are copied at once.
        unsafe {
            let list = g::GDALGetMetadata(obj, dp);
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

    /// GDAL data type name of a band, e.g. "UInt16".
    pub fn band_type_name(&self, index: usize) -> String {
        let Ok(b) = self.band(index) else {
            return String::new();
        };
        // SAFETY: valid band; GDAL returns a static name.
        unsafe { opt_str(g::GDALGetDataTypeName(g::GDALGetRasterDataType(b))).unwrap_or_default() }
    }

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

    /// Band description (GDAL's band name), 1-based index.
    pub fn band_description(&self, index: usize) -> String {
        self.band(index)
            .ok()
            // SAFETY: valid band handle.
            .and_then(|b| opt_str(unsafe { g::GDALGetDescription(b as g::GDALMajorObjectH) }))
            .unwrap_or_default()
    }

    pub fn band_metadata_item(&self, index: usize, key: &str, domain: &str) -> Option<String> {
        let b = self.band(index).ok()?;
        metadata_item(b as g::GDALMajorObjectH, key, domain)
    }

    pub fn metadata_item(&self, key: &str, domain: &str) -> Option<String> {
        metadata_item(self.handle as g::GDALMajorObjectH, key, domain)
    }

    pub fn band_nodata(&self, index: usize) -> Option<f64> {
        let b = self.band(index).ok()?;
        let mut has = 0;
        // SAFETY: valid band, out-parameter on our stack.
        let v = unsafe { g::GDALGetRasterNoDataValue(b, &mut has) };
        (has != 0).then_some(v)
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

    pub fn geo_transform(&self) -> Option<[f64; 6]> {
        let mut gt = [0.0f64; 6];
        // SAFETY: GDAL writes 6 doubles.
        let err = unsafe { g::GDALGetGeoTransform(self.handle, gt.as_mut_ptr()) };
        (err == g::CPLErr::CE_None).then_some(gt)
    }

    pub fn projection(&self) -> String {
        // SAFETY: valid handle; string copied.
        opt_str(unsafe { g::GDALGetProjectionRef(self.handle) }).unwrap_or_default()
    }

    /// Creates a raster with a GDAL driver ("GTiff", "MEM", …) and creation options.
    pub fn create(
        driver: &str,
        path: &str,
        width: usize,
        height: usize,
        bands: usize,
        data_type: PixelType,
        options: &[&str],
    ) -> Result<Dataset> {
        register_drivers();
        let c_driver = cstring(driver)?;
        let c_path = cstring(path)?;
        let mut opts = CStringList::new(options)?;
        // SAFETY: valid C strings and a NULL-terminated option list; the handle becomes ours.
        let handle = unsafe {
            let drv = g::GDALGetDriverByName(c_driver.as_ptr());
            if drv.is_null() {
                return Err(Error::output(format!("GDAL has no {driver} driver")));
            }
            g::GDALCreate(
                drv,
                c_path.as_ptr(),
                width as i32,
                height as i32,
                bands as i32,
                data_type.gdal(),
                opts.as_ptr(),
            )
        };
        if handle.is_null() {
            return Err(Error::output(format!(
                "cannot create {path}: {}",
                take_last_error()
            )));
        }
        Ok(Dataset::from_owned_handle(handle, path))
    }

    /// Reads a window of one band (1-based) as f32, row-major, into `out` (len w*h).
    pub fn read_f32(
        &self,
        band: usize,
        x: usize,
        y: usize,
        w: usize,
        h: usize,
        out: &mut [f32],
    ) -> Result<()> {
        self.read_f32_resampled(band, x, y, w, h, w, h, out)
    }

    /// Reads a window into a buffer of `buf_w` x `buf_h`; GDAL picks the nearest pixels when the
    /// buffer is smaller than the window (for quicklooks).
    #[allow(clippy::too_many_arguments)]
    pub fn read_f32_resampled(
        &self,
        band: usize,
        x: usize,
        y: usize,
        w: usize,
        h: usize,
        buf_w: usize,
        buf_h: usize,
        out: &mut [f32],
    ) -> Result<()> {
        self.raster_io(
            band,
            Io::Read,
            (x, y, w, h),
            (buf_w, buf_h),
            out.as_mut_ptr().cast(),
            out.len(),
            PixelType::F32,
        )
    }

    /// Writes a window of one band (1-based) from `data` (len w*h, row-major).
    pub fn write<T: Pixel>(
        &self,
        band: usize,
        x: usize,
        y: usize,
        w: usize,
        h: usize,
        data: &[T],
    ) -> Result<()> {
        self.raster_io(
            band,
            Io::Write,
            (x, y, w, h),
            (w, h),
            data.as_ptr() as *mut libc::c_void,
            data.len(),
            T::TYPE,
        )
    }

    /// Reads a window of one band (1-based) into `out` (len w*h, row-major).
    pub fn read<T: Pixel>(
        &self,
        band: usize,
        x: usize,
        y: usize,
        w: usize,
        h: usize,
        out: &mut [T],
    ) -> Result<()> {
        self.raster_io(
            band,
            Io::Read,
            (x, y, w, h),
            (w, h),
            out.as_mut_ptr().cast(),
            out.len(),
            T::TYPE,
        )
    }

    /// The one checked path to GDALRasterIO: the window must lie inside the raster and the
    /// buffer must hold exactly buf_w x buf_h values of `pixel`.
    #[allow(clippy::too_many_arguments)]
    fn raster_io(
        &self,
        band: usize,
        io: Io,
        (x, y, w, h): (usize, usize, usize, usize),
        (buf_w, buf_h): (usize, usize),
        buf: *mut libc::c_void,
        buf_len: usize,
        pixel: PixelType,
    ) -> Result<()> {
        if x + w > self.width() || y + h > self.height() || buf_len != buf_w * buf_h {
            return Err(Error::window(format!(
                "{} of {w}x{h} at ({x},{y}) does not fit {} ({}x{}) or its buffer",
                io.verb(),
                self.description,
                self.width(),
                self.height()
            )));
        }
        let b = self.band(band)?;
        let flag = match io {
            Io::Read => g::GDALRWFlag::GF_Read,
            Io::Write => g::GDALRWFlag::GF_Write,
        };
        // SAFETY: the buffer holds buf_w * buf_h values of `pixel` (checked above); the window
        // lies inside the raster.
        let err = unsafe {
            g::GDALRasterIO(
                b,
                flag,
                x as i32,
                y as i32,
                w as i32,
                h as i32,
                buf,
                buf_w as i32,
                buf_h as i32,
                pixel.gdal(),
                0,
                0,
            )
        };
        if err != g::CPLErr::CE_None {
            let kind = match io {
                Io::Read => ErrorKind::Input,
                Io::Write => ErrorKind::Output,
            };
            return Err(Error::new(
                kind,
                format!(
                    "{} band {band} of {} failed: {}",
                    io.verb(),
                    self.description,
                    take_last_error()
                ),
            ));
        }
        Ok(())
    }

    pub fn set_band_description(&self, band: usize, text: &str) -> Result<()> {
        let b = self.band(band)?;
        let c = cstring(text)?;
        // SAFETY: valid band; GDAL copies the string.
        unsafe { g::GDALSetDescription(b as g::GDALMajorObjectH, c.as_ptr()) };
        Ok(())
    }

    pub fn set_band_nodata(&self, band: usize, value: f64) -> Result<()> {
        let b = self.band(band)?;
        // SAFETY: valid band.
        unsafe { g::GDALSetRasterNoDataValue(b, value) };
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Io {
    Read,
    Write,
}

impl Io {
    fn verb(self) -> &'static str {
        match self {
            Io::Read => "reading",
            Io::Write => "writing",
        }
    }
}

/// Rust types that are GDAL pixel types.
pub trait Pixel: Copy {
    const TYPE: PixelType;
}

impl Pixel for u8 {
    const TYPE: PixelType = PixelType::U8;
}

impl Pixel for f32 {
    const TYPE: PixelType = PixelType::F32;
}

/// Pixel types cloudmask reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelType {
    U8,
    F32,
}

impl PixelType {
    pub(crate) fn gdal(self) -> g::GDALDataType::Type {
        match self {
            PixelType::U8 => g::GDALDataType::GDT_Byte,
            PixelType::F32 => g::GDALDataType::GDT_Float32,
        }
    }
}

pub(crate) fn metadata_item(obj: g::GDALMajorObjectH, key: &str, domain: &str) -> Option<String> {
    let k = CString::new(key).ok()?;
    let d = CString::new(domain).ok()?;
    let dp = if domain.is_empty() {
        std::ptr::null()
    } else {
        d.as_ptr()
    };
    // SAFETY: valid object and C strings; result copied.
    opt_str(unsafe { g::GDALGetMetadataItem(obj, k.as_ptr(), dp) })
}

pub(crate) fn set_metadata_item(obj: g::GDALMajorObjectH, key: &str, value: &str) -> Result<()> {
    let k = cstring(key)?;
    let v = cstring(value)?;
    // SAFETY: valid object and C strings (GDAL copies them).
    unsafe { g::GDALSetMetadataItem(obj, k.as_ptr(), v.as_ptr(), std::ptr::null()) };
    Ok(())
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
