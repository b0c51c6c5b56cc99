//! The metrics of an [`Evaluation`], computed once into plain structures that the reports
//! (Markdown, JSON, CSV), the figure and the C API all read.

use super::cloudsen12::{summarize, Problem, ProblemSummary, Scores};
use super::confusion::{ClassScores, Confusion};
use super::run::Evaluation;
use crate::model::CommonClass;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub reference: String,
    pub reference_scheme: String,
    pub beta: f64,
    pub patches: usize,
    /// Classes in the confusion matrices (rows and columns), by name: those present in any
    /// reference or prediction; "nodata" only when a predictor left labelled pixels without a class.
    pub classes: Vec<&'static str>,
    pub predictors: Vec<PredictorSummary>,
    pub per_patch: Vec<PatchSummary>,
}

/// One predictor, pooled over all patches.
#[derive(Debug, Clone, Serialize)]
pub struct PredictorSummary {
    pub name: String,
    pub source: String,
    pub scheme: String,
    /// Labelled reference pixels counted.
    pub pixels: u64,
    pub overall_accuracy: f64,
    pub kappa: f64,
    /// Per class (nodata excluded), one class against the others.
    pub classes: Vec<ClassSummary>,
    /// Pixels: rows reference, columns prediction, in `Summary::classes` order.
    pub confusion: Vec<Vec<u64>>,
    /// The CloudSEN12 protocol: cloud, shadow, valid.
    pub cloudsen12: Vec<ProblemSummary>,
}

/// One class's scores under its name (the JSON report lists the scores beside the name).
#[derive(Debug, Clone, Serialize)]
pub struct ClassSummary {
    pub class: &'static str,
    #[serde(flatten)]
    pub scores: ClassScores,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatchSummary {
    pub id: String,
    pub reference: String,
    pub width: usize,
    pub height: usize,
    pub predictors: Vec<PatchPredictor>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatchPredictor {
    pub name: String,
    pub pixels: u64,
    pub overall_accuracy: f64,
    pub kappa: f64,
    pub problems: Vec<PatchProblem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatchProblem {
    pub problem: Problem,
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub tn: u64,
    #[serde(flatten)]
    pub scores: Scores,
}

impl PredictorSummary {
    pub fn problem(&self, p: Problem) -> &ProblemSummary {
        self.cloudsen12
            .iter()
            .find(|s| s.problem == p)
            .expect("every problem is summarised")
    }
}

/// `F2`, `F0.5`: the F-beta score's name.
pub fn f_beta_name(beta: f64) -> String {
    format!("F{beta}")
}

/// Short class names for tables ("shadow" rather than "cloud shadow").
pub fn class_label(c: CommonClass) -> &'static str {
    match c {
        CommonClass::Shadow => "shadow",
        other => other.name(),
    }
}

pub fn summarize_evaluation(e: &Evaluation) -> Summary {
    let pooled: Vec<Confusion> = (0..e.predictors.len()).map(|i| e.pooled(i)).collect();
    let class_list: Vec<CommonClass> = CommonClass::ALL
        .into_iter()
        .filter(|c| pooled.iter().any(|m| m.classes_present().contains(c)))
        .collect();
    let predictors = e
        .predictors
        .iter()
        .zip(&pooled)
        .enumerate()
        .map(|(i, (info, m))| {
            let per_patch: Vec<Confusion> = e.patches.iter().map(|p| p.confusion[i]).collect();
            PredictorSummary {
                name: info.name.clone(),
                source: info.source.clone(),
                scheme: info.scheme.clone(),
                pixels: m.total(),
                overall_accuracy: m.overall_accuracy(),
                kappa: m.kappa(),
                classes: class_list
                    .iter()
                    .filter(|&&c| c != CommonClass::Nodata)
                    .map(|&c| ClassSummary {
                        class: class_label(c),
                        scores: m.class_scores(c, e.beta),
                    })
                    .collect(),
                confusion: class_list
                    .iter()
                    .map(|r| {
                        class_list
                            .iter()
                            .map(|p| m.counts[r.code() as usize][p.code() as usize])
                            .collect()
                    })
                    .collect(),
                cloudsen12: Problem::ALL
                    .into_iter()
                    .map(|p| summarize(p, &per_patch, e.beta))
                    .collect(),
            }
        })
        .collect();
    let per_patch = e
        .patches
        .iter()
        .map(|p| PatchSummary {
            id: p.id.clone(),
            reference: p.reference.clone(),
            width: p.width,
            height: p.height,
            predictors: e
                .predictors
                .iter()
                .zip(&p.confusion)
                .map(|(info, m)| PatchPredictor {
                    name: info.name.clone(),
                    pixels: m.total(),
                    overall_accuracy: m.overall_accuracy(),
                    kappa: m.kappa(),
                    problems: Problem::ALL
                        .into_iter()
                        .map(|problem| {
                            let b = problem.binary(m);
                            PatchProblem {
                                problem,
                                tp: b.tp,
                                fp: b.fp,
                                fn_: b.fn_,
                                tn: b.tn,
                                scores: Scores::of(&b),
                            }
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    Summary {
        reference: e.reference.clone(),
        reference_scheme: e.reference_scheme.clone(),
        beta: e.beta,
        patches: e.patches.len(),
        classes: class_list.iter().map(|&c| class_label(c)).collect(),
        predictors,
        per_patch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_scores_sit_beside_the_class_name_in_json() {
        let summary = ClassSummary {
            class: "cloud",
            scores: ClassScores {
                support: 3,
                recall: 0.5,
                precision: 0.25,
                iou: 0.2,
                f1: 1.0 / 3.0,
                f_beta: 0.3,
            },
        };
        assert_eq!(
            serde_json::to_string(&summary).unwrap(),
            r#"{"class":"cloud","support":3,"recall":0.5,"precision":0.25,"iou":0.2,"f1":0.3333333333333333,"f_beta":0.3}"#
        );
    }
}
