//! Products whose bands live in subdatasets at different resolutions (as in a Sentinel-2 .SAFE
//! opened through GDAL's SENTINEL2 driver) are stacked onto one grid by band name. The fixture
//! is a GeoPackage with one table per band: blue, green, red and NIR at 10 m (the sample's pixels
//! repeated 2 x 2), SWIR at 20 m. Averaged back to 20 m, it must mask exactly like the 6-band
//! GeoTIFF at 20 m, and by default the mask is written back on the finest band's 10 m grid.

mod common;

use cloudmask::raster::Dataset;
use std::path::Path;
use std::process::Command;

fn run(cmd: &str, args: &[&str]) {
    let o = Command::new(cmd).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn cloudmask(args: &[&str]) -> std::process::Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn bands_in_subdatasets_are_stacked_by_name() {
    let scene = common::sample_scene();
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("stacked");
    let p = |n: &str| tmp.path(n).to_string_lossy().into_owned();
    // 20 m pixels in UTM 32N; digital numbers as Sentinel-2 stores them.
    run(
        "gdal_translate",
        &[
            "-q",
            "-a_srs",
            "EPSG:32632",
            "-a_ullr",
            "600000",
            "5010240",
            "610240",
            "5000000",
            "-ot",
            "UInt16",
            "-scale",
            "0",
            "1",
            "0",
            "10000",
            &scene,
            &p("dn20.tif"),
        ],
    );
    let gpkg = p("product.gpkg");
    let dn20 = p("dn20.tif");
    for (i, (band, name)) in [
        (1, "B02"),
        (2, "B03"),
        (3, "B04"),
        (4, "B08"),
        (5, "B11"),
        (6, "B12"),
    ]
    .iter()
    .enumerate()
    {
        let b = band.to_string();
        let table = format!("RASTER_TABLE={name}");
        let mut args = vec!["-q", "-of", "GPKG", "-b", &b, "-co", &table];
        if *band <= 4 {
            args.extend(["-outsize", "200%", "200%", "-r", "nearest"]);
        }
        if i > 0 {
            args.extend(["-co", "APPEND_SUBDATASET=YES"]);
        }
        args.extend([dn20.as_str(), gpkg.as_str()]);
        run("gdal_translate", &args);
    }
    assert_eq!(
        Dataset::open_container(&gpkg).unwrap().band_count(),
        0,
        "the fixture must have bands only in subdatasets"
    );

    // Plain UInt16 says nothing of its scaling: it is given (a .SAFE's metadata would say it).
    let o = cloudmask(&[
        "mask",
        &p("dn20.tif"),
        "-o",
        &p("direct.tif"),
        "-q",
        "--scaling",
        "dn",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cloudmask(&[
        "mask",
        &gpkg,
        "-o",
        &p("stacked.tif"),
        "-q",
        "--scaling",
        "dn",
        "--quicklook",
        &p("q.png"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let direct = common::read_band_u8(&p("direct.tif"), 1).2;
    assert_eq!(direct.len(), 512 * 512);
    // Masked at 20 m (the coarsest band), written by default on the finest band's 10 m grid:
    // each 20 m class repeated 2 x 2.
    let (w, h, stacked) = common::read_band_u8(&p("stacked.tif"), 1);
    assert_eq!((w, h), (1024, 1024));
    let upsampled: Vec<u8> = (0..w * h)
        .map(|i| direct[(i / w / 2) * 512 + (i % w) / 2])
        .collect();
    assert!(
        stacked == upsampled,
        "the stacked product masks differently from the same bands in one file"
    );
    let ds = Dataset::open(&p("stacked.tif")).unwrap();
    assert_eq!(
        ds.geo_transform(),
        Some([600000.0, 10.0, 0.0, 5010240.0, 0.0, -10.0])
    );
    assert!(Path::new(&p("q.png")).exists());

    let o = cloudmask(&[
        "mask",
        &gpkg,
        "-o",
        &p("coarse.tif"),
        "-q",
        "--scaling",
        "dn",
        "--resolution",
        "40",
        "--output-grid",
        "processing",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let coarse = Dataset::open(&p("coarse.tif")).unwrap();
    assert_eq!(coarse.width(), 256);
    assert_eq!(
        coarse.geo_transform(),
        Some([600000.0, 40.0, 0.0, 5010240.0, 0.0, -40.0])
    );

    let o = cloudmask(&[
        "mask",
        &gpkg,
        "-o",
        &p("x.tif"),
        "-q",
        "--bands",
        "1,2,3,4,5,6",
    ]);
    assert_eq!(o.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&o.stderr).contains("leave out --bands"));
    let o = cloudmask(&[
        "mask",
        &gpkg,
        "-o",
        &p("x.tif"),
        "-q",
        "--scaling",
        "dn",
        "--model",
        "ukis-4b-l1c",
    ]);
    assert!(
        o.status.success(),
        "a 4-band model takes its bands from the same product"
    );
}
