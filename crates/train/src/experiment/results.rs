//! The experiment's tables: one row per method, label fraction and seed, then the spread of
//! each method and fraction over the seeds (mean, sample standard deviation, range), as
//! results.md and results.json. A difference between methods means something only where it
//! is larger than this spread.

use super::Cell;
use crate::cli::ExperimentArgs;
use cloudmask::error::{Error, Result};
use cloudmask::eval::confusion::Confusion;
use cloudmask::model::classes::CommonClass;
use serde_json::{json, Value};
use std::path::PathBuf;

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

pub(super) fn row(cell: &Cell, beta: f64) -> String {
    let mut r = format!(
        "| {} | {} % | {} |",
        cell.method,
        cell.fraction * 100.0,
        cell.seed
    );
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

/// Mean, sample standard deviation (n - 1; NaN for one value) and range of `values`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Spread {
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

pub(super) fn spread(values: &[f64]) -> Spread {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Spread {
        mean,
        sd: if values.len() > 1 {
            var.sqrt()
        } else {
            f64::NAN
        },
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

fn spread_json(values: &[f64]) -> Value {
    let s = spread(values);
    json!({"mean": nan_null(s.mean), "sd": nan_null(s.sd), "min": nan_null(s.min),
           "max": nan_null(s.max), "values": values.iter().map(|v| nan_null(*v)).collect::<Vec<_>>()})
}

/// The cells of each (method, fraction), in the order they ran.
fn groups(cells: &[Cell]) -> Vec<Vec<&Cell>> {
    let mut groups: Vec<Vec<&Cell>> = Vec::new();
    for cell in cells {
        match groups
            .iter_mut()
            .find(|g| g[0].method == cell.method && g[0].fraction == cell.fraction)
        {
            Some(g) => g.push(cell),
            None => groups.push(vec![cell]),
        }
    }
    groups
}

/// One group's spread over the seeds: every class score and the overall accuracy.
fn summary_json(group: &[&Cell], beta: f64) -> Value {
    let mut per_class = serde_json::Map::new();
    for (class, name) in CLASSES {
        let all: Vec<[f64; 4]> = group
            .iter()
            .map(|c| scores(&c.confusion, class, beta))
            .collect();
        let col = |i: usize| all.iter().map(|s| s[i]).collect::<Vec<_>>();
        per_class.insert(
            name.into(),
            json!({"iou": spread_json(&col(0)), "f1": spread_json(&col(1)),
                   "f_beta": spread_json(&col(2)), "boa": spread_json(&col(3))}),
        );
    }
    let oa: Vec<f64> = group
        .iter()
        .map(|c| c.confusion.overall_accuracy())
        .collect();
    json!({
        "method": group[0].method,
        "label_fraction": group[0].fraction,
        "seeds": group.iter().map(|c| c.seed).collect::<Vec<_>>(),
        "classes": per_class,
        "overall_accuracy": spread_json(&oa),
    })
}

/// The Markdown table of the spread: mean ± sd (min–max) of the headline scores.
fn summary_md(groups: &[Vec<&Cell>], beta: f64) -> String {
    let mut md = format!(
        "\nOver the seeds: mean ± sample standard deviation (min–max)\n\n| pretraining | labels | seeds | cloud IoU | cloud F{beta} | shadow IoU | clear IoU | overall accuracy |\n|---|---|---|---|---|---|---|---|\n"
    );
    for g in groups {
        let cell = |f: &dyn Fn(&Cell) -> f64| {
            let s = spread(&g.iter().map(|c| f(c)).collect::<Vec<_>>());
            format!("{:.3} ± {:.3} ({:.3}–{:.3})", s.mean, s.sd, s.min, s.max)
        };
        let class = |class, i: usize| cell(&|c: &Cell| scores(&c.confusion, class, beta)[i]);
        md.push_str(&format!(
            "| {} | {} % | {} | {} | {} | {} | {} | {} |\n",
            g[0].method,
            g[0].fraction * 100.0,
            g.len(),
            class(CommonClass::Cloud, 0),
            class(CommonClass::Cloud, 2),
            class(CommonClass::Shadow, 0),
            class(CommonClass::Clear, 0),
            cell(&|c: &Cell| c.confusion.overall_accuracy()),
        ));
    }
    md
}

fn cell_json(cell: &Cell, beta: f64) -> Value {
    let mut per_class = serde_json::Map::new();
    for (class, name) in CLASSES {
        let [iou, f1, fb, boa] = scores(&cell.confusion, class, beta);
        per_class.insert(name.into(), json!({"iou": nan_null(iou), "f1": nan_null(f1), "f_beta": nan_null(fb), "boa": nan_null(boa)}));
    }
    json!({
        "method": cell.method,
        "label_fraction": cell.fraction,
        "seed": cell.seed,
        "classes": per_class,
        "overall_accuracy": cell.confusion.overall_accuracy(),
        "kappa": nan_null(cell.confusion.kappa()),
        "seconds": cell.seconds,
    })
}

fn table_md(a: &ExperimentArgs, cells: &[Cell], isa: &str, threads: i32) -> String {
    let seeds: Vec<String> = a.seeds.iter().map(|s| s.to_string()).collect();
    let mut md = format!(
        "Label-fraction experiment: {} fine-tuned on {} ({}), scored on {} ({}); seeds {}, {} epochs of {} patches of {} px; pretraining {} epochs x {} steps; CPU code paths {isa}, {threads} threads.\n\n",
        a.arch,
        a.images.join(", "),
        a.label_map,
        a.test_image,
        a.test_label_map.as_deref().unwrap_or(&a.label_map),
        seeds.join(","),
        a.epochs,
        a.patches_per_epoch,
        a.patch,
        a.pretrain_epochs,
        a.pretrain_steps
    );
    let f = format!("F{}", a.beta);
    let mut head = "| pretraining | labels | seed |".to_string();
    let mut rule = "|---|---|---|".to_string();
    for (_, name) in CLASSES {
        for m in ["IoU", "F1", &f, "BOA"] {
            head.push_str(&format!(" {name} {m} |"));
            rule.push_str("---|");
        }
    }
    head.push_str(" overall accuracy | time |");
    rule.push_str("---|---|");
    md.push_str(&format!("{head}\n{rule}\n"));
    for cell in cells {
        md.push_str(&row(cell, a.beta));
        md.push('\n');
    }
    md
}

pub(super) fn write(a: &ExperimentArgs, cells: &[Cell]) -> Result<()> {
    let isa = a
        .compute
        .cpu_isa
        .unwrap_or(crate::cpu_isa::EXPERIMENT_DEFAULT)
        .name();
    let threads = tch::get_num_threads();
    let groups = groups(cells);
    let mut md = table_md(a, cells, isa, threads);
    md.push_str(&summary_md(&groups, a.beta));
    let doc = json!({
        "experiment": "fractions",
        "beta": a.beta,
        "arch": a.arch,
        "seeds": a.seeds,
        "cpu_isa": isa,
        "threads": threads,
        "train": a.images,
        "test": a.test_image,
        "cells": cells.iter().map(|c| cell_json(c, a.beta)).collect::<Vec<_>>(),
        "summary": groups.iter().map(|g| summary_json(g, a.beta)).collect::<Vec<_>>(),
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

fn nan_null(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_is_the_mean_the_sample_deviation_and_the_range() {
        let s = spread(&[0.30, 0.36, 0.33]);
        assert!((s.mean - 0.33).abs() < 1e-12, "{s:?}");
        // Deviations -0.03, 0.03, 0: sum of squares 0.0018 over n - 1 = 2.
        assert!((s.sd - 0.0009f64.sqrt()).abs() < 1e-12, "{s:?}");
        assert_eq!((s.min, s.max), (0.30, 0.36));
        let one = spread(&[0.4]);
        assert_eq!((one.mean, one.min, one.max), (0.4, 0.4, 0.4));
        assert!(one.sd.is_nan(), "one seed has no spread: {one:?}");
    }
}
