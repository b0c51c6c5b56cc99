//! `cloudmask experiment fractions`: the label-fraction grid of the self-supervised paper.
//! For every seed, every method in {no pretraining, MoCo, DeepCluster, SeCo (when dates exist)}
//! pretrains the encoder once on the training images (labels unused), then for every label
//! fraction the same network is fine-tuned with that seed on that share of the labelled
//! patches and scored on a held-out labelled scene. Writes results.md and results.json
//! (results.rs), with each seed's scores and their spread over the seeds.

mod results;

use crate::cli::{ExperimentArgs, PretrainArgs};
use crate::data::samples::pairs;
use crate::fit::{self, RunDir, Session, Start};
use crate::nets::Arch;
use crate::settings::Settings;
use cloudmask::error::{Error, Result};
use cloudmask::eval::confusion::Confusion;
use std::time::Instant;

/// One cell of the table: one method, label fraction and seed.
struct Cell {
    method: String,
    fraction: f64,
    seed: u64,
    confusion: Confusion,
    seconds: f64,
}

pub fn run(a: ExperimentArgs) -> Result<()> {
    let device = crate::device(&a.compute)?;
    check(&a)?;
    std::fs::create_dir_all(&a.out)
        .map_err(|e| Error::output(format!("cannot create {}: {e}", a.out.display())))?;
    let mut cells = Vec::new();
    for &seed in &a.seeds {
        for method in &a.methods {
            cells.extend(method_cells(&a, method, seed, device)?);
        }
    }
    results::write(&a, &cells)
}

/// Refuses what the grid cannot run, before anything trains.
fn check(a: &ExperimentArgs) -> Result<()> {
    if a.kind != "fractions" {
        return Err(Error::invalid(format!(
            "unknown experiment '{}': the experiment is `fractions`",
            a.kind
        )));
    }
    if a.images.is_empty() || a.images.len() != a.labels.len() {
        return Err(Error::invalid(
            "give the labelled training scenes as --image/--labels pairs",
        ));
    }
    if let Some(bad) = a.fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
        return Err(Error::invalid(format!(
            "--fractions: {bad} is not in (0, 1]"
        )));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = a.seeds.iter().find(|s| !seen.insert(**s)) {
        // The same seed twice is the same run twice: it would narrow the spread for nothing.
        return Err(Error::invalid(format!("--seeds: {dup} is given twice")));
    }
    for m in &a.methods {
        match m.as_str() {
            "none" | "moco" | "deepcluster" => {}
            "seco" if a.locations.is_some() => {}
            "seco" => return Err(Error::invalid(
                "--methods seco needs --locations (images of the same footprint at several dates)",
            )),
            other => {
                return Err(Error::invalid(format!(
                    "--methods: unknown method '{other}' (none, moco, deepcluster, seco)"
                )))
            }
        }
    }
    Arch::parse(&a.arch).map(|_| ())
}

/// Pretrains with `method` and `seed` (unless "none"), then fine-tunes and scores one cell per
/// label fraction.
fn method_cells(
    a: &ExperimentArgs,
    method: &str,
    seed: u64,
    device: tch::Device,
) -> Result<Vec<Cell>> {
    let init_from = match method {
        "none" => None,
        _ => Some(pretrain(a, method, seed)?),
    };
    let test_map = a.test_label_map.as_deref().unwrap_or(&a.label_map);
    let mut cells = Vec::new();
    for &fraction in &a.fractions {
        let started = Instant::now();
        let dir = RunDir(a.out.join(format!("{method}-{fraction}-seed{seed}")));
        let settings = settings(a, fraction, seed, init_from.clone())?;
        if !a.quiet {
            eprintln!(
                "fine-tuning: {method}, {:.0} % of the labels, seed {seed}",
                fraction * 100.0
            );
        }
        let session = Session {
            quiet: true,
            stop_after: None,
        };
        let outcome = fit::run(&settings, Start::Fresh, &dir, device, session)?;
        let confusion = crate::evaluate::score(
            &outcome.checkpoint,
            &a.test_image,
            &a.test_labels,
            test_map,
            device,
        )?;
        let cell = Cell {
            method: method.to_string(),
            fraction,
            seed,
            confusion,
            seconds: started.elapsed().as_secs_f64(),
        };
        if !a.quiet {
            eprintln!("  {}", results::row(&cell, a.beta));
        }
        cells.push(cell);
    }
    Ok(cells)
}

/// Pretrains the encoder with `method` on the training images; returns the checkpoint.
fn pretrain(a: &ExperimentArgs, method: &str, seed: u64) -> Result<String> {
    let out = a.out.join(format!("pretrain-{method}-seed{seed}"));
    let args = PretrainArgs {
        method: method.to_string(),
        images: a.images.clone(),
        locations: a.locations.clone(),
        bands: Vec::new(),
        arch: a.arch.clone(),
        patch: 64,
        window: 96,
        batch: 32,
        epochs: a.pretrain_epochs,
        steps_per_epoch: a.pretrain_steps,
        lr: 1e-3,
        weight_decay: 1e-4,
        seed,
        queue: 1024,
        momentum: 0.99,
        temperature: 0.2,
        clusters: 16,
        out: out.clone(),
        compute: a.compute.clone(),
        quiet: a.quiet,
    };
    crate::pretrain::run(args)?;
    Ok(out.join("encoder").to_string_lossy().into_owned())
}

fn settings(
    a: &ExperimentArgs,
    fraction: f64,
    seed: u64,
    init_from: Option<String>,
) -> Result<Settings> {
    Ok(Settings {
        train: pairs(&a.images, &a.labels)?,
        val: Vec::new(),
        val_fraction: 0.25,
        bands: crate::bands_of(&a.images[0])?,
        classes: a.classes.clone(),
        label_map: a.label_map.clone(),
        arch: Arch::parse(&a.arch)?,
        patch: a.patch,
        batch: a.batch,
        epochs: a.epochs,
        patches_per_epoch: a.patches_per_epoch,
        lr: a.lr,
        weight_decay: 0.01,
        loss: "ce+dice".into(),
        class_weights: "auto".into(),
        brightness: 0.1,
        seed,
        // No early stopping: every cell trains for the same number of steps.
        patience: a.epochs,
        label_fraction: fraction,
        init_from,
    })
}
