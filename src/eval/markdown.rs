//! The Markdown report: predictors side by side in one table per topic (pooled metrics, the
//! CloudSEN12 protocol), the confusion matrices, and the first patches.

use super::cloudsen12::{Buckets, Problem, ProblemSummary};
use super::report::number;
use super::summary::{f_beta_name, ClassSummary, PredictorSummary, Summary};
use std::fmt::Write;

/// How one row of a table reads a class's scores, or a problem's summary.
type ClassScore = fn(&ClassSummary) -> f64;
type ProblemCell = fn(&ProblemSummary) -> String;

/// Patches listed (the CSV and JSON reports hold all).
const PATCHES_SHOWN: usize = 50;

/// A table cell: pipes escaped.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn buckets(b: &Buckets) -> String {
    format!("{} / {} / {} / {}", b.low, b.middle, b.high, b.undefined)
}

fn pair(a: f64, b: f64) -> String {
    format!("{} / {}", number(a), number(b))
}

/// A table with a label column and one column per predictor.
struct SideBySide<'a> {
    md: &'a mut String,
    predictors: &'a [PredictorSummary],
}

impl SideBySide<'_> {
    fn header(&mut self, first: &str) {
        let names: Vec<String> = self.predictors.iter().map(|p| cell(&p.name)).collect();
        let _ = writeln!(self.md, "| {first} | {} |", names.join(" | "));
        let _ = writeln!(self.md, "|---|{}", "---:|".repeat(names.len()));
    }

    fn row(&mut self, label: &str, value: impl Fn(&PredictorSummary) -> String) {
        let values: Vec<String> = self.predictors.iter().map(value).collect();
        let _ = writeln!(self.md, "| {label} | {} |", values.join(" | "));
    }
}

pub fn markdown(s: &Summary) -> String {
    let mut md = String::new();
    introduction(&mut md, s);
    pooled(&mut md, s);
    cloudsen12(&mut md, s);
    confusion_matrices(&mut md, s);
    patches(&mut md, s);
    md
}

fn introduction(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "# Cloud mask evaluation\n");
    let _ = writeln!(
        md,
        "- Reference: `{}`, class scheme {}",
        s.reference,
        cell(&s.reference_scheme)
    );
    let _ = writeln!(
        md,
        "- Patches: {}; pixels whose reference is nodata are left out; a predicted nodata counts as an error",
        s.patches
    );
    let _ = writeln!(
        md,
        "- {}: F-beta with β = {}\n",
        f_beta_name(s.beta),
        s.beta
    );
    let _ = writeln!(md, "| predictor | source | class scheme |\n|---|---|---|");
    for p in &s.predictors {
        let _ = writeln!(
            md,
            "| {} | `{}` | {} |",
            cell(&p.name),
            cell(&p.source),
            cell(&p.scheme)
        );
    }
}

fn pooled(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "\n## All pixels pooled\n");
    let mut t = SideBySide {
        md,
        predictors: &s.predictors,
    };
    t.header("metric");
    t.row("pixels", |p| p.pixels.to_string());
    t.row("overall accuracy", |p| number(p.overall_accuracy));
    t.row("Cohen's kappa", |p| number(p.kappa));
    let fb = f_beta_name(s.beta);
    let scores: [(&str, ClassScore); 5] = [
        ("IoU", |c| c.scores.iou),
        ("F1", |c| c.scores.f1),
        (&fb, |c| c.scores.f_beta),
        ("PA (recall)", |c| c.scores.recall),
        ("UA (precision)", |c| c.scores.precision),
    ];
    let n_classes = s.predictors.first().map_or(0, |p| p.classes.len());
    for (label, score) in scores {
        for k in 0..n_classes {
            let class = s.predictors[0].classes[k].class;
            t.row(&format!("{label} {class}"), |p| {
                number(score(&p.classes[k]))
            });
        }
    }
}

fn cloudsen12(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "\n## CloudSEN12 protocol\n");
    let _ = writeln!(
        md,
        "Per patch and problem (cloud: cloud + thin cloud; shadow; valid: clear). Median BOA over the patches where it is defined (their number in brackets). PA / UA buckets: patches with < 0.1 / 0.1–0.9 / > 0.9 / NaN (no positives). Pooled: all pixels of all patches.\n"
    );
    let fb = f_beta_name(s.beta);
    let mut t = SideBySide {
        md,
        predictors: &s.predictors,
    };
    t.header("problem: statistic");
    for problem in Problem::ALL {
        let name = problem.name();
        let rows: [(String, ProblemCell); 6] = [
            (format!("{name}: median BOA"), |x| {
                format!("{} ({})", number(x.median_boa), x.patches_with_boa)
            }),
            (format!("{name}: PA buckets"), |x| buckets(&x.pa_buckets)),
            (format!("{name}: UA buckets"), |x| buckets(&x.ua_buckets)),
            (format!("{name}: pooled PA / UA"), |x| {
                pair(x.pooled.pa, x.pooled.ua)
            }),
            (format!("{name}: pooled omission / commission"), |x| {
                pair(x.pooled.omission, x.pooled.commission)
            }),
            (format!("{name}: pooled BOA / {fb}"), |x| {
                pair(x.pooled.boa, x.pooled_f_beta)
            }),
        ];
        for (label, value) in rows {
            t.row(&label, |p| value(p.problem(problem)));
        }
    }
}

fn confusion_matrices(md: &mut String, s: &Summary) {
    let _ = writeln!(
        md,
        "\n## Confusion matrices\n\nPixels; rows: reference, columns: prediction."
    );
    for p in &s.predictors {
        let _ = writeln!(md, "\n### {}\n", cell(&p.name));
        let _ = writeln!(md, "| reference \\ predicted | {} |", s.classes.join(" | "));
        let _ = writeln!(md, "|---|{}", "---:|".repeat(s.classes.len()));
        for (class, counts) in s.classes.iter().zip(&p.confusion) {
            if *class == "nodata" {
                continue; // an empty row: reference nodata is never counted
            }
            let counts: Vec<String> = counts.iter().map(|c| c.to_string()).collect();
            let _ = writeln!(md, "| {class} | {} |", counts.join(" | "));
        }
    }
}

fn patches(md: &mut String, s: &Summary) {
    let _ = writeln!(md, "\n## Per patch\n");
    let shown = s.per_patch.len().min(PATCHES_SHOWN);
    if shown < s.per_patch.len() {
        let _ = writeln!(
            md,
            "The first {shown} of {} patches; evaluation_patches.csv and evaluation.json hold all.\n",
            s.per_patch.len()
        );
    }
    let _ = writeln!(
        md,
        "| patch | predictor | kappa | BOA cloud | BOA shadow | BOA valid |\n|---|---|---:|---:|---:|---:|"
    );
    for patch in &s.per_patch[..shown] {
        for p in &patch.predictors {
            let boa: Vec<String> = p.problems.iter().map(|x| number(x.scores.boa)).collect();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                cell(&patch.id),
                cell(&p.name),
                number(p.kappa),
                boa.join(" | ")
            );
        }
    }
}
