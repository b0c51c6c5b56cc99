//! The selection as GeoJSON: one polygon per chosen tile in the rasters' CRS (through each
//! raster's geotransform), with the pixel window, rank and score in its properties. Rasters
//! without georeferencing get QGIS's convention (x = column, y = −row), so the polygons lie over
//! the raster in QGIS. The CRS is named in the (pre-RFC 7946) `crs` member,
//! which GDAL and QGIS read, so one file holds one CRS.

use super::Selection;
use crate::error::{Error, Result};
use serde_json::{json, Value};

/// Where QGIS draws a raster without georeferencing: column, −row.
const PIXELS: [f64; 6] = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];

/// Fails when the scenes cannot share one GeoJSON: different CRSs, or georeferenced and
/// ungeoreferenced scenes mixed.
pub fn check_one_crs(selection: &Selection) -> Result<()> {
    let key = |i: usize| {
        let s = &selection.scenes[i];
        (s.crs.clone(), s.georef.geo_transform.is_some())
    };
    for i in 1..selection.scenes.len() {
        if key(i) != key(0) {
            let describe = |i: usize| {
                let s = &selection.scenes[i];
                match (&s.crs, s.georef.geo_transform.is_some()) {
                    (Some(c), _) => format!("{} ({c})", s.path),
                    (None, true) => format!("{} (a CRS without an EPSG code)", s.path),
                    (None, false) => format!("{} (no georeferencing)", s.path),
                }
            };
            return Err(Error::invalid(format!(
                "a GeoJSON holds one CRS but the scenes differ: {} and {}; select from each CRS in its own run",
                describe(0),
                describe(i)
            )));
        }
    }
    Ok(())
}

/// The GeoJSON text of the selected tiles, best first.
pub fn to_geojson(selection: &Selection) -> Result<String> {
    check_one_crs(selection)?;
    let features: Vec<Value> = selection
        .selected
        .iter()
        .enumerate()
        .map(|(rank, &i)| {
            let c = &selection.candidates[i];
            let scene = &selection.scenes[c.scene];
            let gt = scene.georef.geo_transform.unwrap_or(PIXELS);
            let (x0, y0, x1, y1) = (c.x, c.y, c.x + c.size, c.y + c.size);
            let ring = ring(&gt, &[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]);
            json!({
                "type": "Feature",
                "id": rank + 1,
                "properties": {
                    "rank": rank + 1,
                    "scene": scene.path,
                    "xoff": c.x,
                    "yoff": c.y,
                    "width": c.size,
                    "height": c.size,
                    "score": c.score,
                    "measure": selection.measure,
                    "valid_fraction": c.valid_fraction,
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            })
        })
        .collect();
    let mut doc = json!({
        "type": "FeatureCollection",
        "name": "cloudmask_selection",
        "features": features,
    });
    if let Some(code) = selection.scenes.first().and_then(|s| s.crs.as_deref()) {
        let urn = match code.split_once(':') {
            Some((authority, number)) => format!("urn:ogc:def:crs:{authority}::{number}"),
            None => code.to_string(),
        };
        doc["crs"] = json!({"type": "name", "properties": {"name": urn}});
    }
    serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::output(format!("cannot encode the GeoJSON: {e}")))
}

/// The closed ring of pixel corners in map coordinates, counter-clockwise (RFC 7946).
fn ring(gt: &[f64; 6], corners: &[(usize, usize)]) -> Vec<[f64; 2]> {
    let mut pts: Vec<[f64; 2]> = corners
        .iter()
        .map(|&(px, py)| {
            let (px, py) = (px as f64, py as f64);
            [
                gt[0] + px * gt[1] + py * gt[2],
                gt[3] + px * gt[4] + py * gt[5],
            ]
        })
        .collect();
    let area2: f64 = (0..pts.len())
        .map(|i| {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum();
    if area2 < 0.0 {
        pts.reverse();
    }
    pts.push(pts[0]);
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_are_closed_and_counter_clockwise() {
        // North-up UTM-like transform: y decreases downwards.
        let gt = [500000.0, 30.0, 0.0, 6000000.0, 0.0, -30.0];
        let r = ring(&gt, &[(0, 0), (2, 0), (2, 1), (0, 1)]);
        assert_eq!(r.first(), r.last());
        assert_eq!(r.len(), 5);
        let area2: f64 = r
            .windows(2)
            .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
            .sum();
        assert!(area2 > 0.0);
        assert!(r.contains(&[500060.0, 5999970.0]));
    }
}
