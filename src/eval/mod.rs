//! Evaluation: predicted masks (files, or a model run on the fly) against reference masks.
//!
//! The data path, one module per step:
//! - `job`: what to evaluate (reference, predictors, class schemes, β) — filled by every shell;
//! - `pairs`: which reference, image and prediction files belong together (file, folder, list);
//! - `mapping`: raw class codes of any scheme → cloudmask's common classes;
//! - `grid`: predictions and images must lie on the reference's grid;
//! - `run`: reading, mapping and counting, patch by patch, into confusion matrices;
//! - `confusion`: the matrix and its metrics (OA, kappa, IoU, F1, F-beta);
//! - `cloudsen12`: the CloudSEN12 per-patch protocol (PA, UA, BOA, errors, median, buckets);
//! - `summary`: every metric computed once, for the reports, the figure and the C API;
//! - `report`: writing the reports: `markdown`, JSON, `csv`, and `figure` (drawn on `canvas`
//!   with `font`), the PNG.
//!
//! docs/evaluation.md defines every metric, the NaN rules and the class schemes.

pub mod canvas;
pub mod cloudsen12;
pub mod confusion;
pub mod csv;
pub mod figure;
pub mod font;
pub mod grid;
pub mod job;
pub mod mapping;
pub mod markdown;
pub mod pairs;
pub mod report;
pub mod run;
pub mod summary;

pub use job::{EvalJob, PredictorSource, PredictorSpec, DEFAULT_BETA};
pub use mapping::ClassMapping;
pub use report::{write_reports, ReportFormat};
pub use run::{evaluate, Evaluation};
pub use summary::{summarize_evaluation, Summary};

use crate::error::Result;
use crate::scene::StageProgress;
use std::path::{Path, PathBuf};

/// Evaluates `job` and writes the reports in `formats` into `dir`: what `cloudmask eval`, the C
/// API and the QGIS plugin do. Returns the summary and the files written.
pub fn evaluate_to_folder(
    job: &EvalJob,
    dir: &Path,
    formats: &[ReportFormat],
    progress: StageProgress,
) -> Result<(Summary, Vec<PathBuf>)> {
    // Fail before the work when the reports cannot be written.
    std::fs::create_dir_all(dir).map_err(|e| {
        crate::error::Error::output(format!(
            "cannot create report folder {}: {e}",
            dir.display()
        ))
    })?;
    crate::raster::writer::check_writable(&dir.join("evaluation.md"))?;
    let evaluation = evaluate(job, progress)?;
    let summary = summarize_evaluation(&evaluation);
    let written = write_reports(&summary, dir, formats)?;
    Ok((summary, written))
}
