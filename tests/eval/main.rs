//! `cloudmask eval` as users run it: the kappa the upstream ukis-csmask model reaches on the
//! sample tile, tiny hand-computed fixtures through folders and list files, a model run on the
//! fly, the reports, and the errors bad input gets.
//! One test binary; a module per topic, the helpers they share here.

#[path = "../common/mod.rs"]
mod common;

mod errors;
mod fixture;
mod sample;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `cloudmask ARGS…`.
pub fn cloudmask(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .output()
        .unwrap()
}

/// A path as the command line gets it.
pub fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The evaluation.json report written into `dir`.
pub fn report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("evaluation.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The report's entry for one predictor.
pub fn predictor<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["predictors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no predictor {name} in {report}"))
}

/// A predictor's CloudSEN12 figures for one problem (cloud, shadow…).
pub fn problem<'a>(predictor: &'a Value, name: &str) -> &'a Value {
    predictor["cloudsen12"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["problem"] == name)
        .unwrap()
}

/// A JSON number within 1e-9 of `want`.
pub fn close(v: &Value, want: f64) -> bool {
    (v.as_f64().unwrap_or(f64::NAN) - want).abs() < 1e-9
}

/// A one-band byte GeoTIFF, optionally with a CRS (WKT) and a nodata value.
pub fn write_tif(
    path: &Path,
    w: usize,
    h: usize,
    values: &[u8],
    wkt: Option<&str>,
    nodata: Option<f64>,
) {
    let ds = common::write_u8_tif(path, w, h, values);
    if let Some(n) = nodata {
        ds.set_band_nodata(1, n).unwrap();
    }
    if let Some(wkt) = wkt {
        let c = std::ffi::CString::new(wkt).unwrap();
        let gt = [500000.0, 30.0, 0.0, 4000000.0, 0.0, -30.0];
        // SAFETY: open dataset, valid C string and 6 doubles.
        unsafe {
            gdal_sys::GDALSetProjection(ds.handle(), c.as_ptr());
            gdal_sys::GDALSetGeoTransform(ds.handle(), gt.as_ptr() as *mut f64);
        }
    }
}
