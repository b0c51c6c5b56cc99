//! `cloudmask eval` as users run it: the kappa the upstream ukis-csmask model reaches on the
//! sample tile, tiny hand-computed fixtures through folders and list files, a model run on the
//! fly, the reports, and the errors bad input gets.

mod common;

use common::output_text as text;

use cloudmask::raster::Dataset;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cloudmask(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("evaluation.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn predictor<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["predictors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no predictor {name} in {report}"))
}

fn problem<'a>(predictor: &'a Value, name: &str) -> &'a Value {
    predictor["cloudsen12"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["problem"] == name)
        .unwrap()
}

fn close(v: &Value, want: f64) -> bool {
    (v.as_f64().unwrap_or(f64::NAN) - want).abs() < 1e-9
}

/// A one-band byte GeoTIFF, optionally with a CRS (WKT) and a nodata value.
fn write_tif(
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

fn utm32() -> String {
    common::UTM33_WKT
        .replace("zone 33N", "zone 32N")
        .replace("\"central_meridian\",15", "\"central_meridian\",9")
        .replace("32633", "32632")
}

/// Two 4 x 2 patches, references in cloudmask codes, predictions in ukis codes:
///
///   a: reference clear clear cloud cloud / shadow shadow clear clear
///      prediction clear cloud cloud cloud / shadow clear clear clear
///   b: reference clear x7, then nodata; prediction clear clear clear cloud / clear clear clear cloud
///
/// By hand: pooled matrix (reference rows clear, cloud, shadow) = [9 2 0; 0 2 0; 1 0 1], 15
/// pixels (b's nodata pixel is left out), OA 12/15 = 0.8, kappa = (0.8 - 120/225) / (1 - 120/225)
/// = 4/7. Cloud problem: a has TP 2, FP 1, TN 5 → PA 1, UA 2/3, BOA (1 + 5/6) / 2 = 11/12;
/// b has no cloud → PA and BOA NaN, UA 0 (one false alarm). Median BOA = 11/12 (b left out).
struct Fixture {
    dir: common::TempDir,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let dir = common::TempDir::new(tag);
        for sub in ["ref", "pred"] {
            std::fs::create_dir_all(dir.path(sub)).unwrap();
        }
        write_tif(
            &dir.path("ref/a.tif"),
            4,
            2,
            &[1, 1, 2, 2, 4, 4, 1, 1],
            None,
            None,
        );
        write_tif(
            &dir.path("pred/a.tif"),
            4,
            2,
            &[0, 1, 1, 1, 2, 0, 0, 0],
            None,
            None,
        );
        write_tif(
            &dir.path("ref/b.tif"),
            4,
            2,
            &[1, 1, 1, 1, 1, 1, 1, 0],
            None,
            None,
        );
        write_tif(
            &dir.path("pred/b.tif"),
            4,
            2,
            &[0, 0, 0, 1, 0, 0, 0, 1],
            None,
            None,
        );
        Fixture { dir }
    }

    fn check(&self, report: &Value) {
        assert_eq!(report["patches"], 2);
        assert_eq!(
            report["classes"],
            serde_json::json!(["clear", "cloud", "shadow"])
        );
        let p = predictor(report, "p");
        assert_eq!(p["pixels"], 15);
        assert_eq!(
            p["confusion"],
            serde_json::json!([[9, 2, 0], [0, 2, 0], [1, 0, 1]])
        );
        assert!(close(&p["overall_accuracy"], 0.8), "{p}");
        assert!(close(&p["kappa"], 4.0 / 7.0), "{p}");
        let cloud = problem(p, "cloud");
        assert!(close(&cloud["median_boa"], 11.0 / 12.0), "{cloud}");
        assert_eq!(cloud["patches_with_boa"], 1);
        assert_eq!(
            cloud["pa_buckets"],
            serde_json::json!({"low": 0, "middle": 0, "high": 1, "undefined": 1})
        );
        assert_eq!(
            cloud["ua_buckets"],
            serde_json::json!({"low": 1, "middle": 1, "high": 0, "undefined": 0})
        );
        let b = &report["per_patch"][1];
        assert_eq!(b["id"], "b");
        let b_cloud = &b["predictors"][0]["problems"][0];
        assert_eq!(b_cloud["problem"], "cloud");
        // NaN is null in JSON.
        assert!(
            b_cloud["pa"].is_null() && b_cloud["boa"].is_null(),
            "{b_cloud}"
        );
        assert_eq!(b_cloud["ua"], 0.0);
    }
}

#[test]
fn folders_pair_patches_and_the_metrics_are_the_hand_computed_ones() {
    let f = Fixture::new("eval-folders");
    let out = f.dir.path("report");
    let o = cloudmask(&[
        "eval",
        "-r",
        &s(&f.dir.path("ref")),
        "-p",
        &format!("p={}", s(&f.dir.path("pred"))),
        "--scheme",
        "p=ukis",
        "-o",
        &s(&out),
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    f.check(&report(&out));
    // Every report is there, and the figure is a real 3-band PNG.
    for name in [
        "evaluation.md",
        "evaluation.csv",
        "evaluation_patches.csv",
        "evaluation.png",
    ] {
        assert!(out.join(name).is_file(), "{name} missing: {}", text(&o));
    }
    let png = Dataset::open(&s(&out.join("evaluation.png"))).unwrap();
    assert_eq!(png.band_count(), 3);
    assert!(png.width() > 400 && png.height() > 300);
    let patches = std::fs::read_to_string(out.join("evaluation_patches.csv")).unwrap();
    assert!(
        patches.contains("b,p,cloud,0,1,0,6,NaN,0,NaN,NaN,1"),
        "{patches}"
    );
    let md = std::fs::read_to_string(out.join("evaluation.md")).unwrap();
    assert!(md.contains("| Cohen's kappa | 0.5714 |"), "{md}");
    assert!(md.contains("| cloud: median BOA | 0.9167 (1) |"), "{md}");
    let listing: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        listing.iter().all(|n| !n.starts_with('.')),
        "temporary files left: {listing:?}"
    );
}

#[test]
fn a_list_file_gives_the_same_result_and_honours_beta() {
    let f = Fixture::new("eval-list");
    let list = f.dir.path("pairs.csv");
    std::fs::write(
        &list,
        "id,reference,p\na,ref/a.tif,pred/a.tif\nb,ref/b.tif,pred/b.tif\n",
    )
    .unwrap();
    let out = f.dir.path("report");
    let o = cloudmask(&[
        "eval",
        "-r",
        &s(&list),
        "-p",
        "p",
        "--scheme",
        "p=ukis",
        "-o",
        &s(&out),
        "--format",
        "json",
        "--beta",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let r = report(&out);
    f.check(&r);
    assert_eq!(r["beta"], 1.0);
    // β = 1: F-beta is F1. Cloud: TP 2, FP 2, FN 0 → 4/6.
    let cloud = &predictor(&r, "p")["classes"][1];
    assert_eq!(cloud["class"], "cloud");
    assert!(
        close(&cloud["f_beta"], 4.0 / 6.0) && close(&cloud["f1"], 4.0 / 6.0),
        "{cloud}"
    );
    assert!(
        !out.join("evaluation.png").exists(),
        "only json was asked for"
    );
}

#[test]
fn kappa_of_ukis_csmask_6b_l1c_on_the_sample_tile_is_0_8095() {
    let data = common::data_dir();
    let d = data.join("ukis-s2");
    let tmp = common::TempDir::new("eval-kappa");
    let mut args: Vec<String> = [
        "eval",
        "-r",
        &s(&d.join("labels.tif")),
        "--reference-scheme",
        "0=shadow,1-3=clear,4=cloud",
        "-o",
        &s(&tmp.0),
        "-q",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    for m in ["6b_l1c", "6b_l2a", "4b_l1c", "4b_l2a"] {
        let name = format!("ukis-{}", m.replace('_', "-"));
        args.push("-p".into());
        args.push(format!(
            "{name}={}",
            s(&d.join(format!("reference/ukis_{m}.tif")))
        ));
        args.push("--scheme".into());
        args.push(format!("{name}=ukis"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = cloudmask(&refs);
    assert!(o.status.success(), "{}", text(&o));
    let r = report(&tmp.0);
    let p = predictor(&r, "ukis-6b-l1c");
    // Over all 512 x 512 pixels (labels.tif has no nodata), band 1 of the reference output.
    assert_eq!(p["pixels"], 262_144);
    let kappa = p["kappa"].as_f64().unwrap();
    assert!((kappa - 0.8095).abs() <= 0.0005, "kappa {kappa}");
    assert!(
        text(&o).contains("ukis-6b-l1c") && text(&o).contains("0.8095"),
        "{}",
        text(&o)
    );
    // The other models are scored too, each differently.
    let kappas: Vec<f64> = ["ukis-6b-l2a", "ukis-4b-l1c", "ukis-4b-l2a"]
        .iter()
        .map(|n| predictor(&r, n)["kappa"].as_f64().unwrap())
        .collect();
    assert!(
        kappas.iter().all(|k| (k - kappa).abs() > 0.01 && *k > 0.7),
        "{kappas:?}"
    );
}

#[test]
fn valid_pixels_only_is_not_the_published_variant() {
    // The other natural variant: only pixels the reference output marks valid (band 2). There
    // ukis-csmask predicts clear everywhere, so kappa collapses to 0: 0.8095 is over all pixels.
    let data = common::data_dir();
    let d = data.join("ukis-s2");
    let (w, h, labels) = common::read_band_u8(&s(&d.join("labels.tif")), 1);
    let (_, _, valid) = common::read_band_u8(&s(&d.join("reference/ukis_6b_l1c.tif")), 2);
    let masked: Vec<u8> = labels
        .iter()
        .zip(&valid)
        .map(|(&l, &v)| if v == 1 { l } else { 255 })
        .collect();
    let tmp = common::TempDir::new("eval-valid-only");
    let reference = tmp.path("labels_valid_only.tif");
    write_tif(&reference, w, h, &masked, None, None);
    let out = tmp.path("report");
    let o = cloudmask(&[
        "eval",
        "-r",
        &s(&reference),
        "--reference-scheme",
        "0=shadow,1-3=clear,4=cloud,255=nodata",
        "-p",
        &format!("u={}", s(&d.join("reference/ukis_6b_l1c.tif"))),
        "--scheme",
        "u=ukis",
        "-o",
        &s(&out),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let p = predictor(&report(&out), "u").clone();
    let n_valid = valid.iter().filter(|&&v| v == 1).count();
    assert_eq!(p["pixels"], n_valid as u64);
    assert!(p["kappa"].as_f64().unwrap().abs() < 1e-9, "{p}");
}

#[test]
fn a_model_run_on_the_fly_scores_like_its_reference_output() {
    let data = common::data_dir();
    common::require_model("ukis-6b-l1c");
    let d = data.join("ukis-s2");
    let tmp = common::TempDir::new("eval-model");
    let o = cloudmask(&[
        "eval",
        "-r",
        &s(&d.join("labels.tif")),
        "--reference-scheme",
        "0=shadow,1-3=clear,4=cloud",
        "-p",
        &format!("python={}", s(&d.join("reference/ukis_6b_l1c.tif"))),
        "--scheme",
        "python=ukis",
        "-p",
        "ours=model:ukis-6b-l1c",
        "--images",
        &s(&d.join("s2_6band.tif")),
        "--threads",
        "2",
        "-o",
        &s(&tmp.0),
        "--format",
        "json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let r = report(&tmp.0);
    let (python, ours) = (predictor(&r, "python"), predictor(&r, "ours"));
    assert_eq!(ours["source"], "model:ukis-6b-l1c");
    // The engine reproduces ukis-csmask pixel for pixel, so the matrices are identical.
    assert_eq!(ours["confusion"], python["confusion"]);
    assert!((ours["kappa"].as_f64().unwrap() - 0.8095).abs() <= 0.0005);

    let o = cloudmask(&[
        "eval",
        "-r",
        &s(&d.join("labels.tif")),
        "-p",
        "ours=model:ukis-6b-l1c",
        "-o",
        &s(&tmp.0),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("needs the image to mask"), "{}", text(&o));
}

fn expect_failure(args: &[&str], code: i32, needles: &[&str]) {
    let o = cloudmask(args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(code), "{t}");
    for n in needles {
        assert!(t.contains(n), "{n:?} not in: {t}");
    }
}

#[test]
fn bad_input_gets_a_message_that_says_what_is_wrong() {
    let f = Fixture::new("eval-bad");
    let dir = &f.dir;
    let out = s(&dir.path("report"));
    let reference = s(&dir.path("ref/a.tif"));
    // Sizes differ: exit status 2 (CM_ERROR_INPUT).
    write_tif(&dir.path("small.tif"), 3, 2, &[0; 6], None, None);
    let small = format!("p={}", s(&dir.path("small.tif")));
    expect_failure(
        &[
            "eval", "-r", &reference, "-p", &small, "--scheme", "p=ukis", "-o", &out,
        ],
        2,
        &["prediction of p", "is 3 x 2 pixels but reference", "4 x 2"],
    );
    // CRS differ.
    let utm32 = utm32();
    write_tif(
        &dir.path("r33.tif"),
        4,
        2,
        &[1; 8],
        Some(common::UTM33_WKT),
        None,
    );
    write_tif(&dir.path("p32.tif"), 4, 2, &[1; 8], Some(&utm32), None);
    let p32 = format!("p={}", s(&dir.path("p32.tif")));
    expect_failure(
        &[
            "eval",
            "-r",
            &s(&dir.path("r33.tif")),
            "-p",
            &p32,
            "-o",
            &out,
        ],
        2,
        &["in CRS 'WGS 84 / UTM zone 32N'", "'WGS 84 / UTM zone 33N'"],
    );
    // Codes the scheme does not map (cloudmask's codes stop at 4): exit status 1.
    write_tif(
        &dir.path("odd.tif"),
        4,
        2,
        &[1, 7, 7, 9, 1, 1, 1, 1],
        None,
        None,
    );
    let odd = format!("p={}", s(&dir.path("odd.tif")));
    expect_failure(
        &["eval", "-r", &reference, "-p", &odd, "-o", &out],
        1,
        &[
            "prediction of p",
            "holds codes 7, 9 (3 pixels in rows 0-1)",
            "class scheme cloudmask",
        ],
    );
    // The same raster with its nodata value set: 7 and 9 are then the only codes that fail.
    write_tif(
        &dir.path("odd_nodata.tif"),
        4,
        2,
        &[1, 7, 7, 9, 1, 1, 1, 1],
        None,
        Some(9.0),
    );
    let odd_nodata = format!("p={}", s(&dir.path("odd_nodata.tif")));
    expect_failure(
        &["eval", "-r", &reference, "-p", &odd_nodata, "-o", &out],
        1,
        &["holds code 7 (2 pixels in rows 0-1)"],
    );
    expect_failure(
        &[
            "eval",
            "-r",
            &reference,
            "-p",
            &small,
            "--scheme",
            "p=sen2cor",
            "-o",
            &out,
        ],
        1,
        &["unknown class scheme 'sen2cor'", "scl"],
    );
    expect_failure(
        &[
            "eval", "-r", &reference, "-p", &small, "--scheme", "q=ukis", "-o", &out,
        ],
        1,
        &["there is no --predictor q"],
    );
    expect_failure(
        &[
            "eval",
            "-r",
            &s(&dir.path("nowhere")),
            "-p",
            &small,
            "-o",
            &out,
        ],
        2,
        &["reference", "nowhere does not exist"],
    );
    expect_failure(
        &[
            "eval", "-r", &reference, "-p", &small, "--beta", "0", "-o", &out,
        ],
        1,
        &["beta is 0"],
    );
    assert!(!PathBuf::from(&out).join("evaluation.json").exists());
}
