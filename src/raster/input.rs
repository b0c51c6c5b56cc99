//! The one way in: a raster and how to read it (bands, scaling, nodata, resolution), opened for a
//! model's bands by [`Input::open_for`], which checks the choices in one place. Every caller (files,
//! virtual-mask blocks, selection, evaluation, the C API, the trainer) builds an `Input`.

use super::bandmap::BandSelection;
use super::gdal::{cstring, take_last_error, CStringList, Dataset};
use super::grid::{Grid, InputGrid, Resampled};
use super::scaling::Scaling;
use super::source::GdalSource;
use crate::error::{Error, Result};
use gdal_sys as g;

/// Where the pixels are.
pub enum Raster {
    /// A file or GDAL connection string; a product whose bands live in subdatasets (a Sentinel-2
    /// .SAFE) is stacked onto one grid.
    Path(String),
    /// A dataset already open (a caller's handle through the C API, or one the caller checked).
    Open(Dataset),
}

impl std::fmt::Debug for Raster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Raster::Path(p) => f.debug_tuple("Path").field(p).finish(),
            Raster::Open(ds) => f.debug_tuple("Open").field(&ds.description).finish(),
        }
    }
}

/// A raster and how to read it for a model.
#[derive(Debug)]
pub struct Input {
    pub raster: Raster,
    /// Which raster bands feed the model's bands.
    pub bands: BandSelection,
    /// How stored values become reflectance (DN quantification and offset included).
    pub scaling: Scaling,
    /// Overrides the raster's own nodata value.
    pub nodata: Option<f64>,
    /// Resample the raster to this pixel size (in its CRS units) before masking; `None` = native.
    pub resolution: Option<f64>,
}

/// How to read a raster, whichever it is: the template a run applies to each of its inputs (a
/// batch's scenes, a selection's scenes, an evaluation's images), so every command that opens
/// several rasters reads them alike. The default is [`Input::path`]'s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub bands: BandSelection,
    pub scaling: Scaling,
    pub nodata: Option<f64>,
    pub resolution: Option<f64>,
}

impl Reading {
    /// `path` read this way.
    pub fn input(&self, path: &str) -> Input {
        Input {
            bands: self.bands.clone(),
            scaling: self.scaling,
            nodata: self.nodata,
            resolution: self.resolution,
            ..Input::path(path)
        }
    }
}

impl Input {
    /// A file read with the defaults: bands by name, automatic scaling, its own nodata, native
    /// resolution.
    pub fn path(path: &str) -> Input {
        Input::with(Raster::Path(path.to_string()))
    }

    /// An open dataset read with the defaults.
    pub fn dataset(ds: Dataset) -> Input {
        Input::with(Raster::Open(ds))
    }

    fn with(raster: Raster) -> Input {
        Input {
            raster,
            bands: BandSelection::Auto,
            scaling: Scaling::Auto,
            nodata: None,
            resolution: None,
        }
    }

    /// The raster's name, as messages and provenance metadata give it.
    pub fn name(&self) -> &str {
        match &self.raster {
            Raster::Path(p) => p,
            Raster::Open(ds) => &ds.description,
        }
    }

    /// Refuses choices no raster can satisfy, before anything is opened.
    pub fn validate(&self) -> Result<()> {
        if let Some(res) = self.resolution {
            if !(res.is_finite() && res > 0.0) {
                return Err(Error::invalid(format!(
                    "resolution {res} must be a positive number of map units"
                )));
            }
        }
        if let Scaling::DigitalNumbers {
            quantification,
            offset,
        } = self.scaling
        {
            super::scaling::check_digital_numbers(quantification, offset)?;
        }
        Ok(())
    }

    /// Opens the raster for a model whose bands are `model_bands`: stacked when its bands live in
    /// subdatasets, resampled when asked, its bands mapped and scaled to reflectance.
    pub fn open_for(self, model_bands: &[String]) -> Result<GdalSource> {
        self.validate()?;
        let (ds, input_grid) = match self.raster {
            Raster::Path(ref path) => {
                let super::products::Opened {
                    dataset: ds,
                    stacked,
                    input_grid,
                } = super::products::open(path, model_bands, self.resolution)?;
                if stacked {
                    if matches!(self.bands, BandSelection::Indices(_)) {
                        return Err(Error::bands(format!(
                            "{path} keeps its bands in subdatasets, so band numbers cannot name them; leave out --bands to match them by name"
                        )));
                    }
                    (ds, input_grid)
                } else {
                    resample(ds, self.resolution)?
                }
            }
            Raster::Open(ds) => resample(ds, self.resolution)?,
        };
        Ok(
            GdalSource::new(ds, model_bands, &self.bands, self.scaling, self.nodata)?
                .on_input_grid(input_grid),
        )
    }
}

/// `ds` averaged onto pixels of `resolution` map units (a VRT in memory) with the grid it came
/// from, or `ds` itself.
fn resample(ds: Dataset, resolution: Option<f64>) -> Result<(Dataset, Option<InputGrid>)> {
    let Some(res) = resolution else {
        return Ok((ds, None));
    };
    let name = &ds.description;
    if ds.geo_transform().is_none() {
        return Err(Error::input(format!(
            "{name} has no georeferencing, so it cannot be resampled to {res} m"
        )));
    }
    let r = res.to_string();
    let mut args = CStringList::new(&["-of", "VRT", "-tr", &r, &r, "-r", "average"])?;
    let dest = cstring(&format!(
        "/vsimem/cloudmask-resampled-{}-{:p}.vrt",
        std::process::id(),
        &ds
    ))?;
    // SAFETY: NULL-terminated options; source dataset open; returned handle owned by us.
    let handle = unsafe {
        let opts = g::GDALTranslateOptionsNew(args.as_ptr(), std::ptr::null_mut());
        let mut usage = 0;
        let h = g::GDALTranslate(dest.as_ptr(), ds.handle(), opts, &mut usage);
        g::GDALTranslateOptionsFree(opts);
        h
    };
    if handle.is_null() {
        return Err(Error::input(format!(
            "resampling {name} to {res} failed: {}",
            take_last_error()
        )));
    }
    let input_grid = Grid::of(&ds).map(|grid| InputGrid {
        grid,
        why: Resampled::Requested,
    });
    Ok((Dataset::derived(handle, ds), input_grid))
}
