//! Two hand-computed 4 x 2 patches through folders and through a list file: the confusion
//! matrix, kappa, the CloudSEN12 figures and every report file.

use crate::common::{self, output_text as text};
use crate::{close, cloudmask, predictor, problem, report, s, write_tif};
use cloudmask::raster::Dataset;
use serde_json::Value;

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
pub struct Fixture {
    pub dir: common::TempDir,
}

impl Fixture {
    pub fn new(tag: &str) -> Fixture {
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

    pub fn check(&self, report: &Value) {
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
