//! Writing mask products as GeoTIFF or COG.
//!
//! Every product is written to a hidden temporary file beside the target ([`Staged`]), finished
//! and checked, and renamed into place only when every output of the run is complete
//! ([`commit_all`]), so a failure or a cancel never leaves a half-written output.

use super::gdal::{cstring, set_metadata_item, take_last_error, CStringList, Dataset};
pub use super::output_check::check_writable;
pub use super::product::Product;
use super::staging::{checked, commit_all, Staged};
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

/// A product being written into its temporary file ([`Staged`]). Dropping it without
/// [`ProductWriter::finish`] or [`ProductWriter::commit`] deletes the temporary.
pub struct ProductWriter {
    pub product: Product,
    // Declared before `staged`: GDAL closes the file before the temporary is removed.
    ds: Option<Dataset>,
    staged: Staged,
    width: usize,
    height: usize,
    bands: usize,
    format: Format,
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
        let staged = Staged::new(target, &format!("{}.tif", product.name()))?;
        let bands = product.bands(&info.class_names).len();
        let options = [
            "TILED=YES",
            "BLOCKXSIZE=256",
            "BLOCKYSIZE=256",
            "COMPRESS=DEFLATE",
            "BIGTIFF=IF_SAFER",
            "INTERLEAVE=BAND",
        ];
        let ds = checked(target, || {
            Dataset::create(
                "GTiff",
                &staged.path().to_string_lossy(),
                width,
                height,
                bands,
                product.pixel_type(),
                &options,
            )
        })?;
        let writer = ProductWriter {
            product,
            ds: Some(ds),
            staged,
            width,
            height,
            bands,
            format,
        };
        checked(target, || {
            writer.describe(&info.class_names, &info.georef, &info.provenance)
        })?;
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
        self.ds.as_ref().ok_or_else(|| {
            Error::output(format!(
                "{} is already closed",
                self.staged.path().display()
            ))
        })
    }

    /// Writes full-width rows of a single-band byte product.
    pub fn write_u8_rows(&mut self, y: usize, rows: usize, data: &[u8]) -> Result<()> {
        let w = self.width;
        checked(self.target(), || {
            self.dataset()?.write(1, (0, y, w, rows), data)
        })
    }

    /// Reads back full-width rows of a single-band byte product (for the valid mask pass).
    pub fn read_u8_rows(&self, y: usize, rows: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; rows * self.width];
        checked(self.target(), || {
            self.dataset()?.read(1, 0, y, self.width, rows, &mut out)
        })?;
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
        checked(self.target(), || {
            let ds = self.dataset()?;
            for b in 0..self.bands {
                ds.write(b + 1, (0, y, self.width, rows), &data[b * n..(b + 1) * n])?;
            }
            Ok(())
        })
    }

    /// Adds dataset metadata known only once the pixels are written (the class fractions
    /// counted while streaming); call it before [`ProductWriter::finish`].
    pub fn add_metadata(&self, items: &[(String, String)]) -> Result<()> {
        let h = self.handle() as g::GDALMajorObjectH;
        checked(self.target(), || {
            for (k, v) in items {
                set_metadata_item(h, k, v)?;
            }
            Ok(())
        })
    }

    pub fn target(&self) -> &Path {
        self.staged.target()
    }

    /// Builds overviews, converts to COG when asked, closes the file and checks it: the
    /// finished temporary, ready for [`commit_all`] with the run's other outputs. Every step
    /// is checked for failures GDAL reports only through its error handler (a block written
    /// back from the cache when the disk is full; a file that fails to close: GDAL 3.6's
    /// `GDALClose` returns nothing), the file is reopened to check that its header reads back
    /// (size and bands), and [`commit_all`] syncs it to disk before the rename.
    pub fn finish(mut self) -> Result<Staged> {
        let target = self.target().to_path_buf();
        checked(&target, || self.build_overviews())?;
        let cog = match self.format {
            Format::Cog => Some(checked(&target, || self.translate_cog())?),
            Format::GTiff => None,
        };
        checked(&target, || {
            self.ds = None;
            Ok(())
        })?;
        // With a COG, the tiled GeoTIFF is only its source: dropped (removed) here.
        let ready = cog.unwrap_or(self.staged);
        checked(&target, || {
            let back = Dataset::open(&ready.path().to_string_lossy())?;
            if (back.width(), back.height(), back.band_count())
                != (self.width, self.height, self.bands)
            {
                return Err(Error::output(format!(
                    "{} reads back as {} x {} with {} bands instead of {} x {} with {}",
                    target.display(),
                    back.width(),
                    back.height(),
                    back.band_count(),
                    self.width,
                    self.height,
                    self.bands
                )));
            }
            Ok(())
        })
        .map_err(|e| {
            Error::output(format!(
                "writing {} failed: the file does not read back: {}",
                target.display(),
                e.message
            ))
        })?;
        Ok(ready)
    }

    /// [`ProductWriter::finish`] and the rename into place, for a product written alone.
    pub fn commit(self) -> Result<PathBuf> {
        let ready = self.finish()?;
        Ok(commit_all(vec![ready])?.remove(0))
    }

    /// Internal overviews (GeoTIFF only: the COG driver builds its own).
    fn build_overviews(&self) -> Result<()> {
        let mut levels: Vec<i32> = Vec::new();
        let mut f = 2;
        while self.width.max(self.height) / f >= 256 {
            levels.push(f as i32);
            f *= 2;
        }
        if levels.is_empty() || self.format != Format::GTiff {
            return Ok(());
        }
        // SAFETY: valid dataset; `levels` outlives the call.
        let err = unsafe {
            g::GDALBuildOverviews(
                self.handle(),
                self.product.resampling().as_ptr(),
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
                self.target().display(),
                take_last_error()
            )));
        }
        Ok(())
    }

    /// Copies the tiled GeoTIFF into a COG, a temporary of its own.
    fn translate_cog(&self) -> Result<Staged> {
        let cog = Staged::new(self.target(), &format!("{}.cog.tif", self.product.name()))?;
        let mut args = CStringList::new(&[
            "-of",
            "COG",
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            &format!("RESAMPLING={}", self.product.resampling().to_string_lossy()),
        ])?;
        let c_cog = cstring(&cog.path().to_string_lossy())?;
        // SAFETY: options list is NULL-terminated; source dataset is open.
        let out = unsafe {
            let opts = g::GDALTranslateOptionsNew(args.as_ptr(), std::ptr::null_mut());
            let mut usage_error = 0;
            let out = g::GDALTranslate(c_cog.as_ptr(), self.handle(), opts, &mut usage_error);
            g::GDALTranslateOptionsFree(opts);
            out
        };
        if out.is_null() {
            return Err(Error::output(format!(
                "writing COG {} failed: {}",
                self.target().display(),
                take_last_error()
            )));
        }
        // SAFETY: we own the returned dataset; closing failures reach the caller's `checked`.
        unsafe { g::GDALClose(out) };
        Ok(cog)
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
