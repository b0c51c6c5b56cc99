//! Writing mask products in any GDAL format that writes files ([`Format`]), on the grid the
//! mask was computed on or on the input's own grid ([`RasterInfo::output_grid`]).
//!
//! A product is written directly when its format can create files and it goes on the processing
//! grid; otherwise it is written as a tiled GeoTIFF on the processing grid (the *working file*)
//! and, when finished, copied into the target's format (`GDALCreateCopy`), sampled onto the
//! output grid on the way by nearest neighbour.
//!
//! Every product is written to a hidden temporary file beside the target ([`Staged`]), finished
//! and checked, and renamed into place only when every output of the run is complete
//! ([`commit_all`]), so a failure or a cancel never leaves a half-written output.

pub use super::format::Format;
use super::gdal::{cstring, set_metadata_item, take_last_error, CStringList, Dataset};
use super::grid::{nearest_onto, Grid};
pub use super::output_check::check_writable;
pub use super::product::Product;
use super::staging::{checked, commit_all, Staged};
use crate::error::{Error, Result};
use gdal_sys as g;
use std::path::{Path, PathBuf};

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
    /// The grid the files are written on when it is not the one the mask is computed on (see
    /// [`super::grid::OutputGrid`]); `width`, `height` and `georef` stay the processing grid's.
    pub output_grid: Option<Grid>,
}

/// A product being written into its temporary file ([`Staged`]). Dropping it without
/// [`ProductWriter::finish`] or [`ProductWriter::commit`] deletes the temporary.
pub struct ProductWriter {
    pub product: Product,
    // Declared before `staged`: GDAL closes the file before the temporary is removed.
    ds: Option<Dataset>,
    /// The target's temporary when written directly, else the working GeoTIFF.
    staged: Staged,
    /// Written in the target's format on the processing grid, so `staged` is the output.
    direct: bool,
    width: usize,
    height: usize,
    bands: usize,
    format: Format,
    info: RasterInfo,
}

impl ProductWriter {
    /// Creates the temporary file for `product` on the processing grid with the input's
    /// georeferencing: in the target's format when it can be written directly, else a GeoTIFF.
    pub fn create(
        target: &Path,
        product: Product,
        format: &Format,
        info: &RasterInfo,
    ) -> Result<ProductWriter> {
        let (width, height) = (info.width, info.height);
        check_writable(target)?;
        super::gdal::register_drivers();
        let direct = info.output_grid.is_none() && format.creates();
        let (driver, options, what) = if direct {
            (
                format.driver(),
                format.creation_options(product),
                format!("{}.{}", product.name(), format.extension()),
            )
        } else {
            (
                "GTiff",
                Format::working_options(),
                format!("{}.work.tif", product.name()),
            )
        };
        let staged = Staged::new(target, &what)?;
        let bands = product.bands(&info.class_names).len();
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let ds = checked(target, || {
            Dataset::create(
                driver,
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
            direct,
            width,
            height,
            bands,
            format: format.clone(),
            info: info.clone(),
        };
        checked(target, || {
            describe(writer.handle(), product, info, &info.georef)
        })?;
        Ok(writer)
    }

    fn handle(&self) -> g::GDALDatasetH {
        self.ds
            .as_ref()
            .map(|d| d.handle())
            .unwrap_or(std::ptr::null_mut())
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

    /// The size of the output file: the output grid's, or the processing grid's.
    fn output_size(&self) -> (usize, usize) {
        match &self.info.output_grid {
            Some(g) => (g.width, g.height),
            None => (self.width, self.height),
        }
    }

    /// Builds overviews (GeoTIFF), copies the working file into the target's format and grid
    /// when it is not written directly, closes the file and checks it: the finished temporary,
    /// ready for [`commit_all`] with the run's other outputs. Every step is checked for failures
    /// GDAL reports only through its error handler (a block written back from the cache when
    /// the disk is full; a file that fails to close: GDAL 3.6's `GDALClose` returns nothing),
    /// the file is reopened to check that its header reads back (size and bands) and that it is
    /// one file, and [`commit_all`] syncs it to disk before the rename.
    pub fn finish(mut self) -> Result<Staged> {
        let target = self.target().to_path_buf();
        if self.direct && self.format.is_gtiff() {
            checked(&target, || {
                build_overviews(
                    self.handle(),
                    self.product,
                    self.width,
                    self.height,
                    &target,
                )
            })?;
        }
        checked(&target, || {
            self.ds = None;
            Ok(())
        })?;
        let copy = match self.direct {
            true => None,
            false => Some(checked(&target, || self.copy_into_format())?),
        };
        let (w, h) = self.output_size();
        // The working GeoTIFF of a copied output is removed with `self`.
        let ready = copy.unwrap_or(self.staged);
        checked(&target, || {
            read_back(&ready, (w, h, self.bands), self.format.driver())
        })
        .map_err(|e| match e.kind {
            crate::error::ErrorKind::Output => Error::output(format!(
                "writing {} failed: the file does not read back: {}",
                target.display(),
                e.message
            )),
            _ => e,
        })?;
        Ok(ready)
    }

    /// [`ProductWriter::finish`] and the rename into place, for a product written alone.
    pub fn commit(self) -> Result<PathBuf> {
        let ready = self.finish()?;
        Ok(commit_all(vec![ready])?.remove(0))
    }

    /// Copies the closed working GeoTIFF into a temporary of the target's format, on the output
    /// grid (nearest neighbour) when there is one.
    fn copy_into_format(&self) -> Result<Staged> {
        let work = self.staged.path().to_string_lossy().into_owned();
        let source = match &self.info.output_grid {
            Some(to) => {
                let from = Grid {
                    width: self.width,
                    height: self.height,
                    geo_transform: self.info.georef.geo_transform.ok_or_else(|| {
                        Error::output("the processing grid has no georeferencing")
                    })?,
                    projection: self.info.georef.projection.clone(),
                };
                let data_type = self.product.pixel_type().name();
                let vrt = nearest_onto(&work, &from, to, self.bands, data_type)?;
                let georef = Georef {
                    geo_transform: Some(to.geo_transform),
                    projection: to.projection.clone(),
                };
                describe(vrt.handle(), self.product, &self.info, &georef)?;
                vrt
            }
            None => Dataset::open(&work)?,
        };
        let what = format!("{}.{}", self.product.name(), self.format.extension());
        let out = Staged::new(self.target(), &what)?;
        let options = self.format.creation_options(self.product);
        source.copy_with(self.format.driver(), out.path(), &options)?;
        if self.format.is_gtiff() {
            let (w, h) = self.output_size();
            let copy = Dataset::open_update(&out.path().to_string_lossy())?;
            build_overviews(copy.handle(), self.product, w, h, self.target())?;
        }
        Ok(out)
    }
}

/// Reopens a finished temporary and checks its size and bands, and that the format wrote it as
/// one file (its `.aux.xml` aside): a format that writes side files (ENVI's `.hdr`) cannot be
/// moved into place whole, so they are removed and the output refused.
fn read_back(ready: &Staged, want: (usize, usize, usize), driver: &str) -> Result<()> {
    let back = Dataset::open(&ready.path().to_string_lossy())?;
    let got = (back.width(), back.height(), back.band_count());
    let extra: Vec<PathBuf> = back
        .file_list()
        .into_iter()
        .map(PathBuf::from)
        .filter(|f| f != ready.path() && *f != super::staging::aux_xml(ready.path()))
        .collect();
    drop(back);
    if !extra.is_empty() {
        for f in &extra {
            let _ = std::fs::remove_file(f);
        }
        return Err(Error::invalid(format!(
            "the {driver} format writes its output as several files ({} beside it); cloudmask writes one file per output: choose another --of, e.g. GTiff",
            extra
                .iter()
                .filter_map(|f| f.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if got != want {
        return Err(Error::output(format!(
            "it reads back as {} x {} with {} bands instead of {} x {} with {}",
            got.0, got.1, got.2, want.0, want.1, want.2
        )));
    }
    Ok(())
}

/// Georeferencing, nodata, colours, category names and provenance, so the file opens in QGIS
/// with a sensible style and says how it was made.
fn describe(
    h: g::GDALDatasetH,
    product: Product,
    info: &RasterInfo,
    georef: &Georef,
) -> Result<()> {
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
        for (i, look) in product.bands(&info.class_names).iter().enumerate() {
            let band = g::GDALGetRasterBand(h, i as i32 + 1);
            if let Some(nodata) = look.nodata {
                g::GDALSetRasterNoDataValue(band, nodata);
            }
            if !look.colours.is_empty() {
                set_categories(band, &look.colours, &look.categories)?;
            }
            set_description(band as g::GDALMajorObjectH, &look.description)?;
        }
    }
    for (k, v) in &info.provenance {
        set_metadata_item(h as g::GDALMajorObjectH, k, v)?;
    }
    set_metadata_item(
        h as g::GDALMajorObjectH,
        "CLOUDMASK_PRODUCT",
        product.name(),
    )?;
    Ok(())
}

/// Internal overviews of a GeoTIFF being written, halving until under 256 pixels.
fn build_overviews(
    h: g::GDALDatasetH,
    product: Product,
    width: usize,
    height: usize,
    target: &Path,
) -> Result<()> {
    let mut levels: Vec<i32> = Vec::new();
    let mut f = 2;
    while width.max(height) / f >= 256 {
        levels.push(f as i32);
        f *= 2;
    }
    if levels.is_empty() {
        return Ok(());
    }
    // SAFETY: valid dataset; `levels` outlives the call.
    let err = unsafe {
        g::GDALBuildOverviews(
            h,
            product.resampling().as_ptr(),
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
            target.display(),
            take_last_error()
        )));
    }
    Ok(())
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
