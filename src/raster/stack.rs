//! Products whose bands live in several subdatasets at different resolutions (a Sentinel-2
//! .SAFE through GDAL's SENTINEL2 driver: 10 m, 20 m and 60 m groups) opened as one virtual
//! raster holding exactly the bands a model needs, on one grid.

use super::bandmap::{band_key, model_band_key, spectral_key};
use super::gdal::{cstring, take_last_error, Dataset};
use super::grid::{Grid, InputGrid, Resampled};
use crate::error::{Error, Result};
use crate::model::bands::canonical_band;
use gdal_sys as g;

/// One source band found in a subdataset.
struct Found {
    subdataset: String,
    band: usize,
    data_type: String,
    nodata: Option<f64>,
    metadata: Vec<(String, String)>,
    size: (usize, usize),
    geo: [f64; 6],
}

/// Opens `path` for masking: a raster with bands as it is, a product with bands only in
/// subdatasets as a stack of the model's bands at the coarsest of their resolutions (or at
/// `resolution`, map units), each band averaged onto that grid. Also says whether it stacked,
/// and the grid of the stack's finest band when the stack is on another grid.
pub fn open_product(
    path: &str,
    model_bands: &[String],
    resolution: Option<f64>,
) -> Result<(Dataset, bool, Option<InputGrid>)> {
    let ds = Dataset::open_container(path)?;
    if ds.band_count() > 0 {
        return Ok((ds, false, None));
    }
    let subdatasets = ds.subdatasets();
    if subdatasets.is_empty() {
        return Err(Error::input(format!(
            "{path} has no raster bands and no subdatasets"
        )));
    }
    let mut found: Vec<Option<Found>> = model_bands.iter().map(|_| None).collect();
    for (name, desc) in &subdatasets {
        // The true-colour preview of Sentinel-2 products has bands called red, green and blue
        // holding 8-bit display values, not reflectance: never take bands from it.
        if name.to_ascii_uppercase().contains(":TCI")
            || desc.to_ascii_lowercase().contains("true color")
        {
            continue;
        }
        let Ok(sub) = Dataset::open(name) else {
            continue;
        };
        let Some(geo) = sub.geo_transform() else {
            continue;
        };
        for b in 1..=sub.band_count() {
            // A recognised band name on the band wins; a single-band subdataset is otherwise
            // named by its own description ("B02 - B02" for a GeoPackage table called B02).
            let from_desc = || {
                (sub.band_count() == 1)
                    .then(|| {
                        desc.split([' ', ','])
                            .next()
                            .and_then(canonical_band)
                            .map(str::to_string)
                    })
                    .flatten()
            };
            let key = spectral_key(&sub, b)
                .map(str::to_string)
                .or_else(from_desc)
                .or_else(|| band_key(&sub, b));
            let Some(key) = key else { continue };
            for (i, want) in model_bands.iter().enumerate() {
                if found[i].is_none() && model_band_key(want) == key {
                    found[i] = Some(Found {
                        subdataset: name.clone(),
                        band: b,
                        data_type: sub.band_type_name(b),
                        nodata: sub.band_nodata(b),
                        metadata: sub.metadata_list(Some(b), ""),
                        size: (sub.width(), sub.height()),
                        geo,
                    });
                }
            }
        }
    }
    let missing: Vec<&str> = model_bands
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::bands(format!(
            "{path}: no subdataset holds the model's band(s) {} (subdatasets: {})",
            missing.join(", "),
            subdatasets
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let found: Vec<Found> = found.into_iter().flatten().collect();
    let input_grid = finest_grid(&found, resolution)?;
    let xml = stack_vrt(&ds, model_bands, &found, resolution)?;
    let c = cstring(&xml)?;
    // SAFETY: GDAL opens VRT XML given in place of a file name; the handle is ours.
    let handle = unsafe { g::GDALOpen(c.as_ptr(), g::GDALAccess::GA_ReadOnly) };
    if handle.is_null() {
        return Err(Error::input(format!(
            "cannot stack the bands of {path}: {}",
            take_last_error()
        )));
    }
    Ok((Dataset::derived(handle, ds), true, input_grid))
}

/// The grid of the finest found band: the input's own grid when the bands come at several
/// resolutions, or when the stack is resampled to `resolution`.
fn finest_grid(found: &[Found], resolution: Option<f64>) -> Result<Option<InputGrid>> {
    let pixel = |f: &Found| f.geo[1].abs();
    let Some(finest) = found.iter().min_by(|a, b| pixel(a).total_cmp(&pixel(b))) else {
        return Ok(None);
    };
    let several = found
        .iter()
        .any(|f| (pixel(f) - pixel(finest)).abs() > 1e-6 * pixel(finest));
    let why = match (several, resolution) {
        (true, _) => Resampled::SeveralResolutions,
        (false, Some(_)) => Resampled::Requested,
        (false, None) => return Ok(None),
    };
    let grid = Grid {
        width: finest.size.0,
        height: finest.size.1,
        geo_transform: finest.geo,
        projection: Dataset::open(&finest.subdataset)?.projection(),
    };
    Ok(Some(InputGrid { grid, why }))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// VRT XML stacking the found bands on the grid of the coarsest one (or `resolution`).
fn stack_vrt(
    product: &Dataset,
    names: &[String],
    found: &[Found],
    resolution: Option<f64>,
) -> Result<String> {
    let first = &found[0];
    let pixel = match resolution {
        Some(r) if r.is_finite() && r > 0.0 => r,
        Some(r) => {
            return Err(Error::invalid(format!(
                "resolution {r} must be a positive number of map units"
            )))
        }
        None => found.iter().map(|f| f.geo[1].abs()).fold(0.0, f64::max),
    };
    let (x0, y0) = (first.geo[0], first.geo[3]);
    let width_m = first.size.0 as f64 * first.geo[1].abs();
    let height_m = first.size.1 as f64 * first.geo[5].abs();
    let (w, h) = (
        (width_m / pixel).round() as usize,
        (height_m / pixel).round() as usize,
    );
    if w == 0 || h == 0 {
        return Err(Error::invalid(format!(
            "resolution {pixel} is coarser than the whole product"
        )));
    }
    let srs = Dataset::open(&first.subdataset)?.projection();
    let mut xml = format!("<VRTDataset rasterXSize=\"{w}\" rasterYSize=\"{h}\">\n");
    xml += &format!("  <SRS>{}</SRS>\n", escape(&srs));
    xml += &format!(
        "  <GeoTransform>{x0}, {pixel}, 0, {y0}, 0, {}</GeoTransform>\n",
        -pixel
    );
    // Product-level metadata (quantification, radiometric offsets, baseline) for scaling.
    xml += "  <Metadata>\n";
    for (k, v) in product.metadata_list(None, "") {
        xml += &format!("    <MDI key=\"{}\">{}</MDI>\n", escape(&k), escape(&v));
    }
    xml += "  </Metadata>\n";
    for (i, (name, f)) in names.iter().zip(found).enumerate() {
        xml += &format!(
            "  <VRTRasterBand dataType=\"{}\" band=\"{}\">\n",
            f.data_type,
            i + 1
        );
        xml += &format!("    <Description>{}</Description>\n", escape(name));
        if let Some(nd) = f.nodata {
            xml += &format!("    <NoDataValue>{nd}</NoDataValue>\n");
        }
        xml += "    <Metadata>\n";
        for (k, v) in &f.metadata {
            xml += &format!("      <MDI key=\"{}\">{}</MDI>\n", escape(k), escape(v));
        }
        xml += "    </Metadata>\n";
        // Where the source's pixels land on the target grid.
        let dx = (f.geo[0] - x0) / pixel;
        let dy = (y0 - f.geo[3]) / pixel;
        let dw = f.size.0 as f64 * f.geo[1].abs() / pixel;
        let dh = f.size.1 as f64 * f.geo[5].abs() / pixel;
        xml += "    <ComplexSource resampling=\"average\">\n";
        xml += &format!(
            "      <SourceFilename relativeToVRT=\"0\">{}</SourceFilename>\n",
            escape(&f.subdataset)
        );
        xml += &format!("      <SourceBand>{}</SourceBand>\n", f.band);
        xml += &format!(
            "      <SrcRect xOff=\"0\" yOff=\"0\" xSize=\"{}\" ySize=\"{}\"/>\n",
            f.size.0, f.size.1
        );
        xml += &format!(
            "      <DstRect xOff=\"{dx}\" yOff=\"{dy}\" xSize=\"{dw}\" ySize=\"{dh}\"/>\n"
        );
        if let Some(nd) = f.nodata {
            xml += &format!("      <NODATA>{nd}</NODATA>\n");
        }
        xml += "    </ComplexSource>\n  </VRTRasterBand>\n";
    }
    xml += "</VRTDataset>\n";
    Ok(xml)
}
