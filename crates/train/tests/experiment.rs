//! MoCo pretraining and the label-fraction experiment on the shared data:
//! - MoCo runs end to end on the Landsat tiles and its loss decreases;
//! - `--cpu-isa` pins libtorch's CPU code paths (seen through oneDNN's own log), whatever the
//!   environment says, so the experiment computes the same on every x86-64 CPU with AVX2;
//! - `cloudmask experiment fractions` fine-tunes the ResNet-18 on 10 % of the labels from
//!   scratch and from MoCo-pretrained encoders with three seeds, scores each on the held-out
//!   Sentinel-2 tile, and states what three seeds support at this data size (docs/training.md):
//!   both learn (far above marking everything cloud) and MoCo is not worse than scratch by more
//!   than the seed noise.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::output_text as text;

use std::path::Path;
use std::process::{Command, Output};

fn cloudmask(args: &[&str]) -> Output {
    cloudmask_env(args, &[])
}

fn cloudmask_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .args(["--threads", "2"])
        // Idle OpenMP threads sleep instead of spinning: the same results, and much faster when
        // other tests share the two cores (libgomp reads it only at load, so it goes here).
        .env("OMP_WAIT_POLICY", "PASSIVE")
        .envs(env.iter().copied())
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

/// oneDNN's log names the ISA its convolutions were compiled for at its first use. The trainer
/// sets ONEDNN_MAX_CPU_ISA itself before that, overriding the environment: AVX2 for
/// `--cpu-isa avx2` on any CPU with AVX2 (AVX-512 ones included), SSE4.1 for `baseline`.
#[test]
fn cpu_isa_pins_the_code_paths_of_onednn_whatever_the_environment_says() {
    let isa_line = |isa: &str| {
        let o = cloudmask_env(
            &[
                "train",
                "bench",
                "--arch",
                "unet:8,16",
                "--batch",
                "2",
                "--size",
                "32",
                "--steps",
                "1",
                "--device",
                "cpu",
                "--cpu-isa",
                isa,
            ],
            &[("ONEDNN_VERBOSE", "1"), ("ONEDNN_MAX_CPU_ISA", "SSE41")],
        );
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.contains("info,cpu,isa:"))
            .unwrap_or_else(|| panic!("no oneDNN ISA line: {}", text(&o)))
            .to_string()
    };
    assert!(
        isa_line("avx2").ends_with("isa:Intel AVX2"),
        "{}",
        isa_line("avx2")
    );
    assert!(
        isa_line("baseline").ends_with("isa:Intel SSE4.1"),
        "{}",
        isa_line("baseline")
    );
}

#[test]
fn the_experiment_refuses_a_seed_given_twice_before_training() {
    let tmp = common::TempDir::new("experiment-seeds");
    let s2 = data("ukis-s2/s2_6band.tif");
    let o = cloudmask(&[
        "experiment",
        "fractions",
        "--image",
        &s2,
        "--labels",
        &data("ukis-s2/labels.tif"),
        "--test-image",
        &s2,
        "--test-labels",
        &data("ukis-s2/labels.tif"),
        "--seeds",
        "1,2,1",
        "--out",
        &tmp.path("exp").to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("--seeds: 1 is given twice"),
        "{}",
        text(&o)
    );
    assert!(
        !tmp.path("exp").exists(),
        "the refused run created its folder"
    );
}

/// Cloud IoU of a mask that marks every pixel cloud: the S2 tile's cloud share (18.9 %).
const ALL_CLOUD_IOU: f64 = 0.189;
/// Every seed of either method must clear this: well above marking everything cloud.
const LEARNED: f64 = 0.28;
/// MoCo's mean may fall this far below scratch's: about twice the standard deviation of a
/// difference of three-seed means at this data size (docs/training.md gives the measurements).
const MARGIN: f64 = 0.05;

#[test]
fn moco_fine_tuned_on_ten_percent_over_three_seeds_learns_and_is_not_worse_than_scratch() {
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
        "--seeds",
        "0,1,2",
        "--cpu-isa",
        "avx2",
        "--out",
        &out.to_string_lossy(),
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    eprintln!("{}", String::from_utf8_lossy(&o.stdout));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["cpu_isa"], "avx2");
    assert_eq!(results["threads"], 2);
    let cloud_iou = |method: &str| {
        let s = results["summary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["method"] == method)
            .unwrap_or_else(|| panic!("no summary for {method}"));
        assert_eq!(s["seeds"], serde_json::json!([0, 1, 2]));
        let iou = &s["classes"]["cloud"]["iou"];
        let values: Vec<f64> = iou["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        (
            iou["mean"].as_f64().unwrap(),
            iou["sd"].as_f64().unwrap(),
            values,
        )
    };
    let (scratch, moco) = (cloud_iou("none"), cloud_iou("moco"));
    eprintln!(
        "cloud IoU on the S2 tile with 10 % of the labels, seeds 0,1,2: scratch {:.3} ± {:.3} {:?}, MoCo {:.3} ± {:.3} {:?}",
        scratch.0, scratch.1, scratch.2, moco.0, moco.1, moco.2
    );
    for (name, (_, _, values)) in [("scratch", &scratch), ("MoCo", &moco)] {
        assert!(
            values.iter().all(|v| *v > LEARNED),
            "{name}: a seed scored cloud IoU {values:?}, not above {LEARNED} (marking everything cloud gives {ALL_CLOUD_IOU})"
        );
    }
    assert!(
        moco.0 >= scratch.0 - MARGIN,
        "MoCo pretraining made the mean cloud IoU worse than scratch by more than {MARGIN}: scratch {:.3} {:?}, MoCo {:.3} {:?}",
        scratch.0, scratch.2, moco.0, moco.2
    );
    assert!(out.join("results.md").is_file());
}
