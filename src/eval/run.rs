//! Running an evaluation: every patch's reference and predictions read strip by strip, mapped
//! onto the common classes and counted into one confusion matrix per patch and predictor.
//! `model:` predictors mask the patch's image with the engine first.

use super::confusion::Confusion;
use super::grid::check_same_grid;
use super::job::{EvalJob, PredictorSource, DEFAULT_SCHEME};
use super::mapping::{builtin_names, ClassMapping};
use super::pairs::{plan, Patch, Prediction};
use crate::engine::{Pipeline, Products, Region};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::raster::Dataset;
use crate::scene::StageProgress;
use std::collections::HashMap;
use std::sync::Arc;

/// Rows read at a time.
const STRIP_ROWS: usize = 256;

/// A predictor as the reports name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictorInfo {
    pub name: String,
    /// Where its masks came from (a path, a folder, `model:<name>`, a list column).
    pub source: String,
    /// Its class scheme: name and mapping.
    pub scheme: String,
}

/// One patch: its confusion matrix for every predictor (in the evaluation's order).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchResult {
    pub id: String,
    pub reference: String,
    pub width: usize,
    pub height: usize,
    pub confusion: Vec<Confusion>,
}

/// Everything counted; the metrics are read from it by `summary`.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The reference argument (a raster, folder or list file).
    pub reference: String,
    pub reference_scheme: String,
    pub predictors: Vec<PredictorInfo>,
    pub patches: Vec<PatchResult>,
    pub beta: f64,
}

impl Evaluation {
    /// The matrix of one predictor pooled over all patches.
    pub fn pooled(&self, predictor: usize) -> Confusion {
        let mut total = Confusion::default();
        for p in &self.patches {
            total.merge(&p.confusion[predictor]);
        }
        total
    }
}

fn scheme_label(m: &ClassMapping) -> String {
    format!("{} ({})", m.name, m.describe())
}

/// A class raster (band 1) read strip by strip and mapped onto common classes.
struct ClassRaster {
    ds: Dataset,
    nodata: Option<f64>,
    mapping: ClassMapping,
    role: String,
    raw: Vec<f32>,
}

impl ClassRaster {
    fn open(path: &std::path::Path, mapping: &ClassMapping, role: String) -> Result<ClassRaster> {
        let ds = Dataset::open(&path.to_string_lossy())?;
        Ok(ClassRaster {
            nodata: ds.band_nodata(1),
            ds,
            mapping: mapping.clone(),
            role,
            raw: Vec::new(),
        })
    }

    fn read(&mut self, y: usize, rows: usize, out: &mut Vec<u8>) -> Result<()> {
        let w = self.ds.width();
        self.raw.resize(w * rows, 0.0);
        self.ds.read(1, 0, y, w, rows, &mut self.raw)?;
        self.mapping
            .map_values(&self.raw, self.nodata, out)
            .map_err(|u| {
                Error::invalid(format!(
                    "{} {} holds code{} {} ({} pixels in rows {}-{}) that class scheme {} does not map: give its scheme ({}) or a mapping of every code, such as '0=shadow,1-3=clear,4=cloud'",
                    self.role,
                    self.ds.description,
                    if u.codes.len() == 1 { "" } else { "s" },
                    u.codes.join(", "),
                    u.pixels,
                    y,
                    y + rows - 1,
                    scheme_label(&self.mapping),
                    builtin_names().join(", ")
                ))
            })
    }
}

/// Where a predictor's strips come from for one patch.
enum ClassSource {
    Raster(ClassRaster),
    /// Common class codes of the whole patch, from the engine.
    Masked(Vec<u8>),
}

/// Evaluates every patch against every predictor. `progress` gets the fraction done and a
/// stage; returning `false` cancels.
pub fn evaluate(job: &EvalJob, progress: StageProgress) -> Result<Evaluation> {
    if !(job.beta.is_finite() && job.beta > 0.0) {
        return Err(Error::invalid(format!(
            "beta is {} but must be a positive number (2 for F2)",
            job.beta
        )));
    }
    if job.reading.resolution.is_some() {
        return Err(Error::invalid(
            "masks are compared with the references pixel for pixel: read the images at their native resolution (no resolution)",
        ));
    }
    let plan = plan(job)?;
    let reference_mapping =
        ClassMapping::parse(job.reference_scheme.as_deref().unwrap_or(DEFAULT_SCHEME))?;
    let mut mappings = Vec::new();
    let mut models: HashMap<String, Arc<Model>> = HashMap::new();
    for p in &plan.predictors {
        mappings.push(ClassMapping::parse(
            p.scheme.as_deref().unwrap_or(DEFAULT_SCHEME),
        )?);
        if let PredictorSource::Model(name) = &p.source {
            if !models.contains_key(name) {
                let model = crate::model::cache::shared(name, &job.model_options, |_| ())?;
                models.insert(name.clone(), model);
            }
        }
    }
    let predictors = plan
        .predictors
        .iter()
        .zip(&mappings)
        .map(|(p, m)| PredictorInfo {
            name: p.name.clone(),
            source: p.source.describe(),
            scheme: scheme_label(m),
        })
        .collect();
    let n = plan.patches.len() as f64;
    let mut patches = Vec::new();
    for (i, patch) in plan.patches.iter().enumerate() {
        let mut inner = |f: f64, stage: &str| progress((i as f64 + f) / n, stage);
        if !inner(0.0, "evaluating") {
            return Err(Error::cancelled());
        }
        patches.push(evaluate_patch(
            job,
            patch,
            &reference_mapping,
            &plan
                .predictors
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            &mappings,
            &models,
            &mut inner,
        )?);
    }
    progress(1.0, "done");
    Ok(Evaluation {
        reference: job.reference.clone(),
        reference_scheme: scheme_label(&reference_mapping),
        predictors,
        patches,
        beta: job.beta,
    })
}

fn evaluate_patch(
    job: &EvalJob,
    patch: &Patch,
    reference_mapping: &ClassMapping,
    names: &[&str],
    mappings: &[ClassMapping],
    models: &HashMap<String, Arc<Model>>,
    progress: StageProgress,
) -> Result<PatchResult> {
    let mut reference = ClassRaster::open(&patch.reference, reference_mapping, "reference".into())?;
    let (w, h) = (reference.ds.width(), reference.ds.height());
    let mut sources = Vec::new();
    let n_models = patch
        .predictions
        .iter()
        .filter(|p| matches!(p, Prediction::Model(_)))
        .count()
        .max(1) as f64;
    let mut done_models = 0.0;
    for ((prediction, mapping), name) in patch.predictions.iter().zip(mappings).zip(names) {
        match prediction {
            Prediction::Raster(path) => {
                let what = format!("prediction of {name}");
                let raster = ClassRaster::open(path, mapping, what.clone())?;
                check_same_grid(&reference.ds, &raster.ds, &what)?;
                sources.push(ClassSource::Raster(raster));
            }
            Prediction::Model(model_name) => {
                let model = &models[model_name];
                let classes = mask_image(patch, model, job, &reference.ds, &mut |f| {
                    progress(0.9 * (done_models + f) / n_models, "masking")
                })?;
                done_models += 1.0;
                sources.push(ClassSource::Masked(classes));
            }
        }
    }
    let mut confusion = vec![Confusion::default(); sources.len()];
    let (mut truth, mut predicted) = (Vec::new(), Vec::new());
    let mut y = 0;
    while y < h {
        let rows = STRIP_ROWS.min(h - y);
        reference.read(y, rows, &mut truth)?;
        for (source, matrix) in sources.iter_mut().zip(&mut confusion) {
            let strip: &[u8] = match source {
                ClassSource::Raster(r) => {
                    r.read(y, rows, &mut predicted)?;
                    &predicted
                }
                ClassSource::Masked(all) => &all[y * w..(y + rows) * w],
            };
            matrix.add(&truth, strip);
        }
        y += rows;
        if !progress(0.9 + 0.1 * y as f64 / h as f64, "counting") {
            return Err(Error::cancelled());
        }
    }
    Ok(PatchResult {
        id: patch.id.clone(),
        reference: patch.reference.display().to_string(),
        width: w,
        height: h,
        confusion,
    })
}

/// The engine's class map of the patch's image (common codes), on the reference's grid.
fn mask_image(
    patch: &Patch,
    model: &Model,
    job: &EvalJob,
    reference: &Dataset,
    progress: &mut dyn FnMut(f64) -> bool,
) -> Result<Vec<u8>> {
    let image = patch.image.as_ref().ok_or_else(|| {
        Error::invalid(format!(
            "patch {}: model {} needs the image to mask, but no image was given for it (give images, or an image column in the list file)",
            patch.id,
            model.name()
        ))
    })?;
    let mut source = job
        .reading
        .input(&image.to_string_lossy())
        .open_for(&model.card.band_names())?;
    let ds = source.dataset();
    check_same_grid(reference, ds, "image")?;
    let (w, h) = (ds.width(), ds.height());
    let region = Region { x: 0, y: 0, w, h };
    let mut pipeline = Pipeline::new(
        model,
        &mut source,
        region,
        &job.mask_options,
        Products::default(),
    )?;
    Ok(pipeline.collect(progress)?.classes)
}
