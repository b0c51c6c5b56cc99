//! A STAC item (`item.json`) as input: its assets are stacked by band name with the
//! `raster:bands` scale and offset, so an item over digital numbers masks exactly like a float
//! GeoTIFF of the reflectance those numbers stand for. The assets are single-band UInt16
//! GeoTIFFs (and one two-band asset) made from the sample scene; a `visual` asset that would
//! win if previews were not refused sits beside them.

mod common;

use cloudmask::error::ErrorKind;
use cloudmask::raster::gdal::PixelType;
use cloudmask::raster::products::{self, ProductLevel, LEVEL_KEY, PRODUCT_KEY};
use cloudmask::raster::Dataset;
use std::path::Path;
use std::process::Command;

const SCALE: f64 = 0.0001;
const OFFSET: f64 = -0.1;
const NAMES: [&str; 6] = ["B02", "B03", "B04", "B08", "B11", "B12"];
const MODEL_BANDS: [&str; 6] = ["blue", "green", "red", "nir", "swir16", "swir22"];

fn run(cmd: &str, args: &[&str]) {
    let o = Command::new(cmd).args(args).output().unwrap();
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A six-band Float32 GeoTIFF holding `bands`, each described by its Sentinel-2 name.
fn write_f32(path: &Path, w: usize, h: usize, bands: &[Vec<f32>]) {
    let ds = Dataset::create(
        "GTiff",
        &path.to_string_lossy(),
        w,
        h,
        bands.len(),
        PixelType::F32,
        &[],
    )
    .unwrap();
    for (i, b) in bands.iter().enumerate() {
        ds.write(i + 1, (0, 0, w, h), b).unwrap();
        ds.set_band_description(i + 1, NAMES[i]).unwrap();
    }
}

/// The sample's reflectance as digital numbers (DN = round((r + 0.1) / 0.0001), 1..65535) and
/// the reflectance those numbers stand for, computed as the scaling computes it.
fn digital_numbers(w: usize, h: usize) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let scene = Dataset::open(&common::sample_scene()).unwrap();
    let (mut dns, mut refl) = (Vec::new(), Vec::new());
    for b in 1..=6 {
        let mut r = vec![0f32; w * h];
        scene.read(b, 0, 0, w, h, &mut r).unwrap();
        let dn: Vec<f32> = r
            .iter()
            .map(|&v| ((v as f64 - OFFSET) / SCALE).round().clamp(1.0, 65535.0) as f32)
            .collect();
        refl.push(
            dn.iter()
                .map(|&d| (d as f64 * SCALE + OFFSET) as f32)
                .collect(),
        );
        dns.push(dn);
    }
    (dns, refl)
}

/// `gdal_translate` of bands `bands` of `src` to UInt16 on a 20 m UTM 32N grid.
fn to_uint16(src: &str, bands: &[usize], dst: &str) {
    let mut args = vec![
        "-q",
        "-ot",
        "UInt16",
        "-a_srs",
        "EPSG:32632",
        "-a_ullr",
        "600000",
        "5010240",
        "610240",
        "5000000",
    ];
    let b: Vec<String> = bands.iter().map(|b| b.to_string()).collect();
    for b in &b {
        args.extend(["-b", b]);
    }
    args.extend([src, dst]);
    run("gdal_translate", &args);
}

const RASTER: &str =
    r#""raster:bands": [{"data_type": "uint16", "scale": 0.0001, "offset": -0.1, "nodata": 0}]"#;

/// The item's assets, in every spelling a STAC 1.0 or 1.1 item may use to name a band.
fn assets(with_swir: bool) -> String {
    let mut a = vec![
        format!(
            r#""blue": {{"href": "B02.tif", "type": "image/tiff; application=geotiff", "eo:bands": [{{"name": "B02", "common_name": "blue"}}], {RASTER}}}"#
        ),
        format!(r#""B03": {{"href": "./sub/B03.tif", "eo:bands": [{{"name": "B03"}}], {RASTER}}}"#),
        format!(r#""red": {{"href": "B04.tif", {RASTER}}}"#),
        r#""nir": {"href": "B08.tif", "bands": [{"name": "B08", "eo:common_name": "nir", "raster:scale": 0.0001, "raster:offset": -0.1}]}"#.to_string(),
        r#""visual": {"href": "visual.tif", "type": "image/tiff; application=geotiff", "roles": ["visual", "data"],
                      "eo:bands": [{"name": "B04", "common_name": "red"}, {"name": "B03", "common_name": "green"}, {"name": "B02", "common_name": "blue"}]}"#.to_string(),
    ];
    if with_swir {
        a.push(r#""swir": {"href": "swir.tif", "eo:bands": [{"name": "B11", "common_name": "swir16"}, {"name": "B12", "common_name": "swir22"}],
                   "raster:bands": [{"scale": 0.0001, "offset": -0.1}, {"scale": 0.0001, "offset": -0.1}]}"#.to_string());
    }
    a.join(",\n")
}

fn item(id: &str, collection: Option<&str>, assets: &str) -> String {
    let collection = collection.map_or(String::new(), |c| format!(r#""collection": "{c}","#));
    format!(
        r#"{{"type": "Feature", "stac_version": "1.0.0", "id": "{id}", {collection}
  "geometry": null, "properties": {{"datetime": "2024-01-01T00:00:00Z"}}, "links": [],
  "assets": {{{assets}}}}}"#
    )
}

fn band_scale_offset(ds: &Dataset, band: usize) -> (f64, f64) {
    // SAFETY: valid dataset and band index.
    unsafe {
        let h = gdal_sys::GDALGetRasterBand(ds.handle(), band as i32);
        (
            gdal_sys::GDALGetRasterScale(h, std::ptr::null_mut()),
            gdal_sys::GDALGetRasterOffset(h, std::ptr::null_mut()),
        )
    }
}

#[test]
fn stac_item_masks_like_the_reflectance_it_stands_for() {
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("stac");
    let p = |n: &str| tmp.path(n).to_string_lossy().into_owned();
    std::fs::create_dir_all(tmp.path("sub")).unwrap();
    std::fs::create_dir_all(tmp.path("elsewhere")).unwrap();
    let (w, h) = (512, 512);
    let (dns, refl) = digital_numbers(w, h);
    write_f32(&tmp.path("dn.tif"), w, h, &dns);
    write_f32(&tmp.path("reference.tif"), w, h, &refl);
    let dn = p("dn.tif");
    for (i, file) in ["B02.tif", "sub/B03.tif", "B04.tif", "B08.tif"]
        .iter()
        .enumerate()
    {
        to_uint16(&dn, &[i + 1], &p(file));
    }
    to_uint16(&dn, &[5, 6], &p("swir.tif"));
    // Display values where reflectance would be: taking them would change the mask.
    run(
        "gdal_translate",
        &[
            "-q",
            "-ot",
            "Byte",
            "-scale",
            "0",
            "3000",
            "0",
            "255",
            "-b",
            "3",
            "-b",
            "2",
            "-b",
            "1",
            &dn,
            &p("visual.tif"),
        ],
    );
    std::fs::write(tmp.path("item.json"), item("S2X_TEST", None, &assets(true))).unwrap();

    // The stack: the model's bands, named, with the item's scale and offset and its name.
    let bands: Vec<String> = MODEL_BANDS.iter().map(|s| s.to_string()).collect();
    let opened = products::open(&p("item.json"), &bands, None).unwrap();
    let ds = &opened.dataset;
    assert!(opened.stacked);
    assert_eq!((ds.width(), ds.height(), ds.band_count()), (512, 512, 6));
    for (i, name) in MODEL_BANDS.iter().enumerate() {
        assert_eq!(&ds.band_description(i + 1), name);
        assert_eq!(band_scale_offset(ds, i + 1), (SCALE, OFFSET), "band {name}");
        assert_eq!(ds.band_type_name(i + 1), "UInt16");
    }
    assert_eq!(ds.band_nodata(1), Some(0.0), "raster:bands nodata");
    assert_eq!(ds.band_nodata(4), None);
    assert_eq!(
        ds.metadata_item(PRODUCT_KEY, "").as_deref(),
        Some("STAC item S2X_TEST")
    );
    assert_eq!(ds.metadata_item(LEVEL_KEY, ""), None);
    let mut red = vec![0f32; w * h];
    ds.read(3, 0, 0, w, h, &mut red).unwrap();
    assert_eq!(
        red, dns[2],
        "red must come from B04.tif, not the visual asset"
    );
    assert_eq!(products::product_level(&p("item.json")).unwrap(), None);

    // Masked from another folder through a relative path: hrefs resolve from the item's folder.
    let exe = common::cloudmask_exe();
    let model = ["--model", "ukis-6b-l1c", "-q"];
    let o = Command::new(&exe)
        .args(["mask", &p("reference.tif"), "-o", &p("reference_mask.tif")])
        .args(model)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::output_text(&o));
    let o = Command::new(&exe)
        .current_dir(tmp.path("elsewhere"))
        .args(["mask", "../item.json", "-o", "item_mask.tif"])
        .args(model)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::output_text(&o));
    let reference = common::read_band_u8(&p("reference_mask.tif"), 1).2;
    let masked = common::read_band_u8(&p("elsewhere/item_mask.tif"), 1).2;
    assert_eq!(masked.len(), 512 * 512);
    assert!(
        masked == reference,
        "{} of {} pixels differ from the mask of the reflectance GeoTIFF",
        masked
            .iter()
            .zip(&reference)
            .filter(|(a, b)| a != b)
            .count(),
        masked.len()
    );
    let mut classes = reference.clone();
    classes.sort_unstable();
    classes.dedup();
    assert!(classes.len() > 1, "the sample must hold several classes");
}

#[test]
fn items_name_missing_bands_and_their_level() {
    let tmp = common::TempDir::new("stac-items");
    let p = |n: &str| tmp.path(n).to_string_lossy().into_owned();
    let bands: Vec<String> = MODEL_BANDS.iter().map(|s| s.to_string()).collect();

    // No asset holds SWIR: refused before any file is opened, naming the bands.
    std::fs::write(tmp.path("noswir.json"), item("A", None, &assets(false))).unwrap();
    let e = products::open(&p("noswir.json"), &bands, None)
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::BandMapping);
    assert!(
        e.message.contains("the model's band(s) swir16, swir22 ("),
        "{}",
        e.message
    );
    let o = Command::new(common::cloudmask_exe())
        .args([
            "mask",
            &p("noswir.json"),
            "-o",
            &p("x.tif"),
            "-q",
            "--model",
            "ukis-6b-l1c",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", common::output_text(&o));
    assert!(common::output_text(&o).contains("swir16"));
    assert!(!tmp.path("x.tif").exists());

    // The level: from the collection id, or processing:level; none when the item does not say.
    for (collection, want) in [
        ("sentinel-2-l2a", Some(ProductLevel::Surface)),
        ("sentinel-2-l1c", Some(ProductLevel::TopOfAtmosphere)),
        ("landsat-c2-l2", Some(ProductLevel::Surface)),
        ("naip", None),
    ] {
        std::fs::write(tmp.path("l.json"), item("L", Some(collection), "")).unwrap();
        assert_eq!(
            products::product_level(&p("l.json")).unwrap(),
            want,
            "{collection}"
        );
    }
    let level1 =
        item("L", None, "").replace(r#""datetime""#, r#""processing:level": "L1C", "datetime""#);
    std::fs::write(tmp.path("l.json"), level1).unwrap();
    assert_eq!(
        products::product_level(&p("l.json")).unwrap(),
        Some(ProductLevel::TopOfAtmosphere)
    );
    // Not items: a raster, a GeoJSON feature without stac_version.
    assert_eq!(
        products::product_level(&common::sample_scene()).unwrap(),
        None
    );
    std::fs::write(
        tmp.path("f.json"),
        r#"{"type": "Feature", "geometry": null, "properties": {}}"#,
    )
    .unwrap();
    assert_eq!(products::product_level(&p("f.json")).unwrap(), None);
    // An item without assets names nothing to mask.
    std::fs::write(
        tmp.path("bare.json"),
        r#"{"type": "Feature", "stac_version": "1.0.0", "id": "x", "properties": {}}"#,
    )
    .unwrap();
    let e = products::open(&p("bare.json"), &bands, None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Input);
    assert!(e.message.contains("without assets"), "{}", e.message);
}
