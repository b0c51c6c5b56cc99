//! From settings to ready-to-train data: scenes loaded and checked, regions split into training
//! and validation, candidate patches, normalisation and class weights. Every check that can fail
//! runs here, before the first step.

use crate::data::labels::{LabelScheme, IGNORE};
use crate::data::patches::{self, Normalisation, Patch};
use crate::data::samples::Sample;
use crate::data::scene::{Scene, SceneSpec, Window};
use crate::settings::Settings;
use cloudmask::error::{Error, Result};
use cloudmask::model::classes::CommonClass;
use cloudmask::raster::bandmap::BandSelection;
use cloudmask::raster::scaling::Scaling;

pub struct Prepared {
    pub scenes: Vec<Scene>,
    /// Training region per training scene (scene index, window).
    pub train_regions: Vec<(usize, Window)>,
    /// Patches training draws from (after `label_fraction`).
    pub pool: Vec<Patch>,
    pub val_patches: Vec<Patch>,
    pub norm: Normalisation,
    pub class_weights: Option<Vec<f64>>,
    pub classes: Vec<CommonClass>,
    /// Labelled pixels per class in the training pool.
    pub class_pixels: Vec<u64>,
}

pub fn classes(names: &[String]) -> Result<Vec<CommonClass>> {
    let classes: Vec<CommonClass> = names
        .iter()
        .map(|n| {
            CommonClass::parse(n)
                .filter(|c| *c != CommonClass::Nodata)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "--classes: '{n}' is not a class (use clear, cloud, thin cloud, shadow)"
                    ))
                })
        })
        .collect::<Result<_>>()?;
    if classes.len() < 2 {
        return Err(Error::invalid("--classes needs at least two classes"));
    }
    Ok(classes)
}

/// The settings' own checks, before any scene is read; returns the classes they name.
fn check(s: &Settings) -> Result<Vec<CommonClass>> {
    if s.train.is_empty() {
        return Err(Error::invalid(
            "no training samples: give --image/--labels pairs or a --train-list",
        ));
    }
    if !(s.label_fraction > 0.0 && s.label_fraction <= 1.0) {
        return Err(Error::invalid("--label-fraction must be in (0, 1]"));
    }
    if !(0.0..0.9).contains(&s.val_fraction) {
        return Err(Error::invalid("--val-fraction must be in [0, 0.9)"));
    }
    if s.batch == 0 || s.epochs == 0 || s.patches_per_epoch == 0 {
        return Err(Error::invalid(
            "--batch, --epochs and --patches-per-epoch must be positive",
        ));
    }
    let classes = classes(&s.classes)?;
    let spec_multiple = crate::nets::NetSpec {
        arch: s.arch.clone(),
        in_channels: s.bands.len() as i64,
        classes: classes.len() as i64,
    }
    .size_multiple();
    if s.patch == 0 || s.patch % spec_multiple != 0 {
        return Err(Error::invalid(format!(
            "--patch {} must be a positive multiple of {spec_multiple} for {}",
            s.patch,
            s.arch.describe()
        )));
    }
    Ok(classes)
}

pub fn prepare(s: &Settings) -> Result<Prepared> {
    let classes = check(s)?;
    let scheme = LabelScheme::parse(&s.label_map)?;
    let lookup = scheme.lookup(&classes)?;
    let load = |sample: &Sample| {
        Scene::load(&SceneSpec {
            image: &sample.image,
            labels: &sample.labels,
            window: sample.window,
            band_names: &s.bands,
            selection: &BandSelection::Auto,
            scaling: Scaling::Auto,
            lookup: &lookup,
            scheme_name: &scheme.name,
        })
    };
    let mut scenes: Vec<Scene> = s.train.iter().map(load).collect::<Result<_>>()?;
    let n_train = scenes.len();
    let mut train_regions = Vec::new();
    let mut val_regions = Vec::new();
    if s.val.is_empty() {
        for (i, sc) in scenes.iter().enumerate() {
            let vh = (sc.height as f64 * s.val_fraction).round() as usize;
            let vh = if vh == 0 { 0 } else { vh.max(s.patch) };
            if vh > 0 && sc.height < vh + s.patch {
                return Err(Error::invalid(format!(
                    "{} is {} rows high: too small for a {}-pixel patch plus a validation strip; lower --patch or --val-fraction, or give --val-list",
                    sc.name, sc.height, s.patch
                )));
            }
            train_regions.push((i, (0, 0, sc.width, sc.height - vh)));
            if vh > 0 {
                val_regions.push((i, (0, sc.height - vh, sc.width, vh)));
            }
        }
    } else {
        for (i, sc) in scenes.iter().enumerate() {
            train_regions.push((i, (0, 0, sc.width, sc.height)));
        }
        for sample in &s.val {
            let sc = load(sample)?;
            val_regions.push((scenes.len(), (0, 0, sc.width, sc.height)));
            scenes.push(sc);
        }
    }
    for sc in &scenes[..n_train] {
        if sc.width < s.patch || sc.height < s.patch {
            return Err(Error::invalid(format!(
                "{} ({} x {}) is smaller than one {}-pixel patch; lower --patch",
                sc.name, sc.width, sc.height, s.patch
            )));
        }
    }
    let all = patches::candidates(&scenes, &train_regions, s.patch, s.patch / 2);
    if all.is_empty() {
        return Err(Error::invalid(format!(
            "no training patch of {0} x {0} pixels has at least half its pixels labelled; check the labels and --label-map",
            s.patch
        )));
    }
    let pool = patches::label_fraction(&all, s.label_fraction, s.seed);
    let val_patches = patches::candidates(&scenes, &val_regions, s.patch, s.patch);
    let norm = Normalisation::fit(&scenes, &pool);
    let class_pixels = count_classes(&scenes, &pool, classes.len());
    let class_weights = class_weights(&s.class_weights, &class_pixels)?;
    Ok(Prepared {
        scenes,
        train_regions,
        pool,
        val_patches,
        norm,
        class_weights,
        classes,
        class_pixels,
    })
}

fn count_classes(scenes: &[Scene], pool: &[Patch], k: usize) -> Vec<u64> {
    let mut counts = vec![0u64; k];
    let mut seen = std::collections::HashSet::new();
    for &(s, (x, y, w, h)) in pool {
        let sc = &scenes[s];
        for row in y..y + h {
            for col in x..x + w {
                let i = row * sc.width + col;
                if seen.insert((s, i)) && sc.labels[i] != IGNORE {
                    counts[sc.labels[i] as usize] += 1;
                }
            }
        }
    }
    counts
}

fn class_weights(spec: &str, pixels: &[u64]) -> Result<Option<Vec<f64>>> {
    match spec {
        "none" | "" => Ok(None),
        "auto" => {
            let total: u64 = pixels.iter().sum();
            let raw: Vec<f64> = pixels
                .iter()
                .map(|&n| (total as f64 / (n.max(1) as f64)).sqrt())
                .collect();
            let mean = raw.iter().sum::<f64>() / raw.len() as f64;
            Ok(Some(raw.iter().map(|w| w / mean).collect()))
        }
        list => {
            let w: Vec<f64> = list
                .split(',')
                .map(|v| v.trim().parse::<f64>().ok().filter(|w| *w >= 0.0))
                .collect::<Option<_>>()
                .ok_or_else(|| Error::invalid(format!("--class-weights '{list}': use none, auto or one non-negative number per class")))?;
            if w.len() != pixels.len() {
                return Err(Error::invalid(format!(
                    "--class-weights gives {} weights for {} classes",
                    w.len(),
                    pixels.len()
                )));
            }
            Ok(Some(w))
        }
    }
}
