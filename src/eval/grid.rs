//! A prediction (or an image) must lie on the reference's grid pixel for pixel: the same size
//! and, where both rasters say, the same CRS and geotransform. Rasters without georeferencing
//! (a numpy array saved as GeoTIFF) are compared by size only.

use crate::error::{Error, Result};
use crate::raster::gdal::{cstring, take_last_error};
use crate::raster::Dataset;
use gdal_sys as g;

/// Fails with a message naming both rasters and what differs.
pub fn check_same_grid(reference: &Dataset, other: &Dataset, what: &str) -> Result<()> {
    let (rw, rh, ow, oh) = (
        reference.width(),
        reference.height(),
        other.width(),
        other.height(),
    );
    if (rw, rh) != (ow, oh) {
        return Err(Error::input(format!(
            "{what} {} is {ow} x {oh} pixels but reference {} is {rw} x {rh}: they must cover the same grid pixel for pixel (resample one onto the other first, e.g. with gdalwarp)",
            other.description, reference.description
        )));
    }
    let (rp, op) = (reference.projection(), other.projection());
    if !rp.is_empty() && !op.is_empty() && !same_crs(&rp, &op)? {
        return Err(Error::input(format!(
            "{what} {} is in CRS '{}' but reference {} is in '{}': reproject one onto the other first (gdalwarp -t_srs)",
            other.description,
            crs_name(&op),
            reference.description,
            crs_name(&rp)
        )));
    }
    if let (Some(a), Some(b)) = (reference.geo_transform(), other.geo_transform()) {
        let pixel = a[1].abs().max(a[5].abs()).max(f64::MIN_POSITIVE);
        if a.iter().zip(&b).any(|(x, y)| (x - y).abs() > pixel * 1e-3) {
            return Err(Error::input(format!(
                "{what} {} and reference {} have the same size but different grids (origin {:?} vs {:?}, pixel size {:?} vs {:?})",
                other.description,
                reference.description,
                (b[0], b[3]),
                (a[0], a[3]),
                (b[1], b[5]),
                (a[1], a[5])
            )));
        }
    }
    Ok(())
}

/// Whether two WKT strings describe the same CRS (GDAL's OSRIsSame), so that the same CRS
/// written by two programs is not taken for two.
fn same_crs(a: &str, b: &str) -> Result<bool> {
    if a == b {
        return Ok(true);
    }
    let (ca, cb) = (cstring(a)?, cstring(b)?);
    // SAFETY: valid C strings; both handles are checked for NULL and destroyed here.
    unsafe {
        let ha = g::OSRNewSpatialReference(ca.as_ptr());
        let hb = g::OSRNewSpatialReference(cb.as_ptr());
        let same = !ha.is_null() && !hb.is_null() && g::OSRIsSame(ha, hb) != 0;
        if !ha.is_null() {
            g::OSRDestroySpatialReference(ha);
        }
        if !hb.is_null() {
            g::OSRDestroySpatialReference(hb);
        }
        // A WKT GDAL cannot parse is an answer (not the same), not an error to leave behind.
        let _ = take_last_error();
        Ok(same)
    }
}

/// The CRS's name: the first quoted string of its WKT ("WGS 84 / UTM zone 33N").
fn crs_name(wkt: &str) -> String {
    wkt.split('"').nth(1).unwrap_or(wkt).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::gdal::PixelType;

    const UTM33: &str = r#"PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","32633"]]"#;

    #[test]
    fn crs_comparison_and_names() {
        assert!(same_crs(UTM33, UTM33).unwrap());
        let utm32 = UTM33
            .replace("zone 33N", "zone 32N")
            .replace("\"central_meridian\",15", "\"central_meridian\",9")
            .replace("32633", "32632");
        assert!(!same_crs(UTM33, &utm32).unwrap());
        assert_eq!(crs_name(UTM33), "WGS 84 / UTM zone 33N");
    }

    #[test]
    fn sizes_must_match() {
        let a = Dataset::create("MEM", "", 4, 3, 1, PixelType::U8, &[]).unwrap();
        let b = Dataset::create("MEM", "", 3, 4, 1, PixelType::U8, &[]).unwrap();
        let e = check_same_grid(&a, &b, "prediction of x").unwrap_err();
        assert!(
            e.message.contains("is 3 x 4 pixels but reference"),
            "{}",
            e.message
        );
        assert!(check_same_grid(&a, &a, "image").is_ok());
    }
}
