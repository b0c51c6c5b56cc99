//! The `cloudmask` command as users run it.

mod common;

use common::output_text as text;

use cloudmask::raster::Dataset;
use std::process::{Command, Output};

fn cloudmask(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn mask_writes_what_ukis_csmask_writes() {
    let (dir, scene) = (common::data_dir(), common::sample_scene());
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("cli-mask");
    let out = tmp.path("mask.tif");
    let o = cloudmask(&[
        "mask",
        &scene,
        "-o",
        &out.to_string_lossy(),
        "--output",
        "classes,valid",
        "--threads",
        "2",
        "--quicklook",
        &tmp.path("q.png").to_string_lossy(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("cloud 24.3 %"), "{}", text(&o));
    let reference = dir
        .join("ukis-s2/reference/ukis_6b_l1c.tif")
        .to_string_lossy()
        .into_owned();
    let (_, _, want) = common::read_band_u8(&reference, 1);
    let (_, _, got) = common::read_band_u8(&out.to_string_lossy(), 1);
    let mapped: Vec<u8> = want.iter().map(|&c| [1, 2, 4][c as usize]).collect();
    assert_eq!(got, mapped);
    let (_, _, want_valid) = common::read_band_u8(&reference, 2);
    let (_, _, got_valid) = common::read_band_u8(&tmp.path("mask_valid.tif").to_string_lossy(), 1);
    assert_eq!(got_valid, want_valid);
    let ds = Dataset::open(&out.to_string_lossy()).unwrap();
    assert_eq!(
        ds.metadata_item("CLOUDMASK_MODEL", "").as_deref(),
        Some("ukis-6b-l1c")
    );
    assert_eq!(ds.band_nodata(1), Some(0.0));
    assert!(tmp.path("q.png").metadata().unwrap().len() > 10_000);
}

#[test]
fn cuda_falls_back_to_cpu_with_a_message_and_cog_is_written() {
    let scene = common::sample_scene();
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("cli-cuda");
    let cpu = tmp.path("cpu.tif");
    let gpu = tmp.path("gpu.tif");
    assert!(
        cloudmask(&["mask", &scene, "-o", &cpu.to_string_lossy(), "-q"])
            .status
            .success()
    );
    let o = cloudmask(&[
        "mask",
        &scene,
        "-o",
        &gpu.to_string_lossy(),
        "--device",
        "cuda",
        "--format",
        "cog",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("CUDA is not available") && text(&o).contains("running on CPU"),
        "{}",
        text(&o)
    );
    assert_eq!(
        common::read_band_u8(&cpu.to_string_lossy(), 1).2,
        common::read_band_u8(&gpu.to_string_lossy(), 1).2
    );
    let ds = Dataset::open(&gpu.to_string_lossy()).unwrap();
    assert_eq!(
        ds.metadata_item("LAYOUT", "IMAGE_STRUCTURE").as_deref(),
        Some("COG")
    );
}

/// `gdal_translate ARGS` into a new file; panics with GDAL's message on failure.
fn translate(args: &[&str], from: &str, to: &std::path::Path) {
    let o = Command::new("gdal_translate")
        .arg("-q")
        .args(args)
        .arg(from)
        .arg(to)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
}

/// `select` and `eval` read rasters with mask's reading flags: digital numbers are refused
/// without --scaling (the message names it, nothing is written), and with `--scaling dn` give
/// exactly what the same numbers with a GDAL scale give.
#[test]
fn select_and_eval_take_the_reading_flags() {
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("cli-reading");
    let (dn, scaled) = common::digital_number_copies(&tmp);
    let (dn, scaled) = (dn.to_string_lossy(), scaled.to_string_lossy());
    let select = |input: &str, list: &str, extra: &[&str]| {
        let path = tmp.path(list);
        let p = path.to_string_lossy();
        let o = cloudmask(
            &[
                &[
                    "select", input, "-k", "3", "--tile", "128", "-q", "--list", &p,
                ][..],
                extra,
            ]
            .concat(),
        );
        (o, path)
    };
    let (o, refused) = select(&dn, "refused.csv", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--scaling dn"), "{}", text(&o));
    assert!(!refused.exists());
    let rows = |o: Output, list: std::path::PathBuf, input: &str| {
        assert!(o.status.success(), "{}", text(&o));
        let csv = std::fs::read_to_string(list).unwrap();
        assert_eq!(csv.lines().count(), 4, "{csv}");
        csv.replace(input, "SCENE")
    };
    let (o, list) = select(&dn, "given.csv", &["--scaling", "dn"]);
    let given = rows(o, list, &dn);
    let (o, list) = select(&scaled, "scaled.csv", &[]);
    assert_eq!(given, rows(o, list, &scaled));

    // eval: the model's mask of the digital numbers against its mask of the scaled raster.
    let reference = tmp.path("reference.tif");
    let r = reference.to_string_lossy();
    let o = cloudmask(&["mask", &scaled, "-o", &r, "-q"]);
    assert!(o.status.success(), "{}", text(&o));
    let eval = |report: &str, extra: &[&str]| {
        let out = tmp.path(report);
        let o = cloudmask(
            &[
                &[
                    "eval",
                    "-r",
                    &r,
                    "-p",
                    "m=model:ukis-6b-l1c",
                    "--images",
                    &dn,
                ][..],
                &["-o", &out.to_string_lossy(), "--format", "json", "-q"],
                extra,
            ]
            .concat(),
        );
        (o, out.join("evaluation.json"))
    };
    let (o, report) = eval("refused", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--scaling dn"), "{}", text(&o));
    assert!(!report.exists());
    let (o, report) = eval("given", &["--scaling", "dn"]);
    assert!(o.status.success(), "{}", text(&o));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let m = &doc["predictors"][0];
    assert_eq!(
        (m["pixels"].as_u64(), m["kappa"].as_f64()),
        (Some(512 * 512), Some(1.0))
    );
}

#[test]
fn digital_numbers_are_scaled_to_reflectance() {
    let scene = common::sample_scene();
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("cli-dn");
    let (dn, _) = common::digital_number_copies(&tmp);
    let dn = dn.to_string_lossy().into_owned();
    // Integers that say nothing about their scale: automatic scaling refuses to guess.
    let guessed = tmp.path("guessed.tif");
    let o = cloudmask(&["mask", &dn, "-o", &guessed.to_string_lossy(), "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("holds UInt16 values with no scale/offset and no product metadata")
            && text(&o).contains("--scaling dn --quantification Q"),
        "{}",
        text(&o)
    );
    assert!(!guessed.exists());
    // `cloudmask info` reads it as the mask would: after the raster's own bands, the same
    // refusal and exit code; with --scaling dn, the scaling each model band gets.
    let o = cloudmask(&["info", &dn]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("band 6: B12          integer")
            && text(&o).contains("model ukis-6b-l1c cannot read it")
            && text(&o).contains("--scaling dn --quantification Q"),
        "{}",
        text(&o)
    );
    let o = cloudmask(&["info", &dn, "--scaling", "dn", "--dn-offset", "-1000"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("model ukis-6b-l1c (l1c)")
            && text(&o)
                .contains("swir22 <- band 6 (B12): reflectance = value * 0.0001 + -0.1 (given)"),
        "{}",
        text(&o)
    );
    let (a, b) = (tmp.path("float.tif"), tmp.path("dn_mask.tif"));
    assert!(
        cloudmask(&["mask", &scene, "-o", &a.to_string_lossy(), "-q"])
            .status
            .success()
    );
    let o = cloudmask(&[
        "mask",
        &dn,
        "-o",
        &b.to_string_lossy(),
        "-q",
        "--scaling",
        "dn",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let (x, y) = (
        common::read_band_u8(&a.to_string_lossy(), 1).2,
        common::read_band_u8(&b.to_string_lossy(), 1).2,
    );
    let same = x.iter().zip(&y).filter(|(p, q)| p == q).count() as f64 / x.len() as f64;
    // DN quantisation (1e-4 reflectance) moves only a handful of borderline pixels.
    assert!(same > 0.999, "DN input agrees {:.4} with float input", same);
    let scaling = Dataset::open(&b.to_string_lossy())
        .unwrap()
        .metadata_item("CLOUDMASK_SCALING", "")
        .unwrap();
    assert!(
        scaling.starts_with("blue: value * 0.0001 + 0 (given); green:"),
        "{scaling}"
    );
    // Told the data are reflectance, the DN image (values up to 10000) drives the network's
    // outputs to NaN: the scaling flag matters, and the result is an error, not a mask.
    let c = tmp.path("wrong.tif");
    let o = cloudmask(&[
        "mask",
        &dn,
        "-o",
        &c.to_string_lossy(),
        "-q",
        "--scaling",
        "reflectance",
    ]);
    assert_eq!(o.status.code(), Some(7), "{}", text(&o));
    assert!(
        text(&o).contains(
            "gives a non-finite output (NaN) for the tile at pixel columns -51..205, rows -51..205"
        ) && text(&o).contains("check the scaling"),
        "{}",
        text(&o)
    );
    assert!(!c.exists());
}

/// A harmonised Sentinel-2 L2A COG stores DN with GDAL scale 0.0001 and offset -0.1: automatic
/// scaling honours them, so the mask equals the mask of the reflectance GDAL itself computes
/// from them (`gdal_translate -unscale`, the same value * scale + offset in double precision).
#[test]
fn band_scale_and_offset_are_honoured() {
    let scene = common::sample_scene();
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("cli-scale-offset");
    let scaled = tmp.path("scaled.tif");
    // DN = (reflectance + 0.1) * 10000, stored with the scale and offset that undo it.
    translate(
        &[
            "-ot",
            "UInt16",
            "-scale",
            "-0.1",
            "6.4535",
            "0",
            "65535",
            "-a_scale",
            "0.0001",
            "-a_offset",
            "-0.1",
        ],
        &scene,
        &scaled,
    );
    let reflectance = tmp.path("reflectance.tif");
    translate(
        &["-unscale", "-ot", "Float32"],
        &scaled.to_string_lossy(),
        &reflectance,
    );
    let (a, b) = (tmp.path("a.tif"), tmp.path("b.tif"));
    for (input, out) in [(&scaled, &a), (&reflectance, &b)] {
        let o = cloudmask(&[
            "mask",
            &input.to_string_lossy(),
            "-o",
            &out.to_string_lossy(),
            "-q",
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let (x, y) = (
        common::read_band_u8(&a.to_string_lossy(), 1).2,
        common::read_band_u8(&b.to_string_lossy(), 1).2,
    );
    assert_eq!(x, y, "scale/offset input differs from its reflectance");
    // The offset matters: read as plain DN / 10000 (0.1 brighter) the mask differs.
    let c = tmp.path("c.tif");
    let o = cloudmask(&[
        "mask",
        &scaled.to_string_lossy(),
        "-o",
        &c.to_string_lossy(),
        "-q",
        "--scaling",
        "dn",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let z = common::read_band_u8(&c.to_string_lossy(), 1).2;
    let differ = x.iter().zip(&z).filter(|(p, q)| p != q).count();
    assert!(
        differ > 1000,
        "only {differ} pixels change without the offset"
    );
    let scaling = Dataset::open(&a.to_string_lossy())
        .unwrap()
        .metadata_item("CLOUDMASK_SCALING", "")
        .unwrap();
    assert!(
        scaling.starts_with("blue: value * 0.0001 + -0.1 (band scale/offset)"),
        "{scaling}"
    );
}

#[test]
fn errors_have_exit_codes_and_say_what_to_fix() {
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("cli-errors");
    let out = tmp.path("m.tif").to_string_lossy().into_owned();
    let o = cloudmask(&["mask", "/no/such.tif", "-o", &out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("input raster /no/such.tif does not exist"),
        "{}",
        text(&o)
    );
    let o = cloudmask(&["mask", "/no/such.tif", "-o", &out, "--buffer", "cloud=x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("'x' is not a whole number"),
        "{}",
        text(&o)
    );
    let o = cloudmask(&["mask", "/no/such.tif", "-o", &out, "--model", "nope"]);
    assert_eq!(o.status.code(), Some(4));
    let o = Command::new(common::cloudmask_exe())
        .args(["doctor"])
        .env("CLOUDMASK_ORT_LIB", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(text(&o).contains("pip install onnxruntime"), "{}", text(&o));
    let o = cloudmask(&["models"]);
    assert!(o.status.success());
    for name in ["ukis-6b-l1c", "ukis-6b-l2a", "ukis-4b-l1c", "ukis-4b-l2a"] {
        assert!(text(&o).contains(name), "{}", text(&o));
    }
    assert!(std::fs::read_dir(&tmp.0).unwrap().next().is_none());
}

#[test]
fn georeferencing_is_kept_and_resolution_resamples() {
    let scene = common::sample_scene();
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("cli-georef");
    let geo = tmp.path("geo.tif");
    // The sample has no georeferencing: give it 30 m pixels in UTM 32N.
    let o = Command::new("gdal_translate")
        .args([
            "-q",
            "-a_srs",
            "EPSG:32632",
            "-a_ullr",
            "500000",
            "5015360",
            "515360",
            "5000000",
            &scene,
        ])
        .arg(&geo)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let same = tmp.path("same.tif");
    assert!(cloudmask(&[
        "mask",
        &geo.to_string_lossy(),
        "-o",
        &same.to_string_lossy(),
        "-q"
    ])
    .status
    .success());
    let ds = Dataset::open(&same.to_string_lossy()).unwrap();
    assert_eq!(
        ds.geo_transform(),
        Some([500000.0, 30.0, 0.0, 5015360.0, 0.0, -30.0])
    );
    assert!(ds.projection().contains("32632"), "{}", ds.projection());

    let coarse = tmp.path("coarse.tif");
    let o = cloudmask(&[
        "mask",
        &geo.to_string_lossy(),
        "-o",
        &coarse.to_string_lossy(),
        "-q",
        "--resolution",
        "60",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let ds = Dataset::open(&coarse.to_string_lossy()).unwrap();
    assert_eq!((ds.width(), ds.height()), (256, 256));
    assert_eq!(
        ds.geo_transform(),
        Some([500000.0, 60.0, 0.0, 5015360.0, 0.0, -60.0])
    );
    // Coarser, but still the same scene: cloud cover within a few percent of the 30 m mask.
    let cloud = |p: &std::path::Path| {
        let (_, _, v) = common::read_band_u8(&p.to_string_lossy(), 1);
        v.iter().filter(|&&c| c == 2).count() as f64 / v.len() as f64
    };
    assert!(
        (cloud(&coarse) - cloud(&same)).abs() < 0.05,
        "{} vs {}",
        cloud(&coarse),
        cloud(&same)
    );

    let o = cloudmask(&[
        "mask",
        &scene,
        "-o",
        &tmp.path("x.tif").to_string_lossy(),
        "-q",
        "--resolution",
        "60",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("has no georeferencing"), "{}", text(&o));
}
