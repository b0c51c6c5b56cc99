//! The weak-supervision (WDCD) path of the trainer end to end:
//! - block labels derived from the two Landsat tiles' masks train a CAM network whose exported
//!   cloud-score model masks the held-out Sentinel-2 tile through `cloudmask mask` with a cloud
//!   IoU of at least 0.6 (the blue-band threshold reaches 0.535);
//! - the engine turns the score into classes by the card's threshold;
//! - block lists (CSV and JSON) train too, and bad block input is refused before training.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::output_text as text;
use common::training::labelled_tiles;

use cloudmask::model::{ModelCard, OutputKind};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

fn p(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The trainer through the main CLI, on one thread: the blocks are small, and libtorch's
/// threads on small tensors slow down twentyfold when another process holds a core (as the
/// other tests of a `cargo test` run do; docs/training.md).
fn train(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .arg("train")
        .args(args)
        .args(["--threads", "1"])
        .output()
        .unwrap()
}

/// The budget the learning test trains within, written in docs/training.md.
const EPOCHS: &str = "10";

struct Trained {
    dir: PathBuf,
    model: PathBuf,
    seconds: f64,
}

/// One CAM network trained from block labels derived from both Landsat tiles.
fn trained() -> &'static Trained {
    static TRAINED: OnceLock<Trained> = OnceLock::new();
    TRAINED.get_or_init(|| {
        let landsat = labelled_tiles().landsat;
        common::require_runtime();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("train-weak");
        let _ = std::fs::remove_dir_all(&dir);
        let out = p(&dir);
        let mut args = vec!["--weak-from-labels"];
        for (image, labels) in &landsat {
            args.extend(["--image", image, "--labels", labels]);
        }
        args.extend(["--label-map", "ukis", "--epochs", EPOCHS, "--seed", "0"]);
        args.extend(["--out", &out, "--name", "landsat-wdcd"]);
        let started = Instant::now();
        let o = train(&args);
        let seconds = started.elapsed().as_secs_f64();
        assert!(
            o.status.success(),
            "cloudmask train --weak-from-labels: {}",
            text(&o)
        );
        eprintln!("{}", text(&o));
        Trained {
            model: dir.join("landsat-wdcd.onnx"),
            dir,
            seconds,
        }
    })
}

fn read_f32(path: &str, band: usize) -> Vec<f32> {
    let ds = cloudmask::raster::Dataset::open(path).unwrap();
    let (w, h) = (ds.width(), ds.height());
    let mut buf = vec![0f32; w * h];
    ds.read(band, 0, 0, w, h, &mut buf).unwrap();
    buf
}

/// Cloud IoU of a class map (common codes: 2 cloud) against ukis labels (4 cloud).
fn cloud_iou(classes: &[u8], labels: &[u8]) -> f64 {
    let (mut inter, mut union) = (0usize, 0usize);
    for (&c, &l) in classes.iter().zip(labels) {
        let (a, b) = (c == 2, l == 4);
        inter += (a && b) as usize;
        union += (a || b) as usize;
    }
    inter as f64 / union.max(1) as f64
}

#[test]
fn trained_from_landsat_block_labels_it_masks_the_sentinel2_tile() {
    let (t, s2) = (trained(), labelled_tiles().s2);
    let out = t.dir.join("s2.tif");
    let o = Command::new(common::cloudmask_exe())
        .args(["mask", &s2.0, "--model", &p(&t.model), "-o", &p(&out)])
        .args(["--output", "classes,probabilities", "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "cloudmask mask: {}", text(&o));
    let (_, _, classes) = common::read_band_u8(&p(&out), 1);
    let (_, _, labels) = common::read_band_u8(&s2.1, 1);
    let iou = cloud_iou(&classes, &labels);
    eprintln!(
        "S2 tile: cloud IoU {iou:.3} (weak supervision, {EPOCHS} epochs, trained in {:.0} s)",
        t.seconds
    );
    assert!(iou >= 0.6, "cloud IoU {iou:.3} < 0.6");
    // Only clear and cloud come out of a cloud-score model.
    assert!(classes.iter().all(|&c| c == 1 || c == 2));

    // The card says what the model is: one cloud score, thresholded at sigmoid(k).
    let info = cloudmask::onnx::inspect(&std::fs::read(&t.model).unwrap()).unwrap();
    let card = ModelCard::from_json(info.metadata_value("cloudmask.card").unwrap(), "x").unwrap();
    let k = card.training["clear_sky"]["k"].as_f64().unwrap();
    let threshold = 1.0 / (1.0 + (-k).exp());
    assert_eq!(card.output, OutputKind::CloudScore { threshold });
    assert_eq!(card.output_channels(), 1);
    assert_eq!(card.common_codes(), [1, 2]);
    assert_eq!(info.outputs[0].name, "score");
    assert_eq!(card.training["method"], "wdcd");

    // The engine classes follow the written score: cloud exactly where it exceeds the threshold
    // (up to the score's rounding to float32 at the threshold itself).
    let prob = p(&t.dir.join("s2_probabilities.tif"));
    let (clear, score) = (read_f32(&prob, 1), read_f32(&prob, 2));
    let disagree = classes
        .iter()
        .zip(&score)
        .filter(|(&c, &s)| (c == 2) != (s as f64 > threshold))
        .count();
    assert!(
        disagree <= 2,
        "{disagree} pixels disagree with the score threshold"
    );
    assert!(clear
        .iter()
        .zip(&score)
        .all(|(a, b)| (a + b - 1.0).abs() < 1e-5));
    // Not the argmax: scores between 0.5 and the threshold exist and are clear.
    assert!(score.iter().any(|&s| s > 0.5 && (s as f64) < threshold));

    // The run folder: per-epoch log with the threshold, a checkpoint.
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(t.dir.join("log.json")).unwrap()).unwrap();
    let epochs = log.as_array().unwrap();
    assert_eq!(epochs.len(), EPOCHS.parse::<usize>().unwrap());
    assert!(epochs[0]["train_accuracy"].as_f64().is_some());
    assert!(epochs.last().unwrap()["threshold"].as_f64().is_some());
    assert!(t.dir.join("last/model.safetensors").is_file());
    assert!(t.dir.join("last/weak.json").is_file());
}

/// Blocks of landsat7 labelled by their cloud fraction, written by the test itself: a list as a
/// user would make one.
fn block_list(labels: &str) -> Vec<(usize, usize, bool)> {
    let (w, h, codes) = common::read_band_u8(labels, 1);
    let mut out = Vec::new();
    for y in (0..h - 31).step_by(32) {
        for x in (0..w - 31).step_by(32) {
            let cloud = (y..y + 32)
                .flat_map(|r| (x..x + 32).map(move |c| r * w + c))
                .filter(|&i| codes[i] == 4)
                .count() as f64
                / 1024.0;
            if cloud >= 0.3 || cloud <= 0.02 {
                out.push((x, y, cloud >= 0.3));
            }
        }
    }
    out
}

#[test]
fn block_lists_in_csv_and_json_train_and_bad_blocks_are_refused() {
    let landsat = labelled_tiles().landsat;
    common::require_runtime();
    let tmp = common::TempDir::new("train-weak-lists");
    let (image, labels) = &landsat[1];
    let blocks = block_list(labels);
    assert!(blocks.iter().any(|b| b.2) && blocks.iter().any(|b| !b.2));
    let csv = tmp.path("blocks.csv");
    let mut lines = String::from("image,xoff,yoff,width,height,label\n");
    for (x, y, cloudy) in &blocks {
        let label = if *cloudy { "cloudy" } else { "clear" };
        lines += &format!("{image},{x},{y},32,32,{label}\n");
    }
    std::fs::write(&csv, lines).unwrap();
    let json = tmp.path("blocks.json");
    let entries: Vec<serde_json::Value> = blocks
        .iter()
        .map(|(x, y, cloudy)| {
            serde_json::json!({"image": image, "xoff": x, "yoff": y, "width": 32, "height": 32, "cloudy": cloudy})
        })
        .collect();
    std::fs::write(&json, serde_json::to_string(&entries).unwrap()).unwrap();
    let small = [
        "--weak-widths",
        "8,16",
        "--epochs",
        "1",
        "--weak-batch",
        "16",
        "--val-fraction",
        "0",
        "--seed",
        "1",
        "-q",
    ];
    let mut losses = Vec::new();
    for (list, run) in [(&csv, "csv"), (&json, "json")] {
        let out = tmp.path(run);
        let mut args = vec![
            "--weak",
            list.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(small);
        let o = train(&args);
        assert!(o.status.success(), "--weak {run}: {}", text(&o));
        assert!(out.join(format!("{run}.onnx")).is_file());
        let log: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("log.json")).unwrap()).unwrap();
        losses.push(log[0]["train_loss"].as_f64().unwrap());
    }
    // The same blocks in either format train the same network.
    assert_eq!(losses[0], losses[1]);

    // Refused before training, with the reason.
    let refused = |args: &[&str], needle: &str| {
        let out = tmp.path("refused");
        let mut all = args.to_vec();
        all.extend(["--out", out.to_str().unwrap(), "-q"]);
        let o = train(&all);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(
            text(&o).contains(needle),
            "{args:?}: expected '{needle}' in {}",
            text(&o)
        );
        assert!(!out.join("last").exists(), "{args:?} trained anyway");
    };
    let only_cloudy = tmp.path("cloudy.csv");
    std::fs::write(&only_cloudy, format!("{image} 0 0 32 32 cloudy\n")).unwrap();
    refused(
        &["--weak", only_cloudy.to_str().unwrap()],
        "both cloudy and clear",
    );
    let outside = tmp.path("outside.csv");
    std::fs::write(
        &outside,
        format!("{image} 0 0 32 32 cloudy\n{image} 500 0 32 32 clear\n"),
    )
    .unwrap();
    refused(&["--weak", outside.to_str().unwrap()], "does not fit");
    refused(
        &["--weak", csv.to_str().unwrap(), "--weak-from-labels"],
        "not both",
    );
    refused(
        &[
            "--weak-from-labels",
            "--image",
            image,
            "--labels",
            labels,
            "--label-map",
            "ukis",
            "--weak-clear-max",
            "0.5",
            "--weak-cloudy-min",
            "0.4",
        ],
        "--weak-clear-max",
    );
    refused(
        &[
            "--weak-from-labels",
            "--image",
            image,
            "--labels",
            labels,
            "--label-map",
            "0=cloud,4=clear",
        ],
        "does not name",
    );
}
