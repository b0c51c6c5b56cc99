//! `cloudmask experiment fractions`: the label-fraction grid of the self-supervised paper.
//! Every method in {no pretraining, MoCo, DeepCluster, SeCo (when dates exist)} pretrains the
//! encoder once on the training images (labels unused), then for every label fraction the same
//! network is fine-tuned with the same seed on that share of the labelled patches and scored on
//! a held-out labelled scene. Writes results.md and results.json.

use crate::cli::{ExperimentArgs, PretrainArgs};
use crate::data::samples::pairs;
use crate::fit::{self, RunDir, Session, Start};
use crate::nets::Arch;
use crate::settings::Settings;
use cloudmask::error::{Error, Result};
use cloudmask::eval::confusion::Confusion;
use cloudmask::model::classes::CommonClass;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// One cell of the table.
struct Cell {
    method: String,
    fraction: f64,
    confusion: Confusion,
    seconds: f64,
}

pub fn run(a: ExperimentArgs) -> Result<()> {
    if a.kind != "fractions" {
        return Err(Error::invalid(format!(
            "unknown experiment '{}': the experiment is `fractions`",
            a.kind
        )));
    }
    let device = crate::device(&a.compute)?;
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
    Arch::parse(&a.arch)?;
    std::fs::create_dir_all(&a.out)
        .map_err(|e| Error::output(format!("cannot create {}: {e}", a.out.display())))?;
    let test_map = a
        .test_label_map
        .clone()
        .unwrap_or_else(|| a.label_map.clone());
    let mut cells = Vec::new();
    for method in &a.methods {
        let init_from = match method.as_str() {
            "none" => None,
            _ => Some(pretrain(&a, method)?),
        };
        for &fraction in &a.fractions {
            let started = Instant::now();
            let dir = RunDir(a.out.join(format!("{method}-{fraction}")));
            let settings = settings(&a, fraction, init_from.clone())?;
            if !a.quiet {
                eprintln!(
                    "fine-tuning: {method}, {:.0} % of the labels",
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
                &test_map,
                device,
            )?;
            let cell = Cell {
                method: method.clone(),
                fraction,
                confusion,
                seconds: started.elapsed().as_secs_f64(),
            };
            if !a.quiet {
                eprintln!("  {}", row(&cell, a.beta));
            }
            cells.push(cell);
        }
    }
    write_results(&a, &cells)
}

/// Pretrains the encoder with `method` on the training images; returns the checkpoint.
fn pretrain(a: &ExperimentArgs, method: &str) -> Result<String> {
    let out = a.out.join(format!("pretrain-{method}"));
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
        seed: a.seed,
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

fn settings(a: &ExperimentArgs, fraction: f64, init_from: Option<String>) -> Result<Settings> {
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
        seed: a.seed,
        // No early stopping: every cell trains for the same number of steps.
        patience: a.epochs,
        label_fraction: fraction,
        init_from,
    })
}

const CLASSES: [(CommonClass, &str); 3] = [
    (CommonClass::Cloud, "cloud"),
    (CommonClass::Shadow, "shadow"),
    (CommonClass::Clear, "clear"),
];

/// IoU, F1, F-beta and balanced overall accuracy (BOA) of one class against the rest.
fn scores(c: &Confusion, class: CommonClass, beta: f64) -> [f64; 4] {
    let s = c.class_scores(class, beta);
    let b = c.binary(|k| k == class);
    [s.iou, s.f1, s.f_beta, b.balanced_accuracy()]
}

fn row(cell: &Cell, beta: f64) -> String {
    let mut r = format!("| {} | {} % |", cell.method, cell.fraction * 100.0);
    for (class, _) in CLASSES {
        for v in scores(&cell.confusion, class, beta) {
            r.push_str(&format!(" {v:.3} |"));
        }
    }
    r.push_str(&format!(
        " {:.3} | {:.0} s |",
        cell.confusion.overall_accuracy(),
        cell.seconds
    ));
    r
}

fn write_results(a: &ExperimentArgs, cells: &[Cell]) -> Result<()> {
    let mut md = format!(
        "Label-fraction experiment: {} fine-tuned on {} ({}), scored on {} ({}); seed {}, {} epochs of {} patches of {} px; pretraining {} epochs x {} steps.\n\n",
        a.arch,
        a.images.join(", "),
        a.label_map,
        a.test_image,
        a.test_label_map.as_deref().unwrap_or(&a.label_map),
        a.seed,
        a.epochs,
        a.patches_per_epoch,
        a.patch,
        a.pretrain_epochs,
        a.pretrain_steps
    );
    let f = format!("F{}", a.beta);
    let mut head = "| pretraining | labels |".to_string();
    let mut rule = "|---|---|".to_string();
    for (_, name) in CLASSES {
        for m in ["IoU", "F1", &f, "BOA"] {
            head.push_str(&format!(" {name} {m} |"));
            rule.push_str("---|");
        }
    }
    head.push_str(" overall accuracy | time |");
    rule.push_str("---|---|");
    md.push_str(&format!("{head}\n{rule}\n"));
    let mut json_cells = Vec::new();
    for cell in cells {
        md.push_str(&row(cell, a.beta));
        md.push('\n');
        let mut per_class = serde_json::Map::new();
        for (class, name) in CLASSES {
            let [iou, f1, fb, boa] = scores(&cell.confusion, class, a.beta);
            per_class.insert(name.into(), json!({"iou": nan_null(iou), "f1": nan_null(f1), "f_beta": nan_null(fb), "boa": nan_null(boa)}));
        }
        json_cells.push(json!({
            "method": cell.method,
            "label_fraction": cell.fraction,
            "classes": per_class,
            "overall_accuracy": cell.confusion.overall_accuracy(),
            "kappa": nan_null(cell.confusion.kappa()),
            "seconds": cell.seconds,
        }));
    }
    let doc = json!({
        "experiment": "fractions",
        "beta": a.beta,
        "arch": a.arch,
        "seed": a.seed,
        "train": a.images,
        "test": a.test_image,
        "cells": json_cells,
    });
    let write = |name: &str, text: String| -> Result<PathBuf> {
        let path = a.out.join(name);
        std::fs::write(&path, text)
            .map_err(|e| Error::output(format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    };
    let md_path = write("results.md", md.clone())?;
    write(
        "results.json",
        serde_json::to_string_pretty(&doc).expect("json"),
    )?;
    println!("{md}");
    if !a.quiet {
        eprintln!("wrote {} and results.json", md_path.display());
    }
    Ok(())
}

fn nan_null(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else {
        serde_json::Value::Null
    }
}
