//! Where pixels come from: a GDAL dataset or a caller's buffer, read as reflectance per model band.

use super::bandmap::{map_bands, BandSelection};
use super::gdal::Dataset;
use super::grid::InputGrid;
use super::scaling::{band_gain_bias, BandScale, Scaling};
use crate::error::{Error, Result};

/// A rectangle of all model bands as reflectance, band-major (band, row, column), and which
/// pixels are nodata (non-finite, or equal to a band's nodata value, in any band).
pub struct Block {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
    pub nodata: Vec<bool>,
}

/// Anything the engine can read model bands from. `Send` so a reader thread can own the reads.
pub trait BandSource: Send {
    fn width(&self) -> usize;
    fn height(&self) -> usize;
    fn n_bands(&self) -> usize;
    fn read(&mut self, x: usize, y: usize, w: usize, h: usize) -> Result<Block>;
    /// Things the user should know, found while reading (e.g. floats that look like DN).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Model bands read from a GDAL dataset, scaled to reflectance.
pub struct GdalSource {
    ds: Dataset,
    bands: Vec<usize>,
    gain_bias: Vec<BandScale>,
    nodata: Vec<Option<f64>>,
    /// How values were asked to become reflectance (the quicklook scales its colours the same).
    scaling: Scaling,
    looks_like_dn: bool,
    scratch: Vec<f32>,
    /// The input's own grid when the dataset was resampled or stacked onto another.
    input_grid: Option<InputGrid>,
}

impl GdalSource {
    /// Maps and scales the bands of a dataset already opened (stacked, resampled) for the
    /// model. Callers go through [`super::Input::open_for`], which does that and checks the
    /// choices first.
    pub fn new(
        ds: Dataset,
        model_bands: &[String],
        selection: &BandSelection,
        scaling: Scaling,
        nodata_override: Option<f64>,
    ) -> Result<Self> {
        crate::limits::check_raster(&ds.description, ds.width() as u64, ds.height() as u64)?;
        let bands = map_bands(&ds, model_bands, selection)?;
        let gain_bias = bands
            .iter()
            .map(|&b| band_gain_bias(&ds, b, scaling))
            .collect::<Result<_>>()?;
        let nodata = bands
            .iter()
            .map(|&b| nodata_override.or(ds.band_nodata(b)))
            .collect();
        Ok(GdalSource {
            ds,
            bands,
            gain_bias,
            nodata,
            scaling,
            looks_like_dn: false,
            scratch: Vec::new(),
            input_grid: None,
        })
    }

    /// This source, read from `input_grid` resampled or stacked onto the dataset's grid.
    pub fn on_input_grid(mut self, input_grid: Option<InputGrid>) -> Self {
        self.input_grid = input_grid;
        self
    }

    /// The input's own grid, when the dataset lies on another (see [`super::grid`]).
    pub fn input_grid(&self) -> Option<&InputGrid> {
        self.input_grid.as_ref()
    }

    pub fn dataset(&self) -> &Dataset {
        &self.ds
    }

    pub fn scaling(&self) -> Scaling {
        self.scaling
    }

    /// How each model band's values became reflectance, for the outputs' metadata:
    /// `blue: value * 0.0001 + -0.1 (band scale/offset); green: ...`.
    pub fn scaling_record(&self, model_bands: &[String]) -> String {
        model_bands
            .iter()
            .zip(&self.gain_bias)
            .map(|(name, s)| format!("{name}: {s}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// 1-based raster band feeding each model band.
    pub fn band_indices(&self) -> &[usize] {
        &self.bands
    }

    /// How each model band's values become reflectance, and what said so.
    pub fn band_scales(&self) -> &[BandScale] {
        &self.gain_bias
    }

    /// Each model band's nodata value (the override, else the raster band's own).
    pub fn band_nodata(&self) -> &[Option<f64>] {
        &self.nodata
    }
}

impl BandSource for GdalSource {
    fn width(&self) -> usize {
        self.ds.width()
    }
    fn height(&self) -> usize {
        self.ds.height()
    }
    fn n_bands(&self) -> usize {
        self.bands.len()
    }

    fn read(&mut self, x: usize, y: usize, w: usize, h: usize) -> Result<Block> {
        let n = w * h;
        let mut data = vec![0f32; self.bands.len() * n];
        let mut nodata = vec![false; n];
        self.scratch.resize(n, 0.0);
        for (k, &band) in self.bands.iter().enumerate() {
            self.ds.read(band, x, y, w, h, &mut self.scratch)?;
            let BandScale { gain, bias, .. } = self.gain_bias[k];
            let nd = self.nodata[k];
            let out = &mut data[k * n..(k + 1) * n];
            let identity = gain == 1.0 && bias == 0.0;
            for (i, (&raw, o)) in self.scratch.iter().zip(out.iter_mut()).enumerate() {
                if !raw.is_finite()
                    || nd.is_some_and(|v| raw as f64 == v || (v.is_nan() && raw.is_nan()))
                {
                    nodata[i] = true;
                    continue;
                }
                // Scaling in f64 keeps DN → reflectance exact to f32 precision.
                *o = if identity {
                    raw
                } else {
                    (raw as f64 * gain + bias) as f32
                };
                if identity && raw > 10.0 {
                    self.looks_like_dn = true;
                }
            }
        }
        Ok(Block { w, h, data, nodata })
    }

    fn warnings(&self) -> Vec<String> {
        if self.looks_like_dn {
            vec![format!(
                "{} holds floating-point values above 10, which look like digital numbers rather than reflectance; \
                 if so, pass --scaling dn (reflectance = (DN + offset) / 10000)",
                self.ds.description
            )]
        } else {
            Vec::new()
        }
    }
}

/// Model bands from a caller's buffer: `data` is band-major (band, row, column) reflectance.
pub struct MemorySource<'a> {
    data: &'a [f32],
    width: usize,
    height: usize,
    bands: usize,
    nodata: Option<f32>,
}

impl<'a> MemorySource<'a> {
    pub fn new(
        data: &'a [f32],
        bands: usize,
        width: usize,
        height: usize,
        nodata: Option<f32>,
    ) -> Result<Self> {
        if width == 0 || height == 0 || bands == 0 {
            return Err(Error::window(format!(
                "buffer of {bands} bands x {width} x {height} is empty"
            )));
        }
        crate::limits::check_raster("the buffer", width as u64, height as u64)?;
        // Checked: a product that wrapped could match a short buffer.
        let needed = bands.checked_mul(width * height);
        if needed != Some(data.len()) {
            return Err(Error::invalid(format!(
                "buffer holds {} values but {bands} bands x {width} x {height} need {}",
                data.len(),
                bands as u128 * (width * height) as u128
            )));
        }
        Ok(MemorySource {
            data,
            width,
            height,
            bands,
            nodata,
        })
    }
}

impl BandSource for MemorySource<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn height(&self) -> usize {
        self.height
    }
    fn n_bands(&self) -> usize {
        self.bands
    }
    fn read(&mut self, x: usize, y: usize, w: usize, h: usize) -> Result<Block> {
        let n = w * h;
        let mut data = vec![0f32; self.bands * n];
        let mut nodata = vec![false; n];
        for b in 0..self.bands {
            let plane =
                &self.data[b * self.width * self.height..(b + 1) * self.width * self.height];
            for r in 0..h {
                let src = &plane[(y + r) * self.width + x..(y + r) * self.width + x + w];
                let dst = &mut data[b * n + r * w..b * n + (r + 1) * w];
                for (c, (&v, d)) in src.iter().zip(dst.iter_mut()).enumerate() {
                    if !v.is_finite() || self.nodata.is_some_and(|nd| v == nd) {
                        nodata[r * w + c] = true;
                    } else {
                        *d = v;
                    }
                }
            }
        }
        Ok(Block { w, h, data, nodata })
    }
}

/// A window of another source, seen as a raster of its own (ukis mode masks a window as if it
/// were the whole image, as ukis-csmask would on the crop).
pub struct Cropped<'s> {
    pub inner: &'s mut dyn BandSource,
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

impl BandSource for Cropped<'_> {
    fn width(&self) -> usize {
        self.w
    }
    fn height(&self) -> usize {
        self.h
    }
    fn n_bands(&self) -> usize {
        self.inner.n_bands()
    }
    fn read(&mut self, x: usize, y: usize, w: usize, h: usize) -> Result<Block> {
        self.inner.read(self.x + x, self.y + y, w, h)
    }
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings()
    }
}
