//! `cloudmask mask`: a whole raster to mask files.

use crate::args::{MaskArgs, RuntimeArgs};
use crate::progress::ProgressBar;
use cloudmask::engine::{MaskOptions, DEFAULT_OVERLAP};
use cloudmask::limits;
use cloudmask::model::CommonClass;
use cloudmask::postprocess::Buffers;
use cloudmask::raster::product::{output_paths, Product};
use cloudmask::scene::{check_outputs, mask_scene, SceneJob};
use cloudmask::{Error, Model, ModelOptions, Result};

pub fn model_options(r: &RuntimeArgs) -> ModelOptions {
    ModelOptions {
        threads: r.threads,
        device: r.device,
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

pub fn run(a: MaskArgs) -> Result<()> {
    // From here on SIGINT and SIGTERM cancel the job (main reports them and exits 130 / 143).
    crate::signals::catch_interrupts()
        .map_err(|e| Error::invalid(format!("cannot catch SIGINT and SIGTERM: {e}")))?;
    let products = Product::parse_list(&a.products)?;
    let options = MaskOptions {
        tiling: a.tiling,
        batch: a.batch.max(1),
        buffers: parse_buffers(&a.buffer)?,
        tile: a.tile,
        overlap: a.overlap.unwrap_or(DEFAULT_OVERLAP),
        cache: None,
    };
    let job = SceneJob {
        input: a.read.input(&a.input, a.resolution),
        outputs: output_paths(&a.out, &products),
        format: cloudmask::raster::writer::Format::new(&a.format, &a.creation_options)?,
        options,
        quicklook: a.quicklook.clone(),
        output_grid: a.output_grid,
    };
    // Bad outputs are refused before the model loads (mask_scene checks again, as for C callers).
    check_outputs(&job, &cloudmask::model::resolve(&a.model.name)?)?;
    let model = load_model(&a.model.name, &model_options(&a.runtime))?;
    let mut bar = ProgressBar::new(a.quiet);
    let report = mask_scene(&model, job, &mut |f, stage| {
        bar.update(f, stage);
        crate::signals::caught().is_none()
    })?;
    for w in &report.warnings {
        eprintln!("cloudmask: warning: {w}");
    }
    let total = (report.width * report.height) as f64;
    let share = |c: CommonClass| 100.0 * report.class_counts[c.code() as usize] as f64 / total;
    println!(
        "masked {} ({} x {}) with {}: clear {:.1} %, cloud {:.1} %, thin cloud {:.1} %, shadow {:.1} %, nodata {:.1} %",
        a.input,
        report.width,
        report.height,
        model.name(),
        share(CommonClass::Clear),
        share(CommonClass::Cloud),
        share(CommonClass::ThinCloud),
        share(CommonClass::Shadow),
        share(CommonClass::Nodata)
    );
    for path in &report.outputs {
        println!("wrote {}", path.display());
    }
    if let Some(q) = &a.quicklook {
        println!("wrote {}", q.display());
    }
    Ok(())
}
