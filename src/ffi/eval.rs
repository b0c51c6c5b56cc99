//! The C API's equivalent of `cloudmask eval`: a thin shell over `eval::evaluate_to_folder`.

use super::args::{input, need, opt_arg, opt_output, opt_text, text};
use super::input::{cm_input_options, reading};
use super::mask::cm_progress_fn;
use super::options::{cm_model_options, model_options};
use super::panic::{call, call_or};
use super::progress::Progress;
use super::status::cm_status;
use crate::error::{Error, Result};
use crate::eval::cloudsen12::Problem;
use crate::eval::{evaluate_to_folder, pairs, EvalJob, PredictorSpec, ReportFormat, DEFAULT_BETA};
use std::ffi::{c_char, c_void};
use std::path::Path;

/// One predictor for `cm_evaluate`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cm_eval_predictor {
    /// Its name in the reports (no commas, tabs, quotes or '|').
    pub name: *const c_char,
    /// A raster (one reference), a folder of rasters named like the references, "model:NAME"
    /// (the model run on each pair's image), or NULL for the list file's column `name`.
    pub source: *const c_char,
    /// The class scheme of its rasters: NULL or "cloudmask" (cm_class codes), "ukis", "scl",
    /// "fmask", "cloudsen12", "binary", a mapping such as "0=shadow,1-3=clear,4=cloud", or a
    /// .json file (docs/evaluation.md).
    pub scheme: *const c_char,
}

/// How to evaluate. Fill it with `cm_eval_options_default`, then change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cm_eval_options {
    /// The references' class scheme, as `cm_eval_predictor.scheme`; NULL = "cloudmask".
    pub reference_scheme: *const c_char,
    /// Images for "model:" predictors: a raster, or a folder of rasters named like the
    /// references (a list file's `image` column takes precedence); NULL = none.
    pub images: *const c_char,
    /// β of the F-beta scores, > 0; -1 = the default (2, F2).
    pub beta: f64,
    /// Reports to write, comma-separated: "md", "json", "csv", "png"; NULL = all four.
    pub reports: *const c_char,
    /// How "model:" predictors read the images (`cloudmask eval`'s --scaling, --quantification,
    /// --dn-offset, --nodata), or NULL for the defaults (bands by name, automatic scaling, the
    /// images' own nodata). Its `resolution` must be 0: masks are compared with the references
    /// pixel for pixel, so another value is `CM_ERROR_INVALID_ARGUMENT`; its buffer fields are
    /// ignored (no valid mask is scored). Added in 0.1 as the struct's last field, so that
    /// callers that fill the struct with `cm_eval_options_default` compile unchanged and get
    /// NULL; a program built against an older header must be rebuilt (the struct grew), as when
    /// `cm_model_options.precision` was added.
    pub input_options: *const cm_input_options,
}

/// Headline numbers of one predictor, all pixels of all pairs pooled unless said otherwise.
/// Undefined values (no pixels of a class, no patch with a defined BOA) are NaN.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct cm_eval_summary {
    /// Labelled reference pixels counted.
    pub pixels: u64,
    pub overall_accuracy: f64,
    /// Cohen's kappa over the common classes.
    pub kappa: f64,
    /// CloudSEN12: median over the pairs of the balanced overall accuracy (cloud problem).
    pub median_boa_cloud: f64,
    /// CloudSEN12: median BOA of the shadow problem.
    pub median_boa_shadow: f64,
    /// CloudSEN12: median BOA of the valid (clear) problem.
    pub median_boa_valid: f64,
    /// F-beta (β of the options) of the cloud problem (cloud + thin cloud against the rest).
    pub f_beta_cloud: f64,
}

/// Writes the default evaluation options into `*out_options`: cloudmask's scheme, no images,
/// β = 2, every report, images read with the default input options (`input_options` NULL).
/// NULL writes nothing.
#[no_mangle]
pub extern "C" fn cm_eval_options_default(out_options: *mut cm_eval_options) {
    call_or((), || {
        // SAFETY: checked for NULL; the caller gives a writable struct.
        let o = unsafe { super::args::out(out_options, "out_options") }?;
        *o = cm_eval_options {
            reference_scheme: std::ptr::null(),
            images: std::ptr::null(),
            beta: -1.0,
            reports: std::ptr::null(),
            input_options: std::ptr::null(),
        };
        Ok(())
    })
}

/// Compares predicted masks with reference masks, as `cloudmask eval` does, and writes the
/// reports (evaluation.md, evaluation.json, evaluation.csv, evaluation_patches.csv,
/// evaluation.png) into the folder `report_dir` (created if missing).
///
/// `reference` is a reference raster, a folder of reference rasters, or a list file (.csv,
/// .tsv, .txt) whose header names the columns `reference`, `id`, `image` and one per predictor.
/// `predictors` holds `n_predictors` predictors; with a list file, `n_predictors` may be 0 to
/// take every predictor column in header order. `options` and `model_options` (used by
/// "model:" predictors) may be NULL for the defaults; `options->input_options` says how those
/// predictors read the images (digital numbers, say). `progress` may be NULL; `user_data` is
/// passed to it unchanged.
///
/// `summaries_out` (may be NULL) receives one `cm_eval_summary` per predictor in report order;
/// `summaries_len` must be at least the number of predictors (checked before any work).
#[no_mangle]
pub extern "C" fn cm_evaluate(
    reference: *const c_char,
    predictors: *const cm_eval_predictor,
    n_predictors: usize,
    options: *const cm_eval_options,
    model_options: *const cm_model_options,
    report_dir: *const c_char,
    progress: cm_progress_fn,
    user_data: *mut c_void,
    summaries_out: *mut cm_eval_summary,
    summaries_len: usize,
) -> cm_status {
    call(|| {
        // SAFETY: every pointer is checked for NULL; strings are NUL-terminated and arrays hold
        // the lengths given (header).
        let (job, dir, formats, summaries) = unsafe {
            let mut job = EvalJob::new(text(reference, "reference")?);
            job.predictors = predictor_specs(predictors, n_predictors)?;
            job.model_options = self::model_options(model_options)?;
            let mut formats = ReportFormat::ALL.to_vec();
            if let Some(o) = opt_arg(options, "options")? {
                job.reference_scheme =
                    opt_text(o.reference_scheme, "options->reference_scheme")?.map(str::to_string);
                job.images = opt_text(o.images, "options->images")?.map(str::to_string);
                job.beta = if o.beta == -1.0 { DEFAULT_BETA } else { o.beta };
                job.reading = reading(o.input_options, "options->input_options")?;
                if let Some(r) = opt_text(o.reports, "options->reports")? {
                    formats = r
                        .split(',')
                        .map(ReportFormat::parse)
                        .collect::<Result<_>>()?;
                }
            }
            (
                job,
                text(report_dir, "report_dir")?,
                formats,
                opt_output(summaries_out, summaries_len, "summaries_out")?,
            )
        };
        if let Some(out) = &summaries {
            let count = pairs::plan(&job)?.predictors.len();
            need("summaries_out", out.len(), count, "summaries")?;
        }
        let mut progress = Progress::new(progress, user_data);
        let result = evaluate_to_folder(&job, Path::new(dir), &formats, &mut |f, stage| {
            progress.report(f, stage)
        });
        let (summary, _) = progress.finish(result)?;
        if let Some(out) = summaries {
            for (slot, p) in out.iter_mut().zip(&summary.predictors) {
                *slot = cm_eval_summary {
                    pixels: p.pixels,
                    overall_accuracy: p.overall_accuracy,
                    kappa: p.kappa,
                    median_boa_cloud: p.problem(Problem::Cloud).median_boa,
                    median_boa_shadow: p.problem(Problem::Shadow).median_boa,
                    median_boa_valid: p.problem(Problem::Valid).median_boa,
                    f_beta_cloud: p.problem(Problem::Cloud).pooled_f_beta,
                };
            }
        }
        Ok(())
    })
}

/// The caller's predictors as the library's.
///
/// # Safety
/// `p` is NULL (with `n` 0) or points to `n` structs whose strings are NULL or NUL-terminated.
unsafe fn predictor_specs(p: *const cm_eval_predictor, n: usize) -> Result<Vec<PredictorSpec>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    input(p, n, "predictors")?
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = text(c.name, &format!("predictors[{i}].name"))?;
            let source = opt_text(c.source, &format!("predictors[{i}].source"))?;
            let scheme = opt_text(c.scheme, &format!("predictors[{i}].scheme"))?;
            PredictorSpec::new(name, source, scheme)
                .map_err(|e| Error::new(e.kind, format!("predictors[{i}]: {}", e.message)))
        })
        .collect()
}
