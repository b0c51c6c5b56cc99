//! The raster layer on generated rasters: band mapping by name and number, scaling digital
//! numbers to reflectance, nodata flags, sources, and the product writer's files.

mod common;
#[path = "common/tiny.rs"]
mod tiny;

use cloudmask::raster::bandmap::map_bands;
use cloudmask::raster::writer::{Format, Georef, Product, ProductWriter, RasterInfo};
use cloudmask::raster::{
    BandSelection, BandSource, Cropped, Dataset, GdalSource, MemorySource, Scaling,
};
use cloudmask::{ErrorKind, MaskOptions, Products, Region};
use common::TempDir;
use gdal_sys as g;
use tiny::{TinyNet, TinyRaster, TINY_GEO_TRANSFORM};

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A 4 x 1 raster whose bands carry the given descriptions (values 1..4 in every band).
fn described(tmp: &TempDir, file: &str, descriptions: &[&str]) -> Dataset {
    let ramp = |x: usize, _: usize| x as f32 + 1.0;
    let bands: Vec<(&str, tiny::Fill)> = descriptions.iter().map(|d| (*d, &ramp as _)).collect();
    let path = TinyRaster::float(4, 1, &bands).write(&tmp.path(file));
    Dataset::open(&path).unwrap()
}

#[test]
fn bands_are_found_by_any_name_they_go_by_or_by_number() {
    let tmp = TempDir::new("core-raster-bandmap");
    let model = names(&["red", "nir", "dem"]);
    let ds = described(&tmp, "named.tif", &["B08", "DEM", "Blue", "b4"]);
    assert_eq!(
        map_bands(&ds, &model, &BandSelection::Auto).unwrap(),
        [4, 1, 2]
    );
    let ds = described(&tmp, "spelled.tif", &["Red", "NIR", "dem"]);
    assert_eq!(
        map_bands(&ds, &model, &BandSelection::Auto).unwrap(),
        [1, 2, 3]
    );
    let picked = BandSelection::Indices(vec![3, 1, 2]);
    assert_eq!(map_bands(&ds, &model, &picked).unwrap(), [3, 1, 2]);

    let refused = |ds: &Dataset, selection: &BandSelection| {
        let e = map_bands(ds, &model, selection).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BandMapping, "{}", e.message);
        e.message
    };
    let unnamed = described(&tmp, "unnamed.tif", &["B04", "", "B08", "B11"]);
    let m = refused(&unnamed, &BandSelection::Auto);
    assert!(m.contains("cannot find the model's band(s) dem"), "{m}");
    assert!(m.contains("1=B04, 2=(no name), 3=B08, 4=B11"), "{m}");
    assert!(m.contains("with --bands"), "{m}");
    let m = refused(&described(&tmp, "one.tif", &["red"]), &BandSelection::Auto);
    assert!(
        m.contains("has 1 bands but the model needs 3 (red, nir, dem)"),
        "{m}"
    );
    let m = refused(&ds, &BandSelection::Indices(vec![1, 2]));
    assert!(
        m.contains("2 band numbers given but the model needs 3"),
        "{m}"
    );
    let m = refused(&ds, &BandSelection::Indices(vec![1, 2, 4]));
    assert!(
        m.contains("band 4 does not exist") && m.contains("bands 1 to 3"),
        "{m}"
    );
    let m = refused(&ds, &BandSelection::Indices(vec![0, 1, 2]));
    assert!(m.contains("band 0 does not exist"), "{m}");
}

/// A 4 x 1 UInt16 raster of digital numbers in bands red and nir, with dataset metadata.
fn digital_numbers(tmp: &TempDir, file: &str, metadata: &[(&str, &str)]) -> Dataset {
    let dn = [0.0, 1000.0, 5000.0, 12345.0];
    let mut raster = TinyRaster::float(4, 1, &[("red", &|x, _| dn[x]), ("nir", &|x, _| dn[3 - x])]);
    raster.data_type = g::GDALDataType::GDT_UInt16;
    raster.metadata = metadata
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Dataset::open(&raster.write(&tmp.path(file))).unwrap()
}

/// The red band of a source's first row as reflectance, and the source's warnings.
fn red_row(ds: Dataset, scaling: Scaling, nodata: Option<f64>) -> (Vec<f32>, Vec<bool>) {
    let model = names(&["red", "nir"]);
    let mut source = GdalSource::new(ds, &model, &BandSelection::Auto, scaling, nodata).unwrap();
    let block = source.read(0, 0, 4, 1).unwrap();
    (block.data[..4].to_vec(), block.nodata)
}

#[test]
fn digital_numbers_become_reflectance_as_the_product_says() {
    let tmp = TempDir::new("core-raster-scaling");
    let f = |v: f64| v as f32;
    // Integers that say nothing of their scaling are refused, not guessed.
    let model = names(&["red", "nir"]);
    let plain = digital_numbers(&tmp, "plain.tif", &[]);
    let e = GdalSource::new(plain, &model, &BandSelection::Auto, Scaling::Auto, None)
        .err()
        .unwrap();
    assert_eq!(e.kind, cloudmask::ErrorKind::Input);
    assert!(e.message.contains("--scaling dn"), "{}", e.message);
    let sentinel2 = Scaling::DigitalNumbers {
        quantification: 10000.0,
        offset: 0.0,
    };
    let plain = digital_numbers(&tmp, "plain.tif", &[]);
    assert_eq!(
        red_row(plain, sentinel2, None).0,
        [0.0, 0.1, 0.5, f(1.2345)]
    );
    // Sentinel-2 baseline 04.00 and later: reflectance = (DN - 1000) / 10000.
    let baseline = [("PROCESSING_BASELINE", "04.00")];
    let ds = digital_numbers(&tmp, "baseline4.tif", &baseline);
    assert_eq!(
        red_row(ds, Scaling::Auto, None).0,
        [-0.1, 0.0, 0.4, f(1.1345)]
    );
    let ds = digital_numbers(&tmp, "quantified.tif", &[("QUANTIFICATION_VALUE", "1000")]);
    assert_eq!(
        red_row(ds, Scaling::Auto, None).0,
        [0.0, 1.0, 5.0, f(12.345)]
    );
    let given = Scaling::DigitalNumbers {
        quantification: 2000.0,
        offset: -100.0,
    };
    let ds = digital_numbers(&tmp, "given.tif", &baseline);
    assert_eq!(red_row(ds, given, None).0, [-0.05, 0.45, 2.45, f(6.1225)]);
    let ds = digital_numbers(&tmp, "raw.tif", &[]);
    assert_eq!(
        red_row(ds, Scaling::Reflectance, None).0,
        [0.0, 1000.0, 5000.0, 12345.0]
    );
    // Nodata is matched on the stored value, before scaling.
    let ds = digital_numbers(&tmp, "nodata.tif", &[]);
    let (values, nodata) = red_row(ds, sentinel2, Some(0.0));
    assert_eq!(
        nodata,
        [true, false, false, true],
        "nir is 0 in the last pixel"
    );
    assert_eq!(values[1..3], [0.1, 0.5]);
}

#[test]
fn floats_are_reflectance_and_large_ones_are_reported() {
    let tmp = TempDir::new("core-raster-floats");
    let raster = TinyRaster::float(
        4,
        1,
        &[("red", &|x, _| x as f32 * 0.25), ("nir", &|_, _| 0.5)],
    );
    let ds = Dataset::open(&raster.write(&tmp.path("reflectance.tif"))).unwrap();
    let model = names(&["red", "nir"]);
    let mut source =
        GdalSource::new(ds, &model, &BandSelection::Auto, Scaling::Auto, None).unwrap();
    let block = source.read(1, 0, 3, 1).unwrap();
    assert_eq!(block.data, [0.25, 0.5, 0.75, 0.5, 0.5, 0.5]);
    assert!(source.warnings().is_empty());
    let raster = TinyRaster::float(4, 1, &[("red", &|_, _| 2500.0), ("nir", &|_, _| 0.5)]);
    let ds = Dataset::open(&raster.write(&tmp.path("dn-as-float.tif"))).unwrap();
    let mut source =
        GdalSource::new(ds, &model, &BandSelection::Auto, Scaling::Auto, None).unwrap();
    source.read(0, 0, 4, 1).unwrap();
    let warnings = source.warnings();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("--scaling dn"), "{}", warnings[0]);
}

#[test]
fn a_raster_of_digital_numbers_masks_like_its_reflectance() {
    let tmp = TempDir::new("core-raster-dn-mask");
    let model = TinyNet::threshold().load(&tmp, "tiny");
    let reflectance = TinyRaster::halves(48, 36);
    let want = reflectance.threshold_classes("B04", "B08");
    let mut dn = reflectance.clone();
    for (_, values) in &mut dn.bands {
        values.iter_mut().for_each(|v| *v = (*v * 10000.0).round());
    }
    dn.data_type = g::GDALDataType::GDT_UInt16;
    // Sentinel-2 metadata says what the integers are.
    dn.metadata = vec![("QUANTIFICATION_VALUE".into(), "10000".into())];
    let path = dn.write(&tmp.path("dn.tif"));
    let whole = Region {
        x: 0,
        y: 0,
        w: 48,
        h: 36,
    };
    let options = MaskOptions::default();
    let got = common::mask_file(&model, &path, whole, &options, Products::default()).unwrap();
    assert_eq!(got.classes, want);
    // Taken as reflectance, digital numbers are far above the clear threshold everywhere.
    let ds = Dataset::open(&path).unwrap();
    let bands = model.card.band_names();
    let mut raw =
        GdalSource::new(ds, &bands, &BandSelection::Auto, Scaling::Reflectance, None).unwrap();
    let products = Products::default();
    let got = cloudmask::mask_window(&model, &mut raw, whole, &options, products, &mut |_| true);
    let counts = tiny::class_counts(&got.unwrap().classes);
    assert_eq!(counts[1], 0, "{counts:?}");
}

#[test]
fn sources_read_windows_and_flag_non_finite_pixels() {
    let data: Vec<f32> = (0..2 * 5 * 4).map(|i| i as f32).collect();
    let mut with_hole = data.clone();
    with_hole[7] = f32::NAN;
    with_hole[20 + 12] = -1.0;
    let mut memory = MemorySource::new(&with_hole, 2, 5, 4, Some(-1.0)).unwrap();
    let block = memory.read(1, 1, 3, 2).unwrap();
    // Band 0 rows 1-2, columns 1-3, then band 1.
    assert_eq!(block.data[..6], [6.0, 0.0, 8.0, 11.0, 12.0, 13.0]);
    assert_eq!(block.data[6..], [26.0, 27.0, 28.0, 31.0, 0.0, 33.0]);
    assert_eq!(block.nodata, [false, true, false, false, true, false]);
    let mut plain = MemorySource::new(&data, 2, 5, 4, None).unwrap();
    let mut cropped = Cropped {
        inner: &mut plain,
        x: 2,
        y: 1,
        w: 3,
        h: 3,
    };
    assert_eq!(
        (cropped.width(), cropped.height(), cropped.n_bands()),
        (3, 3, 2)
    );
    assert_eq!(
        cropped.read(0, 0, 2, 1).unwrap().data,
        [7.0, 8.0, 27.0, 28.0]
    );
    let e = MemorySource::new(&data, 2, 5, 3, None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidArgument, "{}", e.message);
    let e = MemorySource::new(&[], 2, 0, 4, None).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Window, "{}", e.message);
}

#[test]
fn opening_and_reading_outside_a_raster_are_errors() {
    let tmp = TempDir::new("core-raster-open");
    let ds = described(&tmp, "small.tif", &["red"]);
    let mut out = vec![0f32; 4];
    let e = ds.read(1, 1, 0, 4, 1, &mut out).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Window, "{}", e.message);
    let e = ds.read(2, 0, 0, 4, 1, &mut out).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BandMapping, "{}", e.message);
    let missing = tmp.path("missing.tif");
    let e = Dataset::open(&missing.to_string_lossy()).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Input);
    assert!(e.message.contains("does not exist"), "{}", e.message);
    let e = Dataset::open(&tmp.0.to_string_lossy()).err().unwrap();
    assert!(
        e.message.contains("is a folder, not a raster"),
        "{}",
        e.message
    );
}

fn info(width: usize, height: usize) -> RasterInfo {
    RasterInfo {
        width,
        height,
        class_names: names(&["clear", "cloud"]),
        georef: Georef {
            geo_transform: Some(TINY_GEO_TRANSFORM),
            projection: common::UTM33_WKT.to_string(),
        },
        provenance: vec![("CLOUDMASK_MODEL".into(), "tiny".into())],
        output_grid: None,
    }
}

#[test]
fn products_appear_only_when_committed_with_overviews_and_georeferencing() {
    let tmp = TempDir::new("core-raster-writer");
    let target = tmp.path("classes.tif");
    let (w, h) = (600, 300);
    let rows: Vec<u8> = (0..w * 100).map(|i| (i % 5) as u8).collect();
    {
        let mut abandoned =
            ProductWriter::create(&target, Product::Classes, &Format::default(), &info(w, h))
                .unwrap();
        abandoned.write_u8_rows(0, 100, &rows).unwrap();
    }
    assert_eq!(
        std::fs::read_dir(&tmp.0).unwrap().count(),
        0,
        "a dropped writer leaves nothing"
    );
    let mut writer =
        ProductWriter::create(&target, Product::Classes, &Format::default(), &info(w, h)).unwrap();
    for y in [0, 100, 200] {
        writer.write_u8_rows(y, 100, &rows).unwrap();
    }
    assert_eq!(writer.read_u8_rows(150, 1).unwrap(), rows[50 * w..51 * w]);
    assert!(!target.exists(), "the target appears only on commit");
    assert_eq!(writer.commit().unwrap(), target);
    let ds = Dataset::open(&target.to_string_lossy()).unwrap();
    assert_eq!(
        (ds.width(), ds.height(), ds.band_type_name(1)),
        (w, h, "Byte".to_string())
    );
    assert_eq!(ds.geo_transform(), Some(TINY_GEO_TRANSFORM));
    assert_eq!(
        ds.metadata_item("CLOUDMASK_MODEL", "").as_deref(),
        Some("tiny")
    );
    let mut pixels = vec![0u8; w * 100];
    ds.read(1, 0, 200, w, 100, &mut pixels).unwrap();
    assert_eq!(pixels, rows);
    // One overview level: 600 / 2 is still at least 256 pixels, 600 / 4 is not.
    // SAFETY: open dataset with band 1.
    let overviews = unsafe { g::GDALGetOverviewCount(g::GDALGetRasterBand(ds.handle(), 1)) };
    assert_eq!(overviews, 1);

    let target = tmp.path("probabilities.tif");
    let mut writer = ProductWriter::create(
        &target,
        Product::Probabilities,
        &Format::default(),
        &info(8, 2),
    )
    .unwrap();
    let e = writer.write_f32_rows(0, 2, &[0.5; 8 * 2]).unwrap_err();
    assert!(
        e.message.contains("16 values given for 2 bands of 2 rows"),
        "{}",
        e.message
    );
    let planes: Vec<f32> = (0..2 * 8 * 2).map(|i| i as f32 / 32.0).collect();
    writer.write_f32_rows(0, 2, &planes).unwrap();
    writer.commit().unwrap();
    let ds = Dataset::open(&target.to_string_lossy()).unwrap();
    assert_eq!(ds.band_count(), 2);
    assert_eq!(ds.band_description(1), "probability of clear");
    let mut cloud = vec![0f32; 16];
    ds.read(2, 0, 0, 8, 2, &mut cloud).unwrap();
    assert_eq!(cloud, planes[16..]);
}
