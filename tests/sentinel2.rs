//! Sentinel-2 L1C and L2A products as users download them (.SAFE folder, .zip, main metadata
//! file) mask exactly like a reflectance GeoTIFF of the same pixels, for baselines before and
//! after 04.00 (the radiometric offset). The products are written by tests/common/sentinel2.rs.

mod common;

use cloudmask::raster::products::{self, ProductLevel, LEVEL_KEY, PRODUCT_KEY};
use cloudmask::raster::{Dataset, Input};
use cloudmask::{ErrorKind, MaskOptions, Model, Products, Region};
use common::sentinel2::{self as s2, Level, Spec};
use common::TempDir;
use gdal_sys as g;

fn model_bands(model: &Model) -> Vec<String> {
    model.card.band_names()
}

/// The classes of `input` read for `model`, whole raster.
fn classes(model: &Model, input: Input) -> Vec<u8> {
    let mut source = input.open_for(&model_bands(model)).unwrap();
    let window = Region {
        x: 0,
        y: 0,
        w: cloudmask::raster::BandSource::width(&source),
        h: cloudmask::raster::BandSource::height(&source),
    };
    let options = MaskOptions::default();
    cloudmask::mask_window(
        model,
        &mut source,
        window,
        &options,
        Products::default(),
        &mut |_| true,
    )
    .unwrap()
    .classes
}

/// The product masked at 20 m (its SWIR bands' grid, where the reference lies).
fn product_classes(model: &Model, path: &std::path::Path) -> Vec<u8> {
    let mut input = Input::path(&path.to_string_lossy());
    input.resolution = Some(20.0);
    classes(model, input)
}

fn reference_classes(model: &Model, product: &s2::Product) -> Vec<u8> {
    classes(model, Input::path(&product.reference.to_string_lossy()))
}

fn assert_same(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), 512 * 512, "{what}: mask size");
    let differ = got.iter().zip(want).filter(|(a, b)| a != b).count();
    assert_eq!(
        differ, 0,
        "{what}: {differ} pixels differ from the reference mask"
    );
    // A mask of one class everywhere would match trivially wrong scaling too.
    let clear = got.iter().filter(|&&c| c == 1).count();
    assert!(
        clear > 1000 && clear < got.len() - 1000,
        "{what}: {clear} clear pixels"
    );
}

/// Scale and offset GDAL reports for band `band` of `ds`.
fn scale_offset(ds: &Dataset, band: usize) -> (f64, f64) {
    // SAFETY: valid dataset and band number (checked by the caller's band count).
    unsafe {
        let b = g::GDALGetRasterBand(ds.handle(), band as i32);
        let mut ok = 0;
        let scale = g::GDALGetRasterScale(b, &mut ok);
        let offset = g::GDALGetRasterOffset(b, &mut ok);
        (scale, offset)
    }
}

const L1C_0509: Spec = Spec {
    level: Level::L1C,
    baseline: "05.09",
    offset: Some(-1000),
    without: &[],
};

#[test]
fn l1c_products_mask_like_the_same_reflectance_before_and_after_baseline_04() {
    let tmp = TempDir::new("s2-l1c");
    let model = common::model("ukis-6b-l1c", 2);
    let new = s2::write(&tmp, &L1C_0509);
    let want = reference_classes(&model, &new);
    assert_same(
        &product_classes(&model, &new.safe),
        &want,
        "L1C 05.09 .SAFE",
    );
    assert_same(
        &product_classes(&model, &new.mtd),
        &want,
        "L1C 05.09 MTD_MSIL1C.xml",
    );
    let zip = s2::zip(&new, &tmp.path("l1c.zip"));
    assert_same(&product_classes(&model, &zip), &want, "L1C 05.09 .zip");

    let old_spec = Spec {
        level: Level::L1C,
        baseline: "02.09",
        offset: None,
        without: &[],
    };
    let old_dir = TempDir::new("s2-l1c-old");
    let old = s2::write(&old_dir, &old_spec);
    let want_old = reference_classes(&model, &old);
    assert_same(&product_classes(&model, &old.safe), &want_old, "L1C 02.09");
    // The same reflectance is stored as DN 1000 higher from baseline 04.00 on: only the
    // offset on the new product's bands makes the two agree.
    assert_eq!(want, want_old, "both products hold the same reflectance");
    let bands = model_bands(&model);
    let offsets = |p: &std::path::Path| {
        let st = products::open(&p.to_string_lossy(), &bands, None).unwrap();
        (1..=6)
            .map(|b| scale_offset(&st.dataset, b))
            .collect::<Vec<_>>()
    };
    assert_eq!(offsets(&new.safe), vec![(1e-4, -0.1); 6]);
    assert_eq!(offsets(&old.safe), vec![(1e-4, 0.0); 6]);
}

#[test]
fn l2a_product_masks_like_the_same_surface_reflectance() {
    let tmp = TempDir::new("s2-l2a");
    let spec = Spec {
        level: Level::L2A,
        baseline: "05.09",
        offset: Some(-1000),
        without: &[],
    };
    let product = s2::write(&tmp, &spec);
    let level = products::product_level(&product.safe.to_string_lossy()).unwrap();
    assert_eq!(level, Some(ProductLevel::Surface));
    let model = common::model("ukis-6b-l2a", 2);
    let want = reference_classes(&model, &product);
    assert_same(&product_classes(&model, &product.safe), &want, "L2A 05.09");
    // With no --model, `cloudmask mask` picks the L2A model for it, says so, and writes what the
    // L2A model gives (on the 20 m grid the mask is computed on).
    let out = tmp.path("picked.tif");
    let o = std::process::Command::new(common::cloudmask_exe())
        .arg("mask")
        .arg(&product.safe)
        .arg("-o")
        .arg(&out)
        .args(["--output-grid", "processing"])
        .output()
        .unwrap();
    let text = common::output_text(&o);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("ukis-6b-l2a"), "{text}");
    let written = Dataset::open(&out.to_string_lossy()).unwrap();
    assert_eq!(
        written.metadata_item("CLOUDMASK_MODEL", "").as_deref(),
        Some("ukis-6b-l2a")
    );
    assert_eq!(written.metadata_item(LEVEL_KEY, "").as_deref(), Some("l2a"));
    let (_, _, picked) = common::read_band_u8(&out.to_string_lossy(), 1);
    assert_same(&picked, &want, "L2A 05.09 through the CLI with no --model");
    // By default the mask goes back onto the product's finest grid (10 m), nearest neighbour.
    let fine = tmp.path("fine.tif");
    let o = std::process::Command::new(common::cloudmask_exe())
        .arg("mask")
        .arg(&product.safe)
        .arg("-o")
        .arg(&fine)
        .arg("-q")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::output_text(&o));
    let (w, h, ten) = common::read_band_u8(&fine.to_string_lossy(), 1);
    assert_eq!((w, h), (1024, 1024));
    let upsampled: Vec<u8> = (0..1024 * 1024)
        .map(|i| want[(i / 1024 / 2) * 512 + (i % 1024) / 2])
        .collect();
    assert!(
        ten == upsampled,
        "the 10 m output is not the 20 m mask upsampled"
    );
    // `cloudmask info` shows what the mask read: the product, its level, the model it chose,
    // both grids and each band's scaling from the product's metadata.
    let o = std::process::Command::new(common::cloudmask_exe())
        .arg("info")
        .arg(&product.safe)
        .output()
        .unwrap();
    let text = common::output_text(&o);
    assert!(o.status.success(), "{text}");
    for line in [
        "  product: Sentinel-2 L2A, processing baseline 05.09",
        "  level: surface reflectance (l2a)",
        "  read as 512 x 512 pixels, 20 x 20 map units per pixel",
        "  its own grid: 1024 x 1024 pixels, 10 x 10 map units per pixel",
        "model ukis-6b-l2a (l2a)",
        "  the input is a surface reflectance product, so model ukis-6b-l2a masks it (--model chooses another)",
        "  blue   <- band 1 (blue): reflectance = value * 0.0001 + -0.1 (band scale/offset), nodata 0",
        "  swir22 <- band 6 (swir22): reflectance = value * 0.0001 + -0.1 (band scale/offset), nodata 0",
    ] {
        assert!(text.contains(line), "{line:?} missing in:\n{text}");
    }
}

#[test]
fn gdal_exposes_the_product_metadata_the_opener_reads() {
    let tmp = TempDir::new("s2-metadata");
    let l1c = s2::write(&tmp, &L1C_0509);
    // What GDAL 3.6's SENTINEL2 driver says about an L1C product of baseline 05.09.
    let ds = Dataset::open_container(&l1c.mtd.to_string_lossy()).unwrap();
    assert_eq!(ds.driver_name(), "SENTINEL2");
    let item = |k: &str| ds.metadata_item(k, "");
    assert_eq!(item("PRODUCT_TYPE").as_deref(), Some("S2MSI1C"));
    assert_eq!(item("PROCESSING_BASELINE").as_deref(), Some("05.09"));
    assert_eq!(item("QUANTIFICATION_VALUE").as_deref(), Some("10000"));
    assert_eq!(item("SPECIAL_VALUE_NODATA").as_deref(), Some("0"));
    // The offsets are no metadata items, neither of the product nor of a band …
    assert_eq!(item("RADIO_ADD_OFFSET"), None);
    let ten = Dataset::open(&ds.subdatasets()[0].0).unwrap();
    let names: Vec<String> = (1..=ten.band_count())
        .map(|b| {
            ten.band_metadata_item(b, "BANDNAME", "")
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(names, ["B4", "B3", "B2", "B8"]);
    for b in 1..=ten.band_count() {
        assert_eq!(ten.band_metadata_item(b, "RADIO_ADD_OFFSET", ""), None);
        assert_eq!(ten.band_nodata(b), None);
    }
    // … only elements of the main metadata file, which GDAL hands over as xml:SENTINEL2.
    let xml = ds.metadata_xml("xml:SENTINEL2").unwrap();
    assert!(xml.contains("<RADIO_ADD_OFFSET band_id=\"1\">-1000</RADIO_ADD_OFFSET>"));

    let l2a_dir = TempDir::new("s2-metadata-l2a");
    let l2a = s2::write(
        &l2a_dir,
        &Spec {
            level: Level::L2A,
            ..L1C_0509
        },
    );
    let ds = Dataset::open_container(&l2a.mtd.to_string_lossy()).unwrap();
    assert_eq!(
        ds.metadata_item("PRODUCT_TYPE", "").as_deref(),
        Some("S2MSI2A")
    );
    assert_eq!(
        ds.metadata_item("BOA_QUANTIFICATION_VALUE", "").as_deref(),
        Some("10000")
    );
    assert_eq!(ds.metadata_item("QUANTIFICATION_VALUE", ""), None);
    let xml = ds.metadata_xml("xml:SENTINEL2").unwrap();
    assert!(xml.contains("<BOA_ADD_OFFSET band_id=\"12\">-1000</BOA_ADD_OFFSET>"));

    // The stack the opener makes: the model's bands with scale and offset, and the product.
    let bands: Vec<String> = ["blue", "nir", "swir22"].map(String::from).to_vec();
    let stacked = products::open(&l1c.safe.to_string_lossy(), &bands, None).unwrap();
    assert!(stacked.stacked);
    let st = stacked.dataset;
    assert_eq!(st.band_count(), 3);
    for b in 1..=3 {
        assert_eq!(scale_offset(&st, b), (1e-4, -0.1), "band {b}");
        assert_eq!(st.band_nodata(b), Some(0.0));
    }
    assert_eq!(st.band_description(3), "swir22");
    assert_eq!(
        st.metadata_item(PRODUCT_KEY, "").as_deref(),
        Some("Sentinel-2 L1C, processing baseline 05.09")
    );
    assert_eq!(st.metadata_item(LEVEL_KEY, "").as_deref(), Some("l1c"));
    let stacked = products::open(&l2a.safe.to_string_lossy(), &bands, None).unwrap();
    assert_eq!(
        stacked.dataset.metadata_item(LEVEL_KEY, "").as_deref(),
        Some("l2a")
    );
    assert_eq!(scale_offset(&stacked.dataset, 2), (1e-4, -0.1));

    let level = |p: &std::path::Path| products::product_level(&p.to_string_lossy()).unwrap();
    assert_eq!(level(&l1c.safe), Some(ProductLevel::TopOfAtmosphere));
    assert_eq!(level(&l1c.mtd), Some(ProductLevel::TopOfAtmosphere));
    assert_eq!(level(&l2a.mtd), Some(ProductLevel::Surface));
    assert_eq!(level(&l1c.reference), None);
}

#[test]
fn a_product_without_a_band_the_model_needs_names_it() {
    let tmp = TempDir::new("s2-missing");
    let product = s2::write(
        &tmp,
        &Spec {
            without: &["B12"],
            ..L1C_0509
        },
    );
    let bands: Vec<String> = ["blue", "green", "red", "nir", "swir16", "swir22"]
        .map(String::from)
        .to_vec();
    let e = products::open(&product.safe.to_string_lossy(), &bands, None)
        .err()
        .expect("a product without B12 must be refused");
    assert_eq!(e.kind, ErrorKind::BandMapping, "{e}");
    assert!(e.to_string().contains("swir22 = B12"), "{e}");
    // The CLI says the same, exit 5, and leaves no output.
    let out = tmp.path("mask.tif");
    let o = std::process::Command::new(common::cloudmask_exe())
        .args(["mask", &product.safe.to_string_lossy(), "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", common::output_text(&o));
    assert!(common::output_text(&o).contains("swir22"));
    assert!(!out.exists());
    // The bands it has still open.
    let five = &bands[..5];
    assert_eq!(
        products::open(&product.safe.to_string_lossy(), five, None)
            .unwrap()
            .dataset
            .band_count(),
        5
    );
}
