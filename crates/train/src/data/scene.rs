//! One labelled scene loaded for training: the model's bands as reflectance (read by name through
//! the engine's raster layer, so band subsets and extra inputs such as a DEM work as in
//! `cloudmask mask`) and the labels mapped onto the model's classes.

use super::labels::IGNORE;
use cloudmask::error::{Error, Result};
use cloudmask::raster::bandmap::BandSelection;
use cloudmask::raster::gdal::Dataset;
use cloudmask::raster::scaling::Scaling;
use cloudmask::raster::source::BandSource;
use cloudmask::raster::Input;

/// A pixel window (x, y, width, height).
pub type Window = (usize, usize, usize, usize);

pub struct Scene {
    pub name: String,
    pub width: usize,
    pub height: usize,
    /// Band-major reflectance, bands x height x width.
    pub bands: Vec<f32>,
    pub n_bands: usize,
    /// Class index per pixel, or IGNORE (nodata in the image or an ignored label code).
    pub labels: Vec<i64>,
}

/// How to read a scene.
pub struct SceneSpec<'a> {
    pub image: &'a str,
    pub labels: &'a str,
    /// Only this part of the rasters (a tile of a sample list).
    pub window: Option<Window>,
    pub band_names: &'a [String],
    pub selection: &'a BandSelection,
    pub scaling: Scaling,
    /// code → class index (or IGNORE); `None` = code not in the scheme.
    pub lookup: &'a [Option<i64>],
    pub scheme_name: &'a str,
}

impl Scene {
    pub fn load(spec: &SceneSpec) -> Result<Scene> {
        let image = Dataset::open(spec.image)?;
        let labels = Dataset::open(spec.labels)?;
        check_alignment(spec, &image, &labels)?;
        let (x, y, w, h) = spec.window.unwrap_or((0, 0, image.width(), image.height()));
        if w == 0 || h == 0 || x + w > image.width() || y + h > image.height() {
            return Err(Error::window(format!(
                "sample window {x} {y} {w} {h} does not fit {} ({} x {})",
                spec.image,
                image.width(),
                image.height()
            )));
        }
        let mut codes = vec![0f32; w * h];
        labels.read(1, x, y, w, h, &mut codes)?;
        let mut source = Input {
            bands: spec.selection.clone(),
            scaling: spec.scaling,
            ..Input::dataset(image)
        }
        .open_for(spec.band_names)?;
        let block = source.read(x, y, w, h)?;
        let mut mapped = Vec::with_capacity(w * h);
        for (i, &c) in codes.iter().enumerate() {
            let class = if c.fract() == 0.0 && (0.0..65536.0).contains(&c) {
                spec.lookup[c as usize]
            } else {
                None
            };
            let class = class.ok_or_else(|| {
                Error::new(
                    cloudmask::ErrorKind::Data,
                    format!(
                        "{} holds label code {c} (at pixel {}, {}), which label map '{}' does not name; add it with --label-map, e.g. \"{c}=cloud\" or \"{c}=ignore\"",
                        spec.labels,
                        x + i % w,
                        y + i / w,
                        spec.scheme_name
                    ),
                )
            })?;
            mapped.push(if block.nodata[i] { IGNORE } else { class });
        }
        Ok(Scene {
            name: spec.image.to_string(),
            width: w,
            height: h,
            n_bands: spec.band_names.len(),
            bands: block.data,
            labels: mapped,
        })
    }

    /// An image without labels (pretraining): every pixel with data counts as labelled class 0,
    /// nodata pixels as IGNORE, so patch selection skips nodata the same way.
    pub fn load_unlabelled(image: &str, band_names: &[String]) -> Result<Scene> {
        let ds = Dataset::open(image)?;
        let (w, h) = (ds.width(), ds.height());
        let mut source = Input::dataset(ds).open_for(band_names)?;
        let block = source.read(0, 0, w, h)?;
        Ok(Scene {
            name: image.to_string(),
            width: w,
            height: h,
            n_bands: band_names.len(),
            labels: block
                .nodata
                .iter()
                .map(|&n| if n { IGNORE } else { 0 })
                .collect(),
            bands: block.data,
        })
    }

    /// Fraction of pixels in a window that carry a usable label.
    pub fn labelled_fraction(&self, win: Window) -> f64 {
        let (x, y, w, h) = win;
        let mut n = 0usize;
        for row in y..y + h {
            n += self.labels[row * self.width + x..row * self.width + x + w]
                .iter()
                .filter(|&&l| l != IGNORE)
                .count();
        }
        n as f64 / (w * h) as f64
    }
}

/// Image and labels must cover the same pixels: same size, and the same CRS and geotransform
/// where both say.
fn check_alignment(spec: &SceneSpec, image: &Dataset, labels: &Dataset) -> Result<()> {
    if (image.width(), image.height()) != (labels.width(), labels.height()) {
        return Err(Error::input(format!(
            "labels {} are {} x {} pixels but image {} is {} x {}: they must cover the same pixels",
            spec.labels,
            labels.width(),
            labels.height(),
            spec.image,
            image.width(),
            image.height()
        )));
    }
    let (pi, pl) = (image.projection(), labels.projection());
    if !pi.is_empty() && !pl.is_empty() && pi != pl {
        return Err(Error::input(format!(
            "labels {} and image {} are in different coordinate reference systems; reproject the labels onto the image grid (gdalwarp -r near)",
            spec.labels, spec.image
        )));
    }
    if let (Some(a), Some(b)) = (image.geo_transform(), labels.geo_transform()) {
        let tol = a[1].abs().max(a[5].abs()) * 1e-3;
        if a.iter().zip(&b).any(|(p, q)| (p - q).abs() > tol.max(1e-9)) {
            return Err(Error::input(format!(
                "labels {} and image {} have different geotransforms ({a:?} vs {b:?}): they are not on the same grid",
                spec.labels, spec.image
            )));
        }
    }
    Ok(())
}
