//! What a `cloudmask mask` run will do, decided before any work: each input's output files, its
//! model, and whether it is skipped; and the refusals that stop the run before the first scene
//! (outputs that are inputs or named twice, outputs that exist without --overwrite or
//! --skip-existing, options that cannot work together).

use crate::args::MaskArgs;
use crate::exit::Failure;
use cloudmask::engine::MaskOptions;
use cloudmask::model::{choose_model, ModelEntry};
use cloudmask::raster::product::{output_paths, Product};
use cloudmask::raster::products::{product_level, product_stem, ProductLevel};
use cloudmask::raster::writer::Format;
use cloudmask::scene::{check_batch_outputs, SceneJob};
use cloudmask::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `--name-pattern`'s default: `scene.tif` → `scene_mask.tif` (with `--of PNG`, `scene_mask.png`).
pub const DEFAULT_NAME_PATTERN: &str = "{stem}_mask.{ext}";

/// What every scene of the run is masked with: the engine options and the output format.
pub struct JobSettings {
    pub options: MaskOptions,
    pub format: Format,
}

/// One input of the run and what to do with it.
pub struct Scene {
    pub input: String,
    pub outputs: Vec<(Product, PathBuf)>,
    pub quicklook: Option<PathBuf>,
    /// The input's product level, when its metadata says it.
    pub level: Option<ProductLevel>,
    /// The model to mask it with, and a note saying why when its level chose it; or why the
    /// input could not even be probed (it then fails as its scene).
    pub model: Result<(String, Option<String>)>,
    /// Every requested output exists and --skip-existing was given.
    pub skip: bool,
}

impl Scene {
    /// The job for [`cloudmask::scene::mask_scene`].
    pub fn job(&self, a: &MaskArgs, settings: &JobSettings) -> SceneJob {
        SceneJob {
            input: a.read.input(&self.input, a.resolution),
            outputs: self.outputs.clone(),
            format: settings.format.clone(),
            options: settings.options.clone(),
            quicklook: self.quicklook.clone(),
            output_grid: a.output_grid,
        }
    }

    /// Every file the scene writes: its products and its quicklook.
    pub fn targets(&self) -> impl Iterator<Item = &PathBuf> {
        self.outputs.iter().map(|(_, p)| p).chain(&self.quicklook)
    }
}

/// Refusals that need no file: `-o -`, `-o` or `--quicklook` with several inputs, an unknown
/// placeholder in `--name-pattern`.
pub fn check_usage(a: &MaskArgs, inputs: usize) -> std::result::Result<(), Failure> {
    if a.out.as_deref() == Some(Path::new("-")) {
        return Err(Failure::Usage(
            "-o - (standard output) is not supported: a GeoTIFF cannot be streamed, its header \
             is written last; give a file name (-o mask.tif), or --output-dir DIR for several inputs"
                .into(),
        ));
    }
    if inputs > 1 && a.out.is_some() {
        return Err(Failure::Usage(format!(
            "-o names one output file, but {inputs} inputs were given: use --output-dir DIR \
             (file names from --name-pattern, default {DEFAULT_NAME_PATTERN})"
        )));
    }
    if inputs > 1 && a.quicklook.is_some() {
        return Err(Failure::Usage(format!(
            "--quicklook names one file, but {inputs} inputs were given: mask them one by one to draw quicklooks"
        )));
    }
    let unknown = placeholders(&a.name_pattern)
        .into_iter()
        .find(|p| !["stem", "product", "ext"].contains(&p.as_str()));
    if let Some(p) = unknown {
        return Err(Failure::Usage(format!(
            "--name-pattern '{}': unknown placeholder {{{p}}}: use {{stem}}, {{product}} or {{ext}}",
            a.name_pattern
        )));
    }
    Ok(())
}

/// The names between braces in a pattern.
fn placeholders(pattern: &str) -> Vec<String> {
    pattern
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

/// Every input's scene: outputs named, level probed, model chosen.
pub fn plan(
    a: &MaskArgs,
    inputs: &[String],
    products: &[Product],
    format: &Format,
) -> Result<Vec<Scene>> {
    let mut scenes = Vec::with_capacity(inputs.len());
    for input in inputs {
        let outputs = match (&a.out, &a.output_dir) {
            (Some(out), _) => output_paths(out, products),
            (None, Some(dir)) => named_outputs(dir, &a.name_pattern, input, products, format)?,
            (None, None) => return Err(Error::invalid("give -o FILE or --output-dir DIR")),
        };
        let level = product_level(input);
        let model = level
            .as_ref()
            .map(|level| choose_model(a.model.as_deref(), *level))
            .map_err(Clone::clone);
        scenes.push(Scene {
            input: input.clone(),
            outputs,
            quicklook: a.quicklook.clone(),
            level: level.ok().flatten(),
            model,
            skip: false,
        });
    }
    Ok(scenes)
}

/// The outputs of `input` in `dir` by `pattern`; its folders are created.
fn named_outputs(
    dir: &Path,
    pattern: &str,
    input: &str,
    products: &[Product],
    format: &Format,
) -> Result<Vec<(Product, PathBuf)>> {
    let stem = product_stem(Path::new(input));
    let ext = format.extension();
    let name = |product: Product| {
        pattern
            .replace("{stem}", &stem)
            .replace("{product}", product.name())
            .replace("{ext}", &ext)
    };
    let outputs = if pattern.contains("{product}") {
        products.iter().map(|&p| (p, dir.join(name(p)))).collect()
    } else {
        output_paths(&dir.join(name(products[0])), products)
    };
    for (_, path) in &outputs {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::output(format!("cannot create folder {}: {e}", parent.display()))
            })?;
        }
    }
    Ok(outputs)
}

/// Refuses the run before any work when an output is an input's file or a model's, when two
/// outputs are one file, or when outputs exist and neither --overwrite nor --skip-existing was
/// given; with --skip-existing, marks the scenes whose outputs all exist.
pub fn check(
    a: &MaskArgs,
    scenes: &mut [Scene],
    settings: &JobSettings,
    models: &HashMap<String, ModelEntry>,
) -> Result<()> {
    let jobs: Vec<SceneJob> = scenes.iter().map(|s| s.job(a, settings)).collect();
    let job_refs: Vec<&SceneJob> = jobs.iter().collect();
    let model_refs: Vec<&ModelEntry> = models.values().collect();
    check_batch_outputs(&job_refs, &model_refs)?;
    let mut existing = Vec::new();
    for scene in scenes.iter_mut() {
        let (there, total) = scene.targets().fold((Vec::new(), 0), |(mut there, n), p| {
            if p.exists() {
                there.push(p.clone());
            }
            (there, n + 1)
        });
        scene.skip = a.skip_existing && there.len() == total;
        if !a.overwrite && !a.skip_existing {
            existing.extend(there);
        }
    }
    if let Some(first) = existing.first() {
        let more = match existing.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(Error::output(format!(
            "output {} exists{more}: nothing was masked; pass --overwrite to replace existing outputs, \
             or --skip-existing to skip the inputs whose outputs all exist",
            first.display()
        )));
    }
    Ok(())
}
