//! The model's bands of a Landsat scene, one GeoTIFF each, stacked as a VRT in memory, with
//! the scale and offset that make each band reflectance and fill (DN 0) as nodata.

use crate::error::{Error, Result};
use crate::raster::gdal::{cstring, take_last_error, Dataset};
use crate::raster::stack::escape;
use gdal_sys as g;

/// Collection 2 fill: DN 0 in every reflective band, Level-1 and Level-2.
const FILL: f64 = 0.0;

/// One band of the stack.
pub struct Band {
    /// The model's name for it (the VRT band's description).
    pub name: String,
    /// Its GeoTIFF, as a GDAL path.
    pub file: String,
    pub scale: f64,
    pub offset: f64,
}

/// A band file's grid and pixel type.
struct Grid {
    size: (usize, usize),
    geo: [f64; 6],
    data_type: String,
}

/// Opens the stack of `bands` (described as `path`) with dataset metadata `meta`, on the
/// bands' own grid or averaged to `resolution` map units.
pub fn stack(
    path: &str,
    mtl: &str,
    bands: &[Band],
    meta: &[(&str, String)],
    resolution: Option<f64>,
) -> Result<Dataset> {
    let mut grids = Vec::with_capacity(bands.len());
    let mut srs = String::new();
    for b in bands {
        let ds = Dataset::open(&b.file).map_err(|e| {
            Error::input(format!(
                "{mtl} names {} for the model's band {}, but it cannot be opened: {}",
                b.file, b.name, e.message
            ))
        })?;
        let geo = ds
            .geo_transform()
            .ok_or_else(|| Error::input(format!("{} has no georeferencing", b.file)))?;
        if srs.is_empty() {
            srs = ds.projection();
        }
        grids.push(Grid {
            size: (ds.width(), ds.height()),
            geo,
            data_type: ds.band_type_name(1),
        });
    }
    let first = &grids[0];
    for (b, grid) in bands.iter().zip(&grids) {
        if grid.size != first.size || grid.geo != first.geo {
            return Err(Error::input(format!(
                "{} ({}) is not on the grid of {} ({}): a Landsat scene's reflective bands share one 30 m grid",
                b.file, b.name, bands[0].file, bands[0].name
            )));
        }
    }
    let xml = vrt_xml(bands, first, &srs, meta, resolution)?;
    let c = cstring(&xml)?;
    // SAFETY: GDAL opens VRT XML given in place of a file name; the handle is ours.
    let handle = unsafe { g::GDALOpen(c.as_ptr(), g::GDALAccess::GA_ReadOnly) };
    if handle.is_null() {
        return Err(Error::input(format!(
            "cannot stack the bands of {path}: {}",
            take_last_error()
        )));
    }
    Ok(Dataset::from_owned_handle(handle, path))
}

fn vrt_xml(
    bands: &[Band],
    grid: &Grid,
    srs: &str,
    meta: &[(&str, String)],
    resolution: Option<f64>,
) -> Result<String> {
    let native = grid.geo[1].abs();
    let pixel = match resolution {
        None => native,
        Some(r) if r.is_finite() && r > 0.0 => r,
        Some(r) => {
            return Err(Error::invalid(format!(
                "resolution {r} must be a positive number of map units"
            )))
        }
    };
    let (w, h) = if resolution.is_none() {
        grid.size
    } else {
        let f = native / pixel;
        (
            (grid.size.0 as f64 * f).round() as usize,
            (grid.size.1 as f64 * grid.geo[5].abs() / pixel).round() as usize,
        )
    };
    if w == 0 || h == 0 {
        return Err(Error::invalid(format!(
            "resolution {pixel} is coarser than the whole scene"
        )));
    }
    let (x0, y0) = (grid.geo[0], grid.geo[3]);
    let mut xml = format!("<VRTDataset rasterXSize=\"{w}\" rasterYSize=\"{h}\">\n");
    xml += &format!("  <SRS>{}</SRS>\n", escape(srs));
    if resolution.is_none() {
        let t = grid.geo;
        xml += &format!(
            "  <GeoTransform>{}, {}, {}, {}, {}, {}</GeoTransform>\n",
            t[0], t[1], t[2], t[3], t[4], t[5]
        );
    } else {
        xml += &format!(
            "  <GeoTransform>{x0}, {pixel}, 0, {y0}, 0, {}</GeoTransform>\n",
            -pixel
        );
    }
    xml += "  <Metadata>\n";
    for (k, v) in meta {
        xml += &format!("    <MDI key=\"{}\">{}</MDI>\n", escape(k), escape(v));
    }
    xml += "  </Metadata>\n";
    for (i, b) in bands.iter().enumerate() {
        xml += &format!(
            "  <VRTRasterBand dataType=\"{}\" band=\"{}\">\n",
            grid.data_type,
            i + 1
        );
        xml += &format!("    <Description>{}</Description>\n", escape(&b.name));
        xml += &format!("    <NoDataValue>{FILL}</NoDataValue>\n");
        // Rust prints the shortest text that reads back as the same f64: GDAL gets the exact
        // scale and offset.
        xml += &format!("    <Offset>{:?}</Offset>\n", b.offset);
        xml += &format!("    <Scale>{:?}</Scale>\n", b.scale);
        xml += "    <ComplexSource resampling=\"average\">\n";
        xml += &format!(
            "      <SourceFilename relativeToVRT=\"0\">{}</SourceFilename>\n",
            escape(&b.file)
        );
        xml += "      <SourceBand>1</SourceBand>\n";
        xml += &format!(
            "      <SrcRect xOff=\"0\" yOff=\"0\" xSize=\"{}\" ySize=\"{}\"/>\n",
            grid.size.0, grid.size.1
        );
        xml += &format!("      <DstRect xOff=\"0\" yOff=\"0\" xSize=\"{w}\" ySize=\"{h}\"/>\n");
        xml += &format!("      <NODATA>{FILL}</NODATA>\n");
        xml += "    </ComplexSource>\n  </VRTRasterBand>\n";
    }
    xml += "</VRTDataset>\n";
    Ok(xml)
}
