//! Grids: where a raster's pixels lie (size, geotransform, projection), and which grid the
//! outputs are written on when the mask was computed on another one (`--output-grid`).
//!
//! The mask is computed on the *processing grid*: the input's own, or the one it was resampled
//! to (`--resolution`, or the coarsest band of a product whose bands come at several
//! resolutions). The *input grid* is the input's own grid (for such a product, its finest
//! band's). Writing on the input grid samples the processing grid's pixels by nearest
//! neighbour, so class codes stay codes.

use super::gdal::{escape, Dataset};
use crate::error::{Error, Result};

/// A raster grid: pixel size and georeferencing.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub width: usize,
    pub height: usize,
    pub geo_transform: [f64; 6],
    pub projection: String,
}

impl Grid {
    /// The grid of `ds`, when it is georeferenced.
    pub fn of(ds: &Dataset) -> Option<Grid> {
        Some(Grid {
            width: ds.width(),
            height: ds.height(),
            geo_transform: ds.geo_transform()?,
            projection: ds.projection(),
        })
    }

    /// Whether both grids have the same size and, to a thousandth of a pixel, the same
    /// geotransform.
    pub fn same_as(&self, other: &Grid) -> bool {
        let tol = 1e-3 * self.geo_transform[1].abs().max(self.geo_transform[5].abs());
        (self.width, self.height) == (other.width, other.height)
            && self
                .geo_transform
                .iter()
                .zip(&other.geo_transform)
                .all(|(a, b)| (a - b).abs() <= tol)
    }
}

/// Why the input's own grid differs from the grid the mask is computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resampled {
    /// A product whose bands come at several resolutions, stacked on the coarsest one.
    SeveralResolutions,
    /// The user asked for a resolution (`--resolution`).
    Requested,
}

/// The input's own grid, kept with the source read on another grid.
#[derive(Debug, Clone, PartialEq)]
pub struct InputGrid {
    pub grid: Grid,
    pub why: Resampled,
}

/// Which grid the outputs are written on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputGrid {
    /// The input grid for a product with bands at several resolutions, else the processing grid.
    #[default]
    Auto,
    /// The input's own grid (its finest band's), sampled by nearest neighbour.
    Input,
    /// The grid the mask was computed on.
    Processing,
}

crate::options::choice!(OutputGrid, "output grid", [
    Auto => "auto", "The input grid for products with bands at several resolutions, else the processing grid",
    Input => "input", "The input's own grid (its finest band's), nearest-neighbour",
    Processing => "processing", "The grid the mask was computed on (--resolution, or a product's coarsest band)",
]);

impl OutputGrid {
    /// The grid to write on when it is not `processing` itself; `None` for the processing grid.
    pub fn pick(self, input: Option<&InputGrid>, processing: Option<&Grid>) -> Option<Grid> {
        let input = input?;
        let wanted = match self {
            OutputGrid::Input => true,
            OutputGrid::Auto => input.why == Resampled::SeveralResolutions,
            OutputGrid::Processing => false,
        };
        let processing = processing?;
        (wanted && !input.grid.same_as(processing)).then(|| input.grid.clone())
    }
}

/// A virtual raster on grid `to` whose pixels are the nearest pixels of the file `path` on grid
/// `from` (same CRS): each output pixel takes the value of the source pixel under its centre.
pub(crate) fn nearest_onto(
    path: &str,
    from: &Grid,
    to: &Grid,
    bands: usize,
    data_type: &str,
) -> Result<Dataset> {
    let xml = nearest_vrt(path, from, to, bands, data_type);
    let handle = Dataset::open_vrt_xml(&xml)
        .map_err(|why| Error::output(format!("cannot sample {path} onto the input grid: {why}")))?;
    Ok(Dataset::from_owned_handle(handle, path))
}

fn nearest_vrt(path: &str, from: &Grid, to: &Grid, bands: usize, data_type: &str) -> String {
    let (f, t) = (&from.geo_transform, &to.geo_transform);
    // Where the source raster lies in output pixels.
    let x_off = (f[0] - t[0]) / t[1];
    let y_off = (f[3] - t[3]) / t[5];
    let x_size = from.width as f64 * f[1] / t[1];
    let y_size = from.height as f64 * f[5] / t[5];
    let gt = t.map(|v| v.to_string()).join(", ");
    let mut xml = format!(
        "<VRTDataset rasterXSize=\"{}\" rasterYSize=\"{}\">\n  <GeoTransform>{gt}</GeoTransform>\n",
        to.width, to.height
    );
    let file = escape(path);
    for b in 1..=bands {
        xml += &format!(
            "  <VRTRasterBand dataType=\"{data_type}\" band=\"{b}\">\n    <SimpleSource resampling=\"nearest\">\n      <SourceFilename relativeToVRT=\"0\">{file}</SourceFilename>\n      <SourceBand>{b}</SourceBand>\n      <SrcRect xOff=\"0\" yOff=\"0\" xSize=\"{}\" ySize=\"{}\"/>\n      <DstRect xOff=\"{x_off}\" yOff=\"{y_off}\" xSize=\"{x_size}\" ySize=\"{y_size}\"/>\n    </SimpleSource>\n  </VRTRasterBand>\n",
            from.width, from.height
        );
    }
    xml + "</VRTDataset>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(w: usize, h: usize, pixel: f64) -> Grid {
        Grid {
            width: w,
            height: h,
            geo_transform: [600000.0, pixel, 0.0, 5000000.0, 0.0, -pixel],
            projection: String::new(),
        }
    }

    #[test]
    fn the_output_grid_follows_the_choice_and_why_the_input_was_resampled() {
        let (fine, coarse) = (grid(20, 10, 10.0), grid(10, 5, 20.0));
        let product = InputGrid {
            grid: fine.clone(),
            why: Resampled::SeveralResolutions,
        };
        let requested = InputGrid {
            grid: fine.clone(),
            why: Resampled::Requested,
        };
        let pick = |o: OutputGrid, i: &InputGrid| o.pick(Some(i), Some(&coarse));
        assert_eq!(pick(OutputGrid::Auto, &product), Some(fine.clone()));
        assert_eq!(pick(OutputGrid::Auto, &requested), None);
        assert_eq!(pick(OutputGrid::Input, &requested), Some(fine.clone()));
        assert_eq!(pick(OutputGrid::Processing, &product), None);
        // The same grid needs no resampling.
        assert_eq!(OutputGrid::Input.pick(Some(&requested), Some(&fine)), None);
        assert_eq!(OutputGrid::Input.pick(None, Some(&coarse)), None);
    }
}
