//! Opening, creating and copying datasets: every GDALOpenEx, GDALCreate and GDALCreateCopy
//! cloudmask makes goes through here.

use super::cpl::{cstring, take_last_error, CStringList};
use super::{register_drivers, Dataset, PixelType};
use crate::error::{Error, Result};
use gdal_sys as g;
use std::path::Path;

// gdal.h macros that bindgen does not carry.
const GDAL_OF_READONLY: u32 = 0x00;
const GDAL_OF_RASTER: u32 = 0x02;
const GDAL_OF_VERBOSE_ERROR: u32 = 0x40;

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
        let handle = open_ex(&target, None)?;
        if handle.is_null() {
            let why = take_last_error();
            return Err(Error::input(format!(
                "cannot open {path} as a raster: {why}"
            )));
        }
        Ok(Dataset::from_owned_handle(handle, path))
    }

    /// Opens `name` with one named driver only (e.g. a `CLOUDMASK:` connection string).
    pub fn open_with_driver(name: &str, driver: &str) -> Result<Dataset> {
        register_drivers();
        let handle = open_ex(name, Some(driver))?;
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
        let c_path = cstring(path)?;
        let mut opts = CStringList::new(options)?;
        let drv = driver_by_name(driver)?;
        // GDAL sizes are C ints: a larger size must be an error, not a wrapped (smaller) raster.
        let int = |v: usize| {
            i32::try_from(v).map_err(|_| {
                Error::output(format!(
                    "cannot create {path}: {width} x {height} pixels x {bands} bands exceeds GDAL's limit of {} per dimension",
                    i32::MAX
                ))
            })
        };
        let (width, height, bands) = (int(width)?, int(height)?, int(bands)?);
        // SAFETY: valid driver, C strings and a NULL-terminated option list; the handle becomes
        // ours.
        let handle = unsafe {
            g::GDALCreate(
                drv,
                c_path.as_ptr(),
                width,
                height,
                bands,
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

    /// Opens a VRT given as XML in place of a file name (the stacks and resamplings cloudmask
    /// builds in memory); GDAL's message when it cannot. The handle is the caller's to own.
    pub(crate) fn open_vrt_xml(xml: &str) -> std::result::Result<g::GDALDatasetH, String> {
        register_drivers();
        let c = cstring(xml).map_err(|e| e.message)?;
        // SAFETY: a valid C string; the handle becomes the caller's.
        let handle = unsafe { g::GDALOpen(c.as_ptr(), g::GDALAccess::GA_ReadOnly) };
        if handle.is_null() {
            return Err(take_last_error());
        }
        Ok(handle)
    }

    /// Opens a raster file for update (to add overviews to a file just written).
    pub fn open_update(path: &str) -> Result<Dataset> {
        register_drivers();
        let c = cstring(path)?;
        // SAFETY: a valid C string; the handle becomes ours.
        let handle = unsafe { g::GDALOpen(c.as_ptr(), g::GDALAccess::GA_Update) };
        if handle.is_null() {
            return Err(Error::output(format!(
                "cannot open {path} for update: {}",
                take_last_error()
            )));
        }
        Ok(Dataset::from_owned_handle(handle, path))
    }

    /// Every file GDAL reads this dataset from (its main file first, then side files).
    pub fn file_list(&self) -> Vec<String> {
        // SAFETY: valid handle; GDAL returns a list we own and free after copying it.
        unsafe {
            let list = g::GDALGetFileList(self.handle());
            let mut out = Vec::new();
            if !list.is_null() {
                let mut i = 0;
                while !(*list.add(i)).is_null() {
                    out.extend(super::cpl::opt_str(*list.add(i)));
                    i += 1;
                }
                g::CSLDestroy(list);
            }
            out
        }
    }

    /// Writes a copy of this dataset with another driver (e.g. "VRT") and closes it.
    pub fn copy_to(&self, driver: &str, path: &Path) -> Result<()> {
        self.copy_with(driver, path, &[] as &[&str])
    }

    /// Writes a copy of this dataset with `driver` and its creation options, and closes it.
    pub fn copy_with<S: AsRef<str>>(&self, driver: &str, path: &Path, options: &[S]) -> Result<()> {
        let c_path = cstring(&path.to_string_lossy())?;
        let drv = driver_by_name(driver)?;
        let mut opts = CStringList::new(options)?;
        // SAFETY: valid driver, handle and C string; the copy is closed at once.
        unsafe {
            let copy = g::GDALCreateCopy(
                drv,
                c_path.as_ptr(),
                self.handle(),
                0,
                opts.as_ptr(),
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
}

/// GDALOpenEx for a read-only raster, with GDAL's errors reported through CPL, by any driver or
/// by the one named; a null handle when GDAL cannot open it.
fn open_ex(name: &str, driver: Option<&str>) -> Result<g::GDALDatasetH> {
    let c_name = cstring(name)?;
    let c_driver = driver.map(cstring).transpose()?;
    let drivers = c_driver.as_ref().map(|d| [d.as_ptr(), std::ptr::null()]);
    let allowed = drivers.as_ref().map_or(std::ptr::null(), |d| d.as_ptr());
    // SAFETY: valid C strings and a NULL-terminated driver list (or NULL for any driver), both
    // alive across the call.
    Ok(unsafe {
        g::GDALOpenEx(
            c_name.as_ptr(),
            GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR,
            allowed,
            std::ptr::null(),
            std::ptr::null(),
        )
    })
}

fn driver_by_name(driver: &str) -> Result<g::GDALDriverH> {
    let c_driver = cstring(driver)?;
    // SAFETY: valid C string; GDAL owns the driver it returns.
    let drv = unsafe { g::GDALGetDriverByName(c_driver.as_ptr()) };
    if drv.is_null() {
        return Err(Error::output(format!("GDAL has no {driver} driver")));
    }
    Ok(drv)
}
