//! Naming a raster's coordinate reference system by its authority and code (e.g.
//! "EPSG:32633"), for outputs that refer to a CRS by name, such as GeoJSON.

use super::gdal::{cstring, take_last_error};
use gdal_sys as g;
use std::ffi::CStr;

/// "AUTHORITY:CODE" of a CRS given as WKT (what `Dataset::projection` returns), found by GDAL
/// (identifying the EPSG code when the WKT does not state one); `None` for an empty or unknown
/// CRS.
pub fn authority_code(wkt: &str) -> Option<String> {
    if wkt.trim().is_empty() {
        return None;
    }
    let text = cstring(wkt).ok()?;
    // SAFETY: a new spatial reference is created, used on this thread only and destroyed; the
    // WKT pointer is advanced by GDAL over our own copy, which outlives the call; returned
    // strings are owned by the spatial reference and copied before it is destroyed.
    unsafe {
        let srs = g::OSRNewSpatialReference(std::ptr::null());
        if srs.is_null() {
            return None;
        }
        let mut cursor = text.as_ptr() as *mut std::os::raw::c_char;
        let mut found = None;
        // WKT that is not a CRS is an answer (None), not an error for GDAL to print: this
        // thread's handler stack only.
        g::CPLPushErrorHandler(Some(g::CPLQuietErrorHandler));
        if g::OSRImportFromWkt(srs, &mut cursor) == g::OGRErr::OGRERR_NONE {
            found = name_and_code(srs);
            if found.is_none() && g::OSRAutoIdentifyEPSG(srs) == g::OGRErr::OGRERR_NONE {
                found = name_and_code(srs);
            }
        }
        g::OSRDestroySpatialReference(srs);
        g::CPLPopErrorHandler();
        let _ = take_last_error();
        found
    }
}

/// # Safety
/// `srs` is a live spatial reference.
unsafe fn name_and_code(srs: g::OGRSpatialReferenceH) -> Option<String> {
    let name = g::OSRGetAuthorityName(srs, std::ptr::null());
    let code = g::OSRGetAuthorityCode(srs, std::ptr::null());
    if name.is_null() || code.is_null() {
        return None;
    }
    Some(format!(
        "{}:{}",
        CStr::from_ptr(name).to_string_lossy(),
        CStr::from_ptr(code).to_string_lossy()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wkt_with_and_without_a_code() {
        let utm = r#"PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433],AUTHORITY["EPSG","4326"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","32633"]]"#;
        assert_eq!(authority_code(utm).as_deref(), Some("EPSG:32633"));
        assert_eq!(authority_code(""), None);
        assert_eq!(authority_code("not a crs"), None);
    }
}
