//! `cloudmask mask`: whole rasters to mask files, one input or a batch of them.

use crate::args::{MaskArgs, RuntimeArgs};
use crate::exit::Failure;
use crate::mask_plan::{self, JobSettings, Scene};
use crate::mask_report::{SceneSummary, Status, Summary};
use crate::model_cache::ModelCache;
use crate::progress::ProgressBar;
use cloudmask::engine::{MaskOptions, DEFAULT_OVERLAP};
use cloudmask::limits;
use cloudmask::model::{check_level, CommonClass, RunStats};
use cloudmask::postprocess::Buffers;
use cloudmask::raster::product::Product;
use cloudmask::raster::writer::Format;
use cloudmask::scene::{mask_scene, SceneReport};
use cloudmask::{Error, ErrorKind, Model, ModelOptions, Result};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Instant;

pub fn model_options(r: &RuntimeArgs) -> ModelOptions {
    ModelOptions {
        threads: r.threads,
        device: r.device,
        precision: r.precision,
        ort_lib: r.ort_library(),
    }
}

/// Loads a model and tells the user what the load changed (device fallback, threads capped).
pub fn load_model(name: &str, options: &ModelOptions) -> Result<Model> {
    let model = Model::load(name, options)?;
    for note in model.notes() {
        eprintln!("cloudmask: note: {note}");
    }
    Ok(model)
}

/// `4` → 4 pixels around every cloud and shadow class; `cloud=4,shadow=2` per class.
pub fn parse_buffers(spec: &str) -> Result<Buffers> {
    let spec = spec.trim();
    // Radii are parsed wide and checked against the documented limit, so none can wrap.
    let radius = |what: &str, n: i128| -> Result<u32> {
        Ok(limits::check(what, n, 0, limits::MAX_BUFFER)? as u32)
    };
    if let Ok(n) = spec.parse::<i128>() {
        return Ok(Buffers::uniform(radius("--buffer", n)?));
    }
    let mut b = Buffers::uniform(0);
    for part in spec.split(',') {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            Error::invalid(format!(
                "--buffer '{part}': write a number, or class=pixels such as cloud=4"
            ))
        })?;
        let class = match name.trim() {
            "thin" => Some(CommonClass::ThinCloud),
            other => CommonClass::parse(other),
        }
        .filter(|c| *c != CommonClass::Clear)
        .ok_or_else(|| {
            Error::invalid(format!(
                "--buffer: unknown class '{name}' (use cloud, thin, shadow or nodata)"
            ))
        })?;
        let px = value.trim().parse::<i128>().map_err(|_| {
            Error::invalid(format!(
                "--buffer: '{value}' is not a whole number of pixels"
            ))
        })?;
        b.radius[class.code() as usize] = radius(&format!("--buffer {}", name.trim()), px)?;
    }
    Ok(b)
}

/// The engine options the flags ask for.
fn mask_options(a: &MaskArgs) -> Result<MaskOptions> {
    Ok(MaskOptions {
        tiling: a.tiling,
        batch: a.batch.max(1),
        buffers: parse_buffers(&a.buffer)?,
        tile: a.tile,
        overlap: a.overlap.unwrap_or(DEFAULT_OVERLAP),
        cache: None,
    })
}

/// Masks every input, each with one load of its model per run. A failed scene does not stop
/// the others; a signal stops the run after the scene it interrupted (removed).
pub fn run(a: MaskArgs) -> std::result::Result<(), Failure> {
    // From here on SIGINT and SIGTERM cancel the job (main reports them and exits 130 / 143).
    crate::signals::catch_interrupts()
        .map_err(|e| Error::invalid(format!("cannot catch SIGINT and SIGTERM: {e}")))?;
    let started = Instant::now();
    mask_plan::check_usage(&a, 1)?;
    let products = Product::parse_list(&a.products)?;
    let settings = JobSettings {
        options: mask_options(&a)?,
        format: Format::new(&a.format, &a.creation_options)?,
    };
    let inputs = crate::inputs::expand(&a.inputs, a.from_list.as_deref(), a.recursive)?;
    if inputs.is_empty() {
        return Err(Error::input("no input: the folders and lists given hold no raster").into());
    }
    mask_plan::check_usage(&a, inputs.len())?;
    // A model named on the command line serves every input: one that does not exist refuses
    // the run before any input is opened.
    let mut models = HashMap::new();
    if let Some(name) = &a.model {
        models.insert(name.clone(), cloudmask::model::resolve(name)?);
    }
    let mut scenes = mask_plan::plan(&a, &inputs, &products, &settings.format)?;
    // Each model once: resolving searches the model folders, and a batch names few models.
    for (name, _) in scenes.iter().filter_map(|s| s.model.as_ref().ok()) {
        if !models.contains_key(name) {
            if let Ok(entry) = cloudmask::model::resolve(name) {
                models.insert(name.clone(), entry);
            }
        }
    }
    // Bad outputs are refused before any model loads (mask_scene checks each scene again, as
    // for C callers).
    mask_plan::check(&a, &mut scenes, &settings, &models)?;
    let mut cache = ModelCache::new(model_options(&a.runtime));
    let mut summaries = Vec::with_capacity(scenes.len());
    let n = scenes.len();
    for (i, scene) in scenes.iter().enumerate() {
        if !a.quiet && n > 1 {
            eprintln!("[{}/{n}] {}", i + 1, scene.input);
        }
        let summary = run_scene(&a, scene, &settings, &mut cache, n > 1);
        if summary.status == Status::Ok && !a.quiet && !a.json {
            summary.print_masked();
        }
        let cancelled = summary
            .error
            .as_ref()
            .is_some_and(|e| e.code == ErrorKind::Cancelled as u8);
        if let (Some(e), true) = (&summary.error, n > 1 && !cancelled) {
            // Named once: most messages already start with the input.
            match e.message.contains(&scene.input) {
                true => eprintln!("cloudmask: error: {}", e.message),
                false => eprintln!("cloudmask: error: {}: {}", scene.input, e.message),
            }
        }
        summaries.push(summary);
        if cancelled && crate::signals::caught().is_some() {
            let done = summaries.iter().filter(|s| s.status == Status::Ok).count();
            if done > 0 {
                eprintln!("cloudmask: {done} scenes were masked before the interrupt; their outputs are kept, the interrupted one was not written");
            }
            return Err(Error::cancelled().into());
        }
    }
    finish(&a, summaries, cache.loaded(), started)
}

/// Prints the summary and turns the outcome into the exit status: a single input's failure is
/// its error (its kind's code); failures among several inputs are [`Failure::ScenesFailed`].
fn finish(
    a: &MaskArgs,
    scenes: Vec<SceneSummary>,
    models_loaded: usize,
    started: Instant,
) -> std::result::Result<(), Failure> {
    let mut summary = Summary::new(scenes, models_loaded, started.elapsed().as_secs_f64());
    let (failed, total) = (summary.totals.failed, summary.totals.scenes);
    let single_error = match &summary.scenes[..] {
        [only] => only.cause.clone(),
        _ => None,
    };
    summary.exit_code = match (&single_error, failed) {
        (Some(e), _) => e.kind as u8,
        (None, 0) => 0,
        (None, _) => crate::exit::SCENES_FAILED,
    };
    if a.json {
        summary.print_json();
    }
    if total > 1 && (failed > 0 || !a.quiet) {
        summary.print_text();
    }
    match single_error {
        Some(e) => Err(Failure::Error(e)),
        None if failed > 0 => Err(Failure::ScenesFailed { failed, total }),
        None => Ok(()),
    }
}

/// One scene, timed: skipped, masked or failed.
fn run_scene(
    a: &MaskArgs,
    scene: &Scene,
    settings: &JobSettings,
    cache: &mut ModelCache,
    batch: bool,
) -> SceneSummary {
    let start = Instant::now();
    let planned = scene.targets().cloned().collect();
    let model = scene.model.as_ref().ok().map(|(m, _)| m.clone());
    let mut summary = SceneSummary::new(&scene.input, planned, model);
    if !scene.skip {
        match mask_one(a, scene, settings, cache, batch, &mut summary.warnings) {
            Ok((report, stats)) => {
                summary.masked(&report, stats);
                // Committed with the products; the report names only the rasters.
                summary.outputs.extend(scene.quicklook.clone());
            }
            Err(e) => summary.failed(e),
        }
    }
    summary.seconds = start.elapsed().as_secs_f64();
    summary
}

/// Loads (or reuses) the scene's model, checks its level against the input's, and masks.
fn mask_one(
    a: &MaskArgs,
    scene: &Scene,
    settings: &JobSettings,
    cache: &mut ModelCache,
    batch: bool,
    warnings: &mut Vec<String>,
) -> Result<(SceneReport, RunStats)> {
    let (name, note) = scene.model.clone()?;
    let model = cache.get(&name)?;
    let before = model.stats();
    if let (Some(note), false) = (note, a.quiet) {
        eprintln!("cloudmask: note: {note}");
    }
    warnings.extend(check_level(&model.card, scene.level, a.strict)?);
    for w in warnings.iter() {
        eprintln!("cloudmask: warning: {w}");
    }
    // In a batch, the bar only on a terminal: logs get the "[i/n] name" lines.
    let mut bar = ProgressBar::new(a.quiet || (batch && !std::io::stderr().is_terminal()));
    let report = mask_scene(&model, scene.job(a, settings), &mut |f, stage| {
        bar.update(f, stage);
        crate::signals::caught().is_none()
    })?;
    for w in &report.warnings {
        eprintln!("cloudmask: warning: {w}");
    }
    warnings.extend(report.warnings.iter().cloned());
    Ok((report, model.stats().since(before)))
}
