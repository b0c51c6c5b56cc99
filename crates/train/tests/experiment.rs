//! MoCo pretraining and the label-fraction experiment on the shared data:
//! - MoCo runs end to end on the Landsat tiles and its loss decreases;
//! - `cloudmask experiment fractions` fine-tunes the ResNet-18 on 10 % of the labels from
//!   scratch and from pretrained encoders, scores each on the held-out Sentinel-2 tile, and a
//!   pretrained encoder beats training from scratch on cloud IoU.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::output_text as text;

use std::path::Path;
use std::process::{Command, Output};

fn cloudmask(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .args(["--threads", "2"])
        .output()
        .unwrap()
}

fn data(rel: &str) -> String {
    common::data_dir().join(rel).to_string_lossy().into_owned()
}

fn losses(dir: &Path) -> Vec<f64> {
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("log.json")).unwrap()).unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .map(|e| e["loss"].as_f64().unwrap())
        .collect()
}

#[test]
fn moco_pretrains_on_the_landsat_tiles_and_its_loss_decreases() {
    let _serial = common::exclusive();
    let (l5, l7) = (
        data("ukis-landsat/landsat5_6band.tif"),
        data("ukis-landsat/landsat7_6band.tif"),
    );
    let tmp = common::TempDir::new("moco");
    let out = tmp.path("moco");
    // A queue of 256 fills within the first epoch (16 steps of 32), so every later epoch
    // contrasts against the same number of negatives and the losses compare.
    let o = cloudmask(&[
        "pretrain",
        "moco",
        "--image",
        &l5,
        "--image",
        &l7,
        "--epochs",
        "8",
        "--queue",
        "256",
        "--out",
        &out.to_string_lossy(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let l = losses(&out);
    eprintln!(
        "MoCo losses per epoch: {l:?} (chance with 256 negatives: {:.3})",
        257f64.ln()
    );
    assert_eq!(l.len(), 8);
    assert!(
        l.iter().all(|v| *v < 257f64.ln()),
        "worse than chance: {l:?}"
    );
    // From epoch 2 on (queue full): the least-squares trend falls and the last epoch is lower.
    let later = &l[1..];
    let n = later.len() as f64;
    let mean_x = (n - 1.0) / 2.0;
    let mean_y = later.iter().sum::<f64>() / n;
    let slope: f64 = later
        .iter()
        .enumerate()
        .map(|(i, y)| (i as f64 - mean_x) * (y - mean_y))
        .sum::<f64>();
    assert!(
        slope < 0.0,
        "the loss does not trend down after the queue filled: {l:?}"
    );
    assert!(l[7] < l[1], "the last epoch is not below the second: {l:?}");
    assert!(out.join("encoder/model.safetensors").is_file());
}

#[test]
fn pretrained_encoders_fine_tuned_on_ten_percent_beat_training_from_scratch() {
    let _serial = common::exclusive();
    let (l5, l5l, l7, l7l, s2, s2l) = (
        data("ukis-landsat/landsat5_6band.tif"),
        data("ukis-landsat/landsat5_labels.tif"),
        data("ukis-landsat/landsat7_6band.tif"),
        data("ukis-landsat/landsat7_labels.tif"),
        data("ukis-s2/s2_6band.tif"),
        data("ukis-s2/labels.tif"),
    );
    common::require_runtime();
    let tmp = common::TempDir::new("experiment");
    let out = tmp.path("exp");
    let o = cloudmask(&[
        "experiment",
        "fractions",
        "--image",
        &l5,
        "--labels",
        &l5l,
        "--image",
        &l7,
        "--labels",
        &l7l,
        "--label-map",
        "ukis",
        "--test-image",
        &s2,
        "--test-labels",
        &s2l,
        "--fractions",
        "0.1",
        "--methods",
        "none,moco",
        "--out",
        &out.to_string_lossy(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    eprintln!("{}", String::from_utf8_lossy(&o.stdout));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let cloud_iou = |method: &str| {
        results["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["method"] == method)
            .and_then(|c| c["classes"]["cloud"]["iou"].as_f64())
            .unwrap_or_else(|| panic!("no cloud IoU for {method}"))
    };
    let (scratch, moco) = (cloud_iou("none"), cloud_iou("moco"));
    eprintln!(
        "cloud IoU on the S2 tile with 10 % of the labels: scratch {scratch:.3}, MoCo {moco:.3}"
    );
    assert!(
        moco > scratch,
        "MoCo pretraining did not beat training from scratch: scratch {scratch:.3}, MoCo {moco:.3}"
    );
    assert!(out.join("results.md").is_file());
}
