//! Products whose bands live in several subdatasets at different resolutions (a Sentinel-2
//! .SAFE through GDAL's SENTINEL2 driver: 10 m, 20 m and 60 m groups) opened as one virtual
//! raster holding exactly the bands a model needs, on one grid.

use super::bandmap::{band_key, model_band_key, spectral_key};
use super::gdal::{escape, Dataset};
use super::grid::{Grid, InputGrid, Resampled};
use crate::error::{Error, Result};
use crate::model::bands::canonical_band;
use gdal_sys as g;

/// One source band found in a subdataset, and how the stack presents it.
pub struct Found {
    pub subdataset: String,
    pub band: usize,
    data_type: String,
    pub nodata: Option<f64>,
    /// The source band's metadata (`BANDNAME`, `WAVELENGTH`, …), carried onto the stack.
    pub metadata: Vec<(String, String)>,
    size: (usize, usize),
    geo: [f64; 6],
    /// The source's CRS (WKT), read with the rest so the stack need not reopen it.
    projection: String,
    /// GDAL scale and offset for the stacked band (reflectance = value * scale + offset), when
    /// the product states them.
    pub scale_offset: Option<(f64, f64)>,
    /// GDAL open options for the source (`OVERVIEW_LEVEL=NONE`).
    pub open_options: Vec<(String, String)>,
}

impl Found {
    /// Band `band` of `ds`, opened as `name` (a subdataset, a STAC item's asset, a Landsat band
    /// file); `None` when it has no georeferencing.
    pub fn read(ds: &Dataset, name: &str, band: usize) -> Option<Found> {
        Some(Found {
            subdataset: name.to_string(),
            band,
            data_type: ds.band_type_name(band),
            nodata: ds.band_nodata(band),
            metadata: ds.metadata_list(Some(band), ""),
            size: (ds.width(), ds.height()),
            geo: ds.geo_transform()?,
            projection: ds.projection(),
            scale_offset: None,
            open_options: Vec::new(),
        })
    }

    /// Whether `other` lies on the same grid (size and georeferencing).
    pub fn same_grid(&self, other: &Found) -> bool {
        self.size == other.size && self.geo == other.geo
    }

    /// The source's size in pixels.
    pub fn size(&self) -> (usize, usize) {
        self.size
    }
}

/// Opens `ds` (opened from `path`) for masking: a raster with bands as it is, a product with
/// bands only in subdatasets as a stack of the model's bands at the coarsest of their
/// resolutions (or at `resolution`, map units), each band averaged onto that grid. Also says
/// whether it stacked, and the input's own grid when the stack lies on another.
pub fn open_product(
    ds: Dataset,
    path: &str,
    model_bands: &[String],
    resolution: Option<f64>,
) -> Result<(Dataset, bool, Option<InputGrid>)> {
    if ds.band_count() > 0 {
        return Ok((ds, false, None));
    }
    let found = find_bands(&ds, path, model_bands, &|_, _| true)?;
    let metadata = ds.metadata_list(None, "");
    let (stacked, grid) = stack(ds, path, model_bands, &found, resolution, &metadata)?;
    Ok((stacked, true, grid))
}

/// Finds, for each model band, the subdataset band holding it (never one of the true-colour
/// preview), skipping bands `has_data` rejects (a product may list a band whose file is
/// missing). A model band found nowhere is a band-mapping error naming it.
pub fn find_bands(
    ds: &Dataset,
    path: &str,
    model_bands: &[String],
    has_data: &dyn Fn(&Dataset, usize) -> bool,
) -> Result<Vec<Found>> {
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
        if sub.geo_transform().is_none() {
            continue;
        }
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
                if found[i].is_none() && model_band_key(want) == key && has_data(&sub, b) {
                    found[i] = Found::read(&sub, name, b);
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
    Ok(found.into_iter().flatten().collect())
}

/// The stack of `found` (one per model band, named `model_bands`) on one grid, as a VRT in
/// memory that keeps `product` open, with `metadata` as its dataset metadata; and the input's own
/// grid when the stack lies on another ([`finest_grid`]).
pub fn stack(
    product: Dataset,
    path: &str,
    model_bands: &[String],
    found: &[Found],
    resolution: Option<f64>,
    metadata: &[(String, String)],
) -> Result<(Dataset, Option<InputGrid>)> {
    let (handle, grid) = open_stack(path, model_bands, found, metadata, resolution)?;
    Ok((Dataset::derived(handle, product), grid))
}

/// Opens a VRT in memory stacking `found` (one per model band, named after `names`) on the grid
/// of the coarsest one (or `resolution`), with dataset metadata `metadata`, and gives the
/// input's own grid when the stack lies on another. The handle is the caller's to own (a STAC
/// item or a Landsat scene has no product dataset to keep open beside it).
pub fn open_stack(
    path: &str,
    names: &[String],
    found: &[Found],
    metadata: &[(String, String)],
    resolution: Option<f64>,
) -> Result<(g::GDALDatasetH, Option<InputGrid>)> {
    let grid = finest_grid(found, resolution);
    let xml = stack_vrt(names, found, resolution, metadata)?;
    let handle = Dataset::open_vrt_xml(&xml)
        .map_err(|why| Error::input(format!("cannot stack the bands of {path}: {why}")))?;
    Ok((handle, grid))
}

/// The grid of the finest found band: the input's own grid when the bands come at several
/// resolutions, or when the stack is resampled to `resolution`; `None` when the stack lies on
/// the bands' own grid.
fn finest_grid(found: &[Found], resolution: Option<f64>) -> Option<InputGrid> {
    let pixel = |f: &Found| f.geo[1].abs();
    let finest = found.iter().min_by(|a, b| pixel(a).total_cmp(&pixel(b)))?;
    let several = found
        .iter()
        .any(|f| (pixel(f) - pixel(finest)).abs() > 1e-6 * pixel(finest));
    let why = match (several, resolution) {
        (true, _) => Resampled::SeveralResolutions,
        (false, Some(_)) => Resampled::Requested,
        (false, None) => return None,
    };
    let grid = Grid {
        width: finest.size.0,
        height: finest.size.1,
        geo_transform: finest.geo,
        projection: finest.projection.clone(),
    };
    Some(InputGrid { grid, why })
}

/// VRT XML stacking the found bands on the grid of the coarsest one (or `resolution`).
fn stack_vrt(
    names: &[String],
    found: &[Found],
    resolution: Option<f64>,
    metadata: &[(String, String)],
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
    let srs = &first.projection;
    let mut xml = format!("<VRTDataset rasterXSize=\"{w}\" rasterYSize=\"{h}\">\n");
    xml += &format!("  <SRS>{}</SRS>\n", escape(srs));
    xml += &format!(
        "  <GeoTransform>{x0}, {pixel}, 0, {y0}, 0, {}</GeoTransform>\n",
        -pixel
    );
    // Product-level metadata (quantification, radiometric offsets, baseline) for scaling.
    xml += "  <Metadata>\n";
    for (k, v) in metadata {
        xml += &format!("    <MDI key=\"{}\">{}</MDI>\n", escape(k), escape(v));
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
        if let Some((scale, offset)) = f.scale_offset {
            xml += &format!("    <Offset>{offset:?}</Offset>\n    <Scale>{scale:?}</Scale>\n");
        }
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
        if !f.open_options.is_empty() {
            xml += "      <OpenOptions>\n";
            for (k, v) in &f.open_options {
                xml += &format!("        <OOI key=\"{}\">{}</OOI>\n", escape(k), escape(v));
            }
            xml += "      </OpenOptions>\n";
        }
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
