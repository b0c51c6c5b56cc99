//! Products as users download them (a Sentinel-2 .SAFE, a Landsat Collection 2 scene, a STAC
//! item), opened as one raster holding exactly the model's bands on one grid, each band with the
//! GDAL scale and offset that make its stored values reflectance.
//!
//! Every opener returns the same thing, an [`Opened`], so the reader, the scaling and the writers
//! need not know which kind of product they were given. The product's name and level travel as
//! dataset metadata ([`PRODUCT_KEY`], [`LEVEL_KEY`]).

pub mod folders;
mod landsat;
mod sentinel2;
pub(crate) use sentinel2::OFFSET_BASELINE;
pub mod stac;

pub use folders::{is_product_folder, product_stem};

use super::gdal::Dataset;
use super::grid::InputGrid;
use super::stack;
use crate::error::Result;

/// Dataset metadata naming the product an opener recognised ("Sentinel-2 L1C, processing
/// baseline 05.09"); the outputs carry it on. (Not `CLOUDMASK_PRODUCT`: that names the mask
/// product of a virtual mask.)
pub const PRODUCT_KEY: &str = "CLOUDMASK_INPUT_PRODUCT";
/// Dataset metadata giving the product's level as a model card's `product_level` names it.
pub const LEVEL_KEY: &str = "CLOUDMASK_INPUT_LEVEL";

/// What a product's reflectance is: the model card's `product_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductLevel {
    /// Top-of-atmosphere reflectance (Sentinel-2 L1C, Landsat Level-1): card level `l1c`.
    TopOfAtmosphere,
    /// Surface reflectance (Sentinel-2 L2A, Landsat Level-2): card level `l2a`.
    Surface,
}

impl ProductLevel {
    /// The name model cards use.
    pub fn card_name(self) -> &'static str {
        match self {
            ProductLevel::TopOfAtmosphere => "l1c",
            ProductLevel::Surface => "l2a",
        }
    }

    /// What the level's values are, for messages.
    pub fn description(self) -> &'static str {
        match self {
            ProductLevel::TopOfAtmosphere => "top-of-atmosphere reflectance",
            ProductLevel::Surface => "surface reflectance",
        }
    }

    pub fn parse(s: &str) -> Option<ProductLevel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "l1c" => Some(ProductLevel::TopOfAtmosphere),
            "l2a" => Some(ProductLevel::Surface),
            _ => None,
        }
    }
}

/// A raster opened for masking.
pub struct Opened {
    pub dataset: Dataset,
    /// True when the bands were gathered from several files or subdatasets into one stack: its
    /// bands are the model's, in the model's order, so band numbers cannot name them.
    pub stacked: bool,
    /// The input's own grid when `dataset` lies on another (bands at several resolutions
    /// stacked on the coarsest, or a requested resolution): for a product, its finest band's
    /// grid. Outputs can be written back on it (`--output-grid`).
    pub input_grid: Option<InputGrid>,
}

/// Opens `path` for a model whose bands are `model_bands`: a recognised product through its
/// opener, anything else as GDAL opens it (a product with bands only in subdatasets stacked).
pub fn open(path: &str, model_bands: &[String], resolution: Option<f64>) -> Result<Opened> {
    if let Some(item) = stac::Item::probe(path)? {
        return stac::open(path, &item, model_bands, resolution);
    }
    if let Some(opened) = landsat::open(path, model_bands, resolution)? {
        return Ok(opened);
    }
    let ds = Dataset::open_container(path)?;
    if sentinel2::level(&ds).is_some() {
        let (dataset, input_grid) = sentinel2::open(ds, path, model_bands, resolution)?;
        return Ok(Opened {
            dataset,
            stacked: true,
            input_grid,
        });
    }
    let (dataset, stacked, input_grid) = stack::open_product(ds, path, model_bands, resolution)?;
    Ok(Opened {
        dataset,
        stacked,
        input_grid,
    })
}

/// The level of the product at `path`, read from its metadata only (nothing is stacked or
/// decoded), so a caller can choose the model before loading one. `None` when the input does
/// not say (a plain GeoTIFF).
pub fn product_level(path: &str) -> Result<Option<ProductLevel>> {
    if let Some(item) = stac::Item::probe(path)? {
        return Ok(item.level());
    }
    if let Some(level) = landsat::product_level(path)? {
        return Ok(Some(level));
    }
    // What GDAL cannot open has no level; opening it for masking says why it cannot be read.
    let Ok(ds) = Dataset::open_container(path) else {
        return Ok(None);
    };
    Ok(sentinel2::level(&ds))
}
