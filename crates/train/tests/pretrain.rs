//! Self-supervised pretraining end to end, through
//! `cloudmask pretrain …` as users run it, on the real imagery of `../shared/data/`:
//! - DeepCluster on the two Landsat tiles: the loss of the last epoch is below the first, no
//!   cluster is ever empty, and the encoder checkpoint is written;
//! - SeCo on a location list whose second "date" of each Landsat tile is a stand-in (see
//!   `seco_loss_decreases_on_a_stand_in_series`): the loss decreases and the encoder is written;
//! - bad pretraining input is refused before any training starts.
//!
//! The two training runs take turns (a lock), so each gets both cores and its timing means
//! something; the budgets are in docs/training.md.

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::output_text as text;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Instant;

/// One training run at a time.
static RUNS: Mutex<()> = Mutex::new(());

fn p(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `cloudmask pretrain …` on two threads.
fn pretrain(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .arg("pretrain")
        .args(args)
        .args(["--threads", "2"])
        .output()
        .unwrap()
}

/// The Landsat 5 and 7 tiles.
fn landsat() -> Vec<String> {
    let d = common::data_dir();
    ["landsat5", "landsat7"]
        .iter()
        .map(|t| p(&d.join(format!("ukis-landsat/{t}_6band.tif"))))
        .collect()
}

/// The per-epoch entries of a run's log.json.
fn log(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("log.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn losses(entries: &[serde_json::Value]) -> Vec<f64> {
    entries
        .iter()
        .map(|e| e["loss"].as_f64().unwrap())
        .collect()
}

fn run_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The budget both methods train within (written in docs/training.md): 4 epochs of 12 steps
/// on views of 32 x 32 pixels cut from 48 x 48 windows; batches of 32 for DeepCluster, 16 for
/// SeCo (whose step encodes four views of each item).
const BUDGET: [&str; 8] = [
    "--epochs",
    "4",
    "--steps-per-epoch",
    "12",
    "--patch",
    "32",
    "--window",
    "48",
];

#[test]
fn deepcluster_loss_decreases_on_the_landsat_tiles() {
    let _serial = common::exclusive();
    let images = landsat();
    let _turn = RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = run_dir("pretrain-deepcluster");
    let out = p(&dir);
    let mut args = vec!["deepcluster"];
    for i in &images {
        args.extend(["--image", i]);
    }
    args.extend(BUDGET);
    args.extend([
        "--batch",
        "32",
        "--clusters",
        "8",
        "--seed",
        "0",
        "--out",
        &out,
    ]);
    let started = Instant::now();
    let o = pretrain(&args);
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        o.status.success(),
        "cloudmask pretrain deepcluster: {}",
        text(&o)
    );
    eprintln!("{}deepcluster: {seconds:.1} s", text(&o));

    let entries = log(&dir);
    let l = losses(&entries);
    assert_eq!(l.len(), 4, "{entries:?}");
    assert!(l.iter().all(|v| v.is_finite()), "{l:?}");
    assert!(
        l[3] < l[0],
        "the last epoch's loss is not below the first: {l:?}"
    );
    for e in &entries {
        // k-means never leaves a cluster empty, so every epoch predicts all 8 pseudo-labels.
        assert_eq!(e["clusters"], 8, "{e}");
        assert!(e["largest_cluster"].as_f64().unwrap() < 1.0, "{e}");
    }
    // Clusterings of consecutive epochs are related (NMI well above that of unrelated labels).
    let nmi = entries[3]["nmi_previous"].as_f64().unwrap();
    assert!(nmi > 0.2, "{nmi}");
    assert!(dir.join("encoder/model.safetensors").is_file());
    let info = std::fs::read_to_string(dir.join("encoder/checkpoint.json")).unwrap();
    assert!(info.contains("\"pretraining\": \"deepcluster\""), "{info}");
}

/// The stand-in "second date" of a tile: the same pixels with one gain per band, as a change of
/// season or illumination would move bands differently (red down, near infrared up, …). The
/// gains lie outside the ±15 % of the artificial spectral jitter, so the two "seasons" are not
/// an augmentation of each other. This checks SeCo's mechanics on real imagery; it says nothing
/// about learning from real seasons, which `../shared/data/` does not hold.
const SEASON_GAINS: [f64; 6] = [0.7, 0.8, 0.65, 1.35, 1.25, 1.3];

fn stand_in(image: &str, out: &Path) {
    let mut args: Vec<String> = vec!["-q".into(), "-ot".into(), "Float32".into()];
    for (b, g) in SEASON_GAINS.iter().enumerate() {
        args.extend([
            format!("-scale_{}", b + 1),
            "0".into(),
            "1".into(),
            "0".into(),
            g.to_string(),
        ]);
    }
    let o = Command::new("gdal_translate")
        .args(&args)
        .arg(image)
        .arg(out)
        .output()
        .expect("gdal_translate (GDAL's command-line tools) must be installed");
    assert!(o.status.success(), "gdal_translate: {}", text(&o));
}

#[test]
fn seco_loss_decreases_on_a_stand_in_series() {
    let _serial = common::exclusive();
    let images = landsat();
    let tmp = common::TempDir::new("pretrain-seco");
    // Each Landsat tile is a location with two "dates": the tile and its stand-in. The list
    // names the stand-ins relative to itself, as users would.
    let mut list = String::from("# SeCo locations: name: date1 date2 …\n");
    for (name, image) in ["landsat5", "landsat7"].iter().zip(&images) {
        stand_in(image, &tmp.path(&format!("{name}_season2.tif")));
        list.push_str(&format!("{name}: {image} {name}_season2.tif\n"));
    }
    let locations = tmp.path("locations.txt");
    std::fs::write(&locations, list).unwrap();

    let _turn = RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = run_dir("pretrain-seco");
    let out = p(&dir);
    let loc = p(&locations);
    let mut args = vec!["seco", "--locations", &loc];
    args.extend(BUDGET);
    // A queue of 4 batches: the random keys it starts with are gone after the 4th step.
    args.extend([
        "--batch", "16", "--queue", "64", "--seed", "0", "--out", &out,
    ]);
    let started = Instant::now();
    let o = pretrain(&args);
    let seconds = started.elapsed().as_secs_f64();
    assert!(o.status.success(), "cloudmask pretrain seco: {}", text(&o));
    eprintln!("{}seco: {seconds:.1} s", text(&o));

    let entries = log(&dir);
    let l = losses(&entries);
    assert_eq!(l.len(), 4, "{entries:?}");
    assert!(l.iter().all(|v| v.is_finite()), "{l:?}");
    assert!(
        l[3] < l[0],
        "the last epoch's loss is not below the first: {l:?}"
    );
    for e in &entries {
        // The total is the sum of the three subspaces' InfoNCE terms.
        let parts: f64 = ["invariant", "season", "augmentation"]
            .iter()
            .map(|s| e[format!("loss_{s}")].as_f64().unwrap())
            .sum();
        assert!((parts - e["loss"].as_f64().unwrap()).abs() < 1e-6, "{e}");
    }
    assert!(dir.join("encoder/model.safetensors").is_file());
    let info = std::fs::read_to_string(dir.join("encoder/checkpoint.json")).unwrap();
    assert!(info.contains("\"pretraining\": \"seco\""), "{info}");
}

#[test]
fn bad_pretraining_input_is_refused_before_training() {
    let _serial = common::exclusive();
    let images = landsat();
    let tmp = common::TempDir::new("pretrain-bad");
    let out = p(&tmp.path("run"));
    let refused = |args: &[&str], why: &str| {
        let o = pretrain(args);
        assert!(!o.status.success(), "{args:?} was accepted");
        let t = text(&o);
        assert!(t.contains(why), "{args:?}: expected '{why}' in: {t}");
        assert!(
            !tmp.path("run/log.json").exists(),
            "{args:?} trained before refusing"
        );
    };
    refused(&["seco", "--out", &out], "--locations");
    refused(
        &["seco", "--image", &images[0], "--out", &out],
        "--locations",
    );

    let one_date = tmp.path("one.txt");
    std::fs::write(&one_date, format!("alone: {}\n", images[0])).unwrap();
    refused(
        &["seco", "--locations", &p(&one_date), "--out", &out],
        "has 1 date",
    );

    // A date of another size than the first is not co-registered with it.
    let small = tmp.path("small.tif");
    let o = Command::new("gdal_translate")
        .args(["-q", "-srcwin", "0", "0", "256", "256", &images[0]])
        .arg(&small)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let mismatched = tmp.path("mismatched.txt");
    std::fs::write(&mismatched, format!("x: {} {}\n", images[0], p(&small))).unwrap();
    refused(
        &["seco", "--locations", &p(&mismatched), "--out", &out],
        "co-registered",
    );

    refused(
        &[
            "deepcluster",
            "--image",
            &images[0],
            "--clusters",
            "100000",
            "--out",
            &out,
        ],
        "--clusters 100000",
    );
    refused(
        &[
            "deepcluster",
            "--image",
            &images[0],
            "--locations",
            &p(&one_date),
            "--out",
            &out,
        ],
        "--locations is for seco",
    );
}
