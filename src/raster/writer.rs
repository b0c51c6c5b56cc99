//! Writing mask products as GeoTIFF or COG.
//!
//! Every product is written to a hidden temporary file beside the target and renamed into place
//! only when complete, so a failure or a cancel never leaves a half-written output.

use super::gdal::{cstring, set_metadata_item, take_last_error, CStringList, Dataset};
pub use super::product::Product;
use crate::error::{Error, Result};
use gdal_sys as g;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Tiled, DEFLATE-compressed GeoTIFF with internal overviews.
    #[default]
    GTiff,
    /// Cloud-optimised GeoTIFF (GDAL's COG driver).
    Cog,
}

crate::options::choice!(Format, "format", [
    GTiff => "gtiff", "Tiled, DEFLATE-compressed GeoTIFF with internal overviews",
    Cog => "cog", "Cloud-optimised GeoTIFF",
]);

/// Georeferencing copied from the input.
#[derive(Debug, Clone, Default)]
pub struct Georef {
    pub geo_transform: Option<[f64; 6]>,
    pub projection: String,
}

impl Georef {
    pub fn of(ds: &Dataset) -> Georef {
        Georef {
            geo_transform: ds.geo_transform(),
            projection: ds.projection(),
        }
    }
}

/// What every product of one input shares: size, the model's class names, georeferencing and
/// provenance metadata.
#[derive(Debug, Clone, Default)]
pub struct RasterInfo {
    pub width: usize,
    pub height: usize,
    pub class_names: Vec<String>,
    pub georef: Georef,
    pub provenance: Vec<(String, String)>,
}

/// A product being written. Dropping it without [`ProductWriter::commit`] deletes the
/// temporary file.
pub struct ProductWriter {
    pub product: Product,
    target: PathBuf,
    temp: PathBuf,
    ds: Option<Dataset>,
    width: usize,
    height: usize,
    bands: usize,
    format: Format,
}

/// Fails early, before any work, when the output cannot be written.
pub fn check_writable(target: &Path) -> Result<()> {
    let dir = parent_dir(target);
    if !dir.is_dir() {
        return Err(Error::output(format!(
            "cannot write {}: folder {} does not exist",
            target.display(),
            dir.display()
        )));
    }
    if target.is_dir() {
        return Err(Error::output(format!(
            "cannot write {}: it is a folder",
            target.display()
        )));
    }
    let probe = dir.join(format!(".cloudmask-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| {
        Error::output(format!(
            "cannot write {}: folder {} is not writable ({e})",
            target.display(),
            dir.display()
        ))
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl ProductWriter {
    /// Creates the temporary GeoTIFF for `product` with the input's georeferencing.
    pub fn create(
        target: &Path,
        product: Product,
        format: Format,
        info: &RasterInfo,
    ) -> Result<ProductWriter> {
        let (width, height) = (info.width, info.height);
        check_writable(target)?;
        super::gdal::register_drivers();
        let file = target
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let temp = parent_dir(target).join(format!(".{file}.partial-{}.tif", std::process::id()));
        let bands = product.bands(&info.class_names).len();
        let options = [
            "TILED=YES",
            "BLOCKXSIZE=256",
            "BLOCKYSIZE=256",
            "COMPRESS=DEFLATE",
            "BIGTIFF=IF_SAFER",
            "INTERLEAVE=BAND",
        ];
        let ds = Dataset::create(
            "GTiff",
            &temp.to_string_lossy(),
            width,
            height,
            bands,
            product.pixel_type(),
            &options,
        )?;
        let writer = ProductWriter {
            product,
            target: target.to_path_buf(),
            ds: Some(ds),
            temp,
            width,
            height,
            bands,
            format,
        };
        writer.describe(&info.class_names, &info.georef, &info.provenance)?;
        Ok(writer)
    }

    fn handle(&self) -> g::GDALDatasetH {
        self.ds
            .as_ref()
            .map(|d| d.handle())
            .unwrap_or(std::ptr::null_mut())
    }

    fn band(&self, i: usize) -> g::GDALRasterBandH {
        // SAFETY: 1 <= i <= bands of a dataset we created.
        unsafe { g::GDALGetRasterBand(self.handle(), i as i32) }
    }

    /// Georeferencing, nodata, colours, category names and provenance, so the file opens in QGIS
    /// with a sensible style and says how it was made.
    fn describe(
        &self,
        class_names: &[String],
        georef: &Georef,
        provenance: &[(String, String)],
    ) -> Result<()> {
        let h = self.handle();
        // SAFETY: valid dataset and band handles; every string passed is a valid C string that
        // GDAL copies.
        unsafe {
            if let Some(mut gt) = georef.geo_transform {
                g::GDALSetGeoTransform(h, gt.as_mut_ptr());
            }
            if !georef.projection.is_empty() {
                let p = cstring(&georef.projection)?;
                g::GDALSetProjection(h, p.as_ptr());
            }
            for (i, look) in self.product.bands(class_names).iter().enumerate() {
                let band = self.band(i + 1);
                if let Some(nodata) = look.nodata {
                    g::GDALSetRasterNoDataValue(band, nodata);
                }
                if !look.colours.is_empty() {
                    set_categories(band, &look.colours, &look.categories)?;
                }
                set_description(band as g::GDALMajorObjectH, &look.description)?;
            }
        }
        for (k, v) in provenance {
            set_metadata_item(h as g::GDALMajorObjectH, k, v)?;
        }
        set_metadata_item(
            h as g::GDALMajorObjectH,
            "CLOUDMASK_PRODUCT",
            self.product.name(),
        )?;
        Ok(())
    }

    fn dataset(&self) -> Result<&Dataset> {
        self.ds
            .as_ref()
            .ok_or_else(|| Error::output(format!("{} is already closed", self.temp.display())))
    }

    /// Writes full-width rows of a single-band byte product.
    pub fn write_u8_rows(&mut self, y: usize, rows: usize, data: &[u8]) -> Result<()> {
        self.dataset()?.write(1, (0, y, self.width, rows), data)
    }

    /// Reads back full-width rows of a single-band byte product (for the valid mask pass).
    pub fn read_u8_rows(&self, y: usize, rows: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; rows * self.width];
        self.dataset()?.read(1, 0, y, self.width, rows, &mut out)?;
        Ok(out)
    }

    /// Writes full-width rows of every band of a float product; `data` is (band, row, column).
    pub fn write_f32_rows(&mut self, y: usize, rows: usize, data: &[f32]) -> Result<()> {
        let n = rows * self.width;
        if data.len() != n * self.bands {
            return Err(Error::output(format!(
                "{} values given for {} bands of {rows} rows",
                data.len(),
                self.bands
            )));
        }
        let ds = self.dataset()?;
        for b in 0..self.bands {
            ds.write(b + 1, (0, y, self.width, rows), &data[b * n..(b + 1) * n])?;
        }
        Ok(())
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Builds overviews, converts to COG when asked, and renames into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        let resampling = self.product.resampling();
        let mut levels: Vec<i32> = Vec::new();
        let mut f = 2;
        while self.width.max(self.height) / f >= 256 {
            levels.push(f as i32);
            f *= 2;
        }
        if !levels.is_empty() && self.format == Format::GTiff {
            // SAFETY: valid dataset; `levels` outlives the call.
            let err = unsafe {
                g::GDALBuildOverviews(
                    self.handle(),
                    resampling.as_ptr(),
                    levels.len() as i32,
                    levels.as_mut_ptr(),
                    0,
                    std::ptr::null_mut(),
                    None,
                    std::ptr::null_mut(),
                )
            };
            if err != g::CPLErr::CE_None {
                return Err(Error::output(format!(
                    "building overviews of {} failed: {}",
                    self.target.display(),
                    take_last_error()
                )));
            }
        }
        let mut ready = self.temp.clone();
        if self.format == Format::Cog {
            let cog = self.temp.with_extension("cog.tif");
            let mut args = CStringList::new(&[
                "-of",
                "COG",
                "-co",
                "COMPRESS=DEFLATE",
                "-co",
                &format!("RESAMPLING={}", resampling.to_string_lossy()),
            ])?;
            let c_cog = cstring(&cog.to_string_lossy())?;
            // SAFETY: options list is NULL-terminated; source dataset is open.
            let out = unsafe {
                let opts = g::GDALTranslateOptionsNew(args.as_ptr(), std::ptr::null_mut());
                let mut usage_error = 0;
                let out = g::GDALTranslate(c_cog.as_ptr(), self.handle(), opts, &mut usage_error);
                g::GDALTranslateOptionsFree(opts);
                out
            };
            if out.is_null() {
                let _ = std::fs::remove_file(&cog);
                return Err(Error::output(format!(
                    "writing COG {} failed: {}",
                    self.target.display(),
                    take_last_error()
                )));
            }
            // SAFETY: we own the returned dataset.
            unsafe { g::GDALClose(out) };
            ready = cog;
        }
        // Closing flushes everything to disk before the rename makes it visible.
        self.ds = None;
        std::fs::rename(&ready, &self.target).map_err(|e| {
            Error::output(format!(
                "cannot move the finished output to {}: {e}",
                self.target.display()
            ))
        })?;
        let _ = std::fs::remove_file(&self.temp);
        // GDAL keeps what GeoTIFF cannot hold (category names) in a `.aux.xml` sidecar: it moves
        // with the file, and one left from an earlier output of the same name must not apply.
        if std::fs::rename(aux_xml(&ready), aux_xml(&self.target)).is_err() {
            let _ = std::fs::remove_file(aux_xml(&self.target));
        }
        let _ = std::fs::remove_file(aux_xml(&self.temp));
        Ok(self.target.clone())
    }
}

/// GDAL's PAM sidecar of a file: `<file>.aux.xml`.
fn aux_xml(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".aux.xml");
    PathBuf::from(name)
}

impl Drop for ProductWriter {
    fn drop(&mut self) {
        if self.ds.take().is_some() || self.temp.exists() {
            let cog = self.temp.with_extension("cog.tif");
            for f in [&self.temp, &cog] {
                let _ = std::fs::remove_file(f);
                let _ = std::fs::remove_file(aux_xml(f));
            }
        }
    }
}

/// The colour table and category names of a band of codes 0, 1, …: `(name, RGBA)` per code.
///
/// # Safety
/// `band` is a valid band of a dataset being written.
unsafe fn set_categories(
    band: g::GDALRasterBandH,
    colours: &[[u8; 4]],
    names: &[String],
) -> Result<()> {
    let table = g::GDALCreateColorTable(g::GDALPaletteInterp::GPI_RGB);
    for (code, [r, gr, b, a]) in colours.iter().enumerate() {
        let entry = g::GDALColorEntry {
            c1: *r as i16,
            c2: *gr as i16,
            c3: *b as i16,
            c4: *a as i16,
        };
        g::GDALSetColorEntry(table, code as i32, &entry);
    }
    g::GDALSetRasterColorTable(band, table);
    g::GDALDestroyColorTable(table);
    let mut list = CStringList::new(names)?;
    g::GDALSetRasterCategoryNames(band, list.as_ptr());
    Ok(())
}

fn set_description(obj: g::GDALMajorObjectH, text: &str) -> Result<()> {
    let c = cstring(text)?;
    // SAFETY: valid object; GDAL copies the string.
    unsafe { g::GDALSetDescription(obj, c.as_ptr()) };
    Ok(())
}
