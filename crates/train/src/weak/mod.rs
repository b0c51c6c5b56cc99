//! Weak supervision (WDCD, `cloudmask train --weak`): a cloud mask learnt from block labels.
//!
//! 1. [`blocks`]: cloudy / clear labels per block, listed or derived from a label raster by
//!    cloud fraction.
//! 2. [`net`]: a block classifier whose logit is the global pooling of a one-channel class
//!    activation map (CAM), trained with BCE on the blocks.
//! 3. [`cam`]: the network with its local pooling pruned gives a full-resolution CAM; sliding
//!    windows over a scene are mosaicked.
//! 4. [`threshold`]: the CAM over the pixels of clear blocks gives the statistical threshold.
//! 5. The pruned network is exported as a cloud-score ONNX model whose card carries the
//!    threshold; `cloudmask mask` turns its score into clear / cloud.
//!
//! The run folder holds `last/` (weights and `weak.json`: settings, normalisation, clear-sky
//! statistics, history), `log.json` and the exported `<name>.onnx`.

pub mod blocks;
pub mod cam;
pub mod net;
pub mod threshold;

use crate::cli::TrainArgs;
use crate::data::labels::{LabelScheme, IGNORE};
use crate::data::patches::{self, Augment, Normalisation, Patch};
use crate::data::samples::Sample;
use crate::data::scene::{Scene, SceneSpec, Window};
use crate::optim::{learning_rate, AdamW};
use blocks::{DeriveRule, ListedBlock};
use cloudmask::error::{Error, Result};
use cloudmask::model::bands::wavelength_nm;
use cloudmask::model::card::{
    BandSpec, ClassSpec, ModelCard, OutputKind, CARD_FORMAT, CARD_METADATA_KEY,
};
use cloudmask::model::classes::CommonClass;
use cloudmask::raster::bandmap::{model_band_key, BandSelection};
use cloudmask::raster::scaling::Scaling;
use cloudmask_tools::rng::Rng;
use net::{CamNet, CamSpec, Pool, Prune};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Tensor};
use threshold::ClearSky;

/// Checkpoint format of the weak path (`last/weak.json`).
pub const FORMAT: &str = "cloudmask-weak-checkpoint/1";

/// Where the block labels come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BlockSource {
    /// A CSV or JSON list of labelled blocks.
    List { path: String },
    /// Derived from label rasters by cloud fraction.
    Labels {
        samples: Vec<Sample>,
        label_map: String,
        rule: DeriveRule,
    },
}

/// Everything that defines a weak run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeakSettings {
    pub source: BlockSource,
    pub bands: Vec<String>,
    pub widths: Vec<i64>,
    pub pool: Pool,
    pub prune: Prune,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub brightness: f32,
    pub seed: u64,
    /// Blocks wholly in the bottom share of each scene validate instead of training.
    pub val_fraction: f64,
    /// Threshold: clear-sky CAM mean + k standard deviations.
    pub k: f64,
    /// Sliding window of the CAM mosaic (and the exported model's tile size), pixels.
    pub window: usize,
}

/// A block ready to train: scene index, window, label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    pub scene: usize,
    pub window: Window,
    pub cloudy: bool,
}

/// `cloudmask train --weak FILE` or `--weak-from-labels`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let device = crate::device(&a.compute)?;
    let settings = settings_from_args(a)?;
    let out = a
        .out
        .clone()
        .ok_or_else(|| Error::invalid("give the run folder with --out DIR"))?;
    let name = a.name.clone().unwrap_or_else(|| {
        out.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cloudmask-weak".to_string())
    });
    let outcome = train(&settings, &out, device, a.quiet)?;
    let model = out.join(format!("{name}.onnx"));
    export(&outcome, &settings, &model, &name)?;
    if !a.quiet {
        eprintln!(
            "threshold: CAM > {:.4} (clear-sky mean {:.4} + {} x std {:.4}, over {} pixels of clear blocks); checkpoint {}; model {}; log {}",
            outcome.clear_sky.threshold(),
            outcome.clear_sky.mean,
            outcome.clear_sky.k,
            outcome.clear_sky.std,
            outcome.clear_sky.pixels,
            outcome.checkpoint.display(),
            model.display(),
            out.join("log.json").display()
        );
    }
    Ok(())
}

fn settings_from_args(a: &TrainArgs) -> Result<WeakSettings> {
    let source = match (&a.weak, a.weak_from_labels) {
        (Some(_), true) => {
            return Err(Error::invalid(
                "give either --weak BLOCKS (a block list) or --weak-from-labels, not both",
            ))
        }
        (Some(path), false) => {
            if !a.images.is_empty() || a.train_list.is_some() {
                return Err(Error::invalid(
                    "--weak BLOCKS names its images itself; --image/--labels/--train-list go with --weak-from-labels",
                ));
            }
            BlockSource::List {
                path: path.to_string_lossy().into_owned(),
            }
        }
        (None, _) => {
            if a.images.len() != a.labels.len() {
                return Err(Error::invalid(format!(
                    "{} --image but {} --labels: give them in pairs",
                    a.images.len(),
                    a.labels.len()
                )));
            }
            let mut samples: Vec<Sample> = a
                .images
                .iter()
                .zip(&a.labels)
                .map(|(image, labels)| Sample {
                    image: image.clone(),
                    labels: labels.clone(),
                    window: None,
                })
                .collect();
            if let Some(list) = &a.train_list {
                samples.extend(crate::data::samples::read_list(list)?);
            }
            if samples.is_empty() {
                return Err(Error::invalid(
                    "--weak-from-labels derives block labels from --image/--labels pairs (or a --train-list); none given",
                ));
            }
            let rule = DeriveRule {
                size: a.weak_block,
                stride: a.weak_stride.unwrap_or(a.weak_block / 2).max(1),
                clear_max: a.weak_clear_max,
                cloudy_min: a.weak_cloudy_min,
            };
            rule.check()?;
            BlockSource::Labels {
                samples,
                label_map: a.label_map.clone(),
                rule,
            }
        }
    };
    let bands = if !a.bands.is_empty() {
        a.bands.iter().map(|b| model_band_key(b)).collect()
    } else {
        let first = match &source {
            BlockSource::List { path } => blocks::read_list(Path::new(path))?[0].image.clone(),
            BlockSource::Labels { samples, .. } => samples[0].image.clone(),
        };
        crate::bands_of(&first)?
    };
    let pool = Pool::parse(&a.weak_pool).ok_or_else(|| {
        Error::invalid(format!(
            "--weak-pool {}: use mean, max, lse or lse:R (R > 0)",
            a.weak_pool
        ))
    })?;
    let prune = Prune::parse(&a.weak_prune).ok_or_else(|| {
        Error::invalid(format!("--weak-prune {}: use dilate or drop", a.weak_prune))
    })?;
    if a.weak_widths.is_empty() || a.weak_widths.iter().any(|w| *w <= 0) {
        return Err(Error::invalid(
            "--weak-widths needs positive widths, one per level (e.g. 16,32,64)",
        ));
    }
    if a.weak_batch == 0 || a.epochs == Some(0) || a.weak_window == 0 {
        return Err(Error::invalid(
            "--weak-batch, --epochs and --weak-window must be positive",
        ));
    }
    if !(0.0..0.9).contains(&a.val_fraction) {
        return Err(Error::invalid("--val-fraction must be in [0, 0.9)"));
    }
    if !a.weak_k.is_finite() {
        return Err(Error::invalid("--weak-k must be a number"));
    }
    Ok(WeakSettings {
        source,
        bands,
        widths: a.weak_widths.clone(),
        pool,
        prune,
        epochs: a.epochs.unwrap_or(20),
        batch: a.weak_batch,
        lr: a.lr,
        weight_decay: a.weight_decay,
        brightness: a.brightness,
        seed: a.seed,
        val_fraction: a.val_fraction,
        k: a.weak_k,
        window: a.weak_window,
    })
}

/// Scenes (bands only: labels are reduced to "has data") and their labelled blocks.
pub fn load(s: &WeakSettings) -> Result<(Vec<Scene>, Vec<Block>)> {
    let (mut scenes, blocks) = match &s.source {
        BlockSource::List { path } => load_list(Path::new(path), &s.bands)?,
        BlockSource::Labels {
            samples,
            label_map,
            rule,
        } => load_derived(samples, label_map, rule, &s.bands)?,
    };
    // From here on nothing but the block labels supervises: pixel labels are forgotten.
    for sc in &mut scenes {
        for l in &mut sc.labels {
            if *l != IGNORE {
                *l = 0;
            }
        }
    }
    if !blocks.iter().any(|b| b.cloudy) || blocks.iter().all(|b| b.cloudy) {
        return Err(Error::invalid(format!(
            "the block labels hold {} cloudy and {} clear blocks: training needs both (change --weak-clear-max / --weak-cloudy-min or --weak-block)",
            blocks.iter().filter(|b| b.cloudy).count(),
            blocks.iter().filter(|b| !b.cloudy).count()
        )));
    }
    Ok((scenes, blocks))
}

fn load_list(path: &Path, bands: &[String]) -> Result<(Vec<Scene>, Vec<Block>)> {
    let listed: Vec<ListedBlock> = blocks::read_list(path)?;
    let mut images: Vec<String> = Vec::new();
    let mut scenes: Vec<Scene> = Vec::new();
    let mut out = Vec::new();
    for b in listed {
        let scene = match images.iter().position(|i| *i == b.image) {
            Some(i) => i,
            None => {
                scenes.push(Scene::load_unlabelled(&b.image, bands)?);
                images.push(b.image.clone());
                images.len() - 1
            }
        };
        let sc = &scenes[scene];
        let (x, y, w, h) = b.window;
        if x + w > sc.width || y + h > sc.height {
            return Err(Error::window(format!(
                "{}: block {x} {y} {w} {h} does not fit {} ({} x {})",
                path.display(),
                b.image,
                sc.width,
                sc.height
            )));
        }
        out.push(Block {
            scene,
            window: b.window,
            cloudy: b.cloudy,
        });
    }
    Ok((scenes, out))
}

fn load_derived(
    samples: &[Sample],
    label_map: &str,
    rule: &DeriveRule,
    bands: &[String],
) -> Result<(Vec<Scene>, Vec<Block>)> {
    use CommonClass::{Clear, Cloud, Shadow};
    let scheme = LabelScheme::parse(label_map)?;
    // Thin cloud falls back to cloud; every other class is "not cloud".
    let lookup = scheme.lookup(&[Clear, Cloud, Shadow])?;
    let mut scenes = Vec::new();
    let mut out = Vec::new();
    for sample in samples {
        let sc = Scene::load(&SceneSpec {
            image: &sample.image,
            labels: &sample.labels,
            window: sample.window,
            band_names: bands,
            selection: &BandSelection::Auto,
            scaling: Scaling::Auto,
            lookup: &lookup,
            scheme_name: &scheme.name,
        })?;
        let cloud: Vec<Option<bool>> = sc
            .labels
            .iter()
            .map(|&l| (l != IGNORE).then_some(l == 1))
            .collect();
        if sc.width < rule.size || sc.height < rule.size {
            return Err(Error::invalid(format!(
                "{} ({} x {}) is smaller than one {}-pixel block; lower --weak-block",
                sc.name, sc.width, sc.height, rule.size
            )));
        }
        let scene = scenes.len();
        out.extend(
            blocks::derive(&cloud, sc.width, sc.height, rule)
                .into_iter()
                .map(|(window, cloudy)| Block {
                    scene,
                    window,
                    cloudy,
                }),
        );
        scenes.push(sc);
    }
    Ok((scenes, out))
}

/// Training and validation blocks: a block wholly inside the bottom `fraction` of its scene
/// validates, one crossing into it is dropped (its pixels would be seen by both).
pub fn split(scenes: &[Scene], blocks: &[Block], fraction: f64) -> (Vec<Block>, Vec<Block>) {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for b in blocks {
        let h = scenes[b.scene].height;
        let top = h - (h as f64 * fraction).round() as usize;
        let (_, y, _, bh) = b.window;
        if fraction == 0.0 || y + bh <= top {
            train.push(*b);
        } else if y >= top {
            val.push(*b);
        }
    }
    (train, val)
}

/// What a training run leaves: the network, its normalisation and clear-sky statistics.
pub struct Outcome {
    pub net: CamNet,
    pub norm: Normalisation,
    pub clear_sky: ClearSky,
    pub history: Vec<serde_json::Value>,
    pub blocks: (usize, usize),
    pub checkpoint: PathBuf,
}

/// Trains the block classifier, fits the threshold and writes the checkpoint and log.
pub fn train(s: &WeakSettings, out: &Path, device: Device, quiet: bool) -> Result<Outcome> {
    let (scenes, all_blocks) = load(s)?;
    let (train_blocks, val_blocks) = split(&scenes, &all_blocks, s.val_fraction);
    let cloudy = train_blocks.iter().filter(|b| b.cloudy).count();
    if cloudy == 0 || cloudy == train_blocks.len() {
        return Err(Error::invalid(format!(
            "after holding out the bottom --val-fraction {} of each scene, the training blocks are {cloudy} cloudy and {} clear: training needs both; lower --val-fraction",
            s.val_fraction,
            train_blocks.len() - cloudy
        )));
    }
    let side = train_blocks[0].window.2;
    let spec = CamSpec {
        in_channels: s.bands.len() as i64,
        widths: s.widths.clone(),
        pool: s.pool,
    };
    let patches: Vec<Patch> = train_blocks.iter().map(|b| (b.scene, b.window)).collect();
    let norm = Normalisation::fit(&scenes, &patches);
    tch::manual_seed(s.seed as i64);
    let net = CamNet::new(&spec, device);
    if !quiet {
        eprintln!(
            "training {} ({} parameters) on {} blocks of {side} px ({cloudy} cloudy, {} clear; {} validation) for {} epochs on {}",
            spec.describe(),
            net.parameter_count(),
            train_blocks.len(),
            train_blocks.len() - cloudy,
            val_blocks.len(),
            s.epochs,
            if device == Device::Cpu { "CPU".to_string() } else { format!("{device:?}") }
        );
    }
    // Both classes weigh the same in the loss, whatever their counts.
    let class_weight = |is_cloudy: bool| {
        let n = if is_cloudy {
            cloudy
        } else {
            train_blocks.len() - cloudy
        };
        train_blocks.len() as f64 / (2.0 * n.max(1) as f64)
    };
    std::fs::create_dir_all(out)
        .map_err(|e| Error::output(format!("cannot create {}: {e}", out.display())))?;
    let mut opt = AdamW::new(&net.vs, s.weight_decay);
    let steps_per_epoch = train_blocks.len().div_ceil(s.batch);
    let total = (s.epochs * steps_per_epoch) as i64;
    let mut history = Vec::new();
    for epoch in 1..=s.epochs {
        let started = Instant::now();
        let mut order = train_blocks.clone();
        let mut rng = Rng::derived(s.seed, epoch as u64, 7);
        rng.shuffle(&mut order);
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for chunk in order.chunks(s.batch) {
            let items: Vec<(Patch, Augment)> = chunk
                .iter()
                .map(|b| ((b.scene, b.window), Augment::random(&mut rng, s.brightness)))
                .collect();
            let (x, _) = patches::batch(&scenes, &items, &norm, device);
            let (target, weight) = targets(chunk, &class_weight, device);
            let (logit, _) = net.forward_block(&x, true);
            let loss = logit.binary_cross_entropy_with_logits(
                &target,
                Some(&weight),
                None::<&Tensor>,
                tch::Reduction::Mean,
            );
            opt.zero_grad();
            loss.backward();
            opt.step(learning_rate(s.lr, opt.step, total));
            let value = loss.double_value(&[]);
            if !value.is_finite() {
                return Err(Error::new(
                    cloudmask::ErrorKind::Data,
                    format!("the loss became {value} at epoch {epoch}; lower --lr"),
                ));
            }
            loss_sum += value * chunk.len() as f64;
            correct += hits(&logit, chunk);
        }
        let (val_loss, val_accuracy) = if val_blocks.is_empty() {
            (None, None)
        } else {
            let (l, acc) = evaluate(
                &net,
                &scenes,
                &val_blocks,
                &norm,
                s.batch,
                &class_weight,
                device,
            );
            (Some(l), Some(acc))
        };
        let entry = json!({
            "epoch": epoch,
            "train_loss": loss_sum / train_blocks.len() as f64,
            "train_accuracy": correct as f64 / train_blocks.len() as f64,
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "learning_rate": learning_rate(s.lr, opt.step.saturating_sub(1), total),
            "steps": opt.step,
            "seconds": started.elapsed().as_secs_f64(),
        });
        if !quiet {
            let f = |k: &str| {
                entry[k]
                    .as_f64()
                    .map(|v| format!("{v:.4}"))
                    .unwrap_or("-".into())
            };
            eprintln!(
                "epoch {epoch}/{}: block loss {} accuracy {} | val loss {} accuracy {} | {:.1}s",
                s.epochs,
                f("train_loss"),
                f("train_accuracy"),
                f("val_loss"),
                f("val_accuracy"),
                entry["seconds"].as_f64().unwrap_or(0.0)
            );
        }
        history.push(entry);
        write_json(&out.join("log.json"), &json!(history))?;
    }
    // The statistical threshold, over the pixels of every clear block (training and validation).
    let started = Instant::now();
    let mut parts = Vec::new();
    let how = cam::Sliding {
        prune: s.prune,
        window: s.window,
        step: s.window / 2,
    };
    for (i, sc) in scenes.iter().enumerate() {
        let mut clear = vec![false; sc.width * sc.height];
        for b in all_blocks.iter().filter(|b| b.scene == i && !b.cloudy) {
            let (x, y, w, h) = b.window;
            for r in y..y + h {
                clear[r * sc.width + x..r * sc.width + x + w].fill(true);
            }
        }
        for (c, &l) in clear.iter_mut().zip(&sc.labels) {
            *c &= l != IGNORE;
        }
        let cam = cam::scene_cam(&net, &scenes, i, &norm, how, Some(&clear), device);
        parts.extend(ClearSky::fit(&cam, &clear, s.k));
    }
    let clear_sky = ClearSky::pool(&parts)
        .ok_or_else(|| Error::invalid("no clear-block pixel to fit the threshold on"))?;
    if let Some(last) = history.last_mut() {
        last["clear_sky"] = json!(clear_sky);
        last["threshold"] = json!(clear_sky.threshold());
        last["threshold_seconds"] = json!(started.elapsed().as_secs_f64());
    }
    write_json(&out.join("log.json"), &json!(history))?;
    let checkpoint = out.join("last");
    save_checkpoint(
        &checkpoint,
        &Checkpoint {
            format: FORMAT.to_string(),
            spec: spec.clone(),
            settings: s.clone(),
            mean: norm.mean.clone(),
            std: norm.std.clone(),
            clear_sky,
            history: history.clone(),
        },
        &net,
    )?;
    Ok(Outcome {
        net,
        norm,
        clear_sky,
        history,
        blocks: (cloudy, train_blocks.len() - cloudy),
        checkpoint,
    })
}

fn targets(
    blocks: &[Block],
    class_weight: &dyn Fn(bool) -> f64,
    device: Device,
) -> (Tensor, Tensor) {
    let t: Vec<f32> = blocks
        .iter()
        .map(|b| f32::from(u8::from(b.cloudy)))
        .collect();
    let w: Vec<f32> = blocks
        .iter()
        .map(|b| class_weight(b.cloudy) as f32)
        .collect();
    (
        Tensor::from_slice(&t).to_device(device),
        Tensor::from_slice(&w).to_device(device),
    )
}

/// Blocks whose logit has the label's sign.
fn hits(logit: &Tensor, blocks: &[Block]) -> usize {
    let l = Vec::<f32>::try_from(logit.detach().to_device(Device::Cpu)).expect("f32 logits");
    l.iter()
        .zip(blocks)
        .filter(|(v, b)| (**v > 0.0) == b.cloudy)
        .count()
}

/// Loss and accuracy over blocks, evaluation mode, no augmentation.
fn evaluate(
    net: &CamNet,
    scenes: &[Scene],
    blocks: &[Block],
    norm: &Normalisation,
    batch: usize,
    class_weight: &dyn Fn(bool) -> f64,
    device: Device,
) -> (f64, f64) {
    let (mut loss, mut correct) = (0.0, 0);
    tch::no_grad(|| {
        for chunk in blocks.chunks(batch) {
            let items: Vec<(Patch, Augment)> = chunk
                .iter()
                .map(|b| ((b.scene, b.window), Augment::NONE))
                .collect();
            let (x, _) = patches::batch(scenes, &items, norm, device);
            let (target, weight) = targets(chunk, class_weight, device);
            let (logit, _) = net.forward_block(&x, false);
            let l = logit.binary_cross_entropy_with_logits(
                &target,
                Some(&weight),
                None::<&Tensor>,
                tch::Reduction::Mean,
            );
            loss += l.double_value(&[]) * chunk.len() as f64;
            correct += hits(&logit, chunk);
        }
    });
    (
        loss / blocks.len() as f64,
        correct as f64 / blocks.len() as f64,
    )
}

/// `last/weak.json` beside `last/model.safetensors`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    pub spec: CamSpec,
    pub settings: WeakSettings,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub clear_sky: ClearSky,
    pub history: Vec<serde_json::Value>,
}

fn save_checkpoint(dir: &Path, info: &Checkpoint, net: &CamNet) -> Result<()> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::output(format!("cannot write checkpoint {}: {e}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    net.vs
        .save(dir.join("model.safetensors"))
        .map_err(|e| fail(&e))?;
    write_json(&dir.join("weak.json"), &json!(info))
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(value).expect("JSON serialises");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| Error::output(format!("cannot write {}: {e}", path.display())))
}

/// The card of the exported CAM model.
pub fn card(s: &WeakSettings, o: &Outcome, name: &str) -> ModelCard {
    let class = |id: u8, k: CommonClass| ClassSpec {
        id,
        name: k.name().to_string(),
        colour: k.colour(),
        common: k.name().to_string(),
    };
    ModelCard {
        format: CARD_FORMAT.to_string(),
        name: name.to_string(),
        version: format!("{}-weak-epoch{}", env!("CARGO_PKG_VERSION"), o.history.len()),
        description: format!(
            "{} trained with cloudmask train --weak from {} cloudy and {} clear blocks: a class activation map, cloud where it exceeds the clear-sky mean + {} std",
            o.net.spec.describe(),
            o.blocks.0,
            o.blocks.1,
            s.k
        ),
        licence: "as the training data".to_string(),
        product_level: "any".to_string(),
        bands: s
            .bands
            .iter()
            .map(|b| BandSpec {
                name: b.clone(),
                wavelength_nm: wavelength_nm(b),
            })
            .collect(),
        reflectance_scale: 1.0,
        mean: o.norm.mean.clone(),
        std: o.norm.std.clone(),
        classes: vec![class(0, CommonClass::Clear), class(1, CommonClass::Cloud)],
        output: OutputKind::CloudScore {
            threshold: o.clear_sky.score_threshold(),
        },
        tile_size: s.window,
        context: o.net.spec.reach(s.prune),
        size_multiple: 1,
        resolution_m: None,
        training: json!({
            "method": "wdcd",
            "network": o.net.spec,
            "block_cam_stride": o.net.spec.stride(),
            "prune": s.prune,
            "epochs": o.history.len(),
            "blocks": {"cloudy": o.blocks.0, "clear": o.blocks.1, "source": s.source},
            "clear_sky": o.clear_sky,
            "cam_threshold": o.clear_sky.threshold(),
            "score": "sigmoid((CAM - clear_sky.mean) / clear_sky.std)",
            "settings": s,
            "metrics": o.history.last(),
            "framework": "libtorch via tch 0.26.0",
        }),
    }
}

/// Writes the pruned CAM network as a cloud-score ONNX model with its card.
pub fn export(o: &Outcome, s: &WeakSettings, path: &Path, name: &str) -> Result<ModelCard> {
    let card = card(s, o, name);
    card.validate()?;
    let bytes = o.net.to_onnx(
        s.prune,
        o.clear_sky.mean,
        o.clear_sky.std,
        &[(CARD_METADATA_KEY.to_string(), card.to_json())],
    );
    cloudmask::onnx::inspect(&bytes)
        .map_err(|e| Error::model(format!("the exported graph does not read back: {e}")))?;
    let tmp = path.with_extension("onnx.tmp");
    std::fs::write(&tmp, &bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::output(format!("cannot write {}: {e}", path.display()))
        })?;
    Ok(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(w: usize, h: usize) -> Scene {
        Scene {
            name: "s".into(),
            width: w,
            height: h,
            bands: vec![0.0; w * h],
            n_bands: 1,
            labels: vec![0; w * h],
        }
    }

    /// The exported file computes the pruned network's cloud score: libtorch against ONNX
    /// Runtime (loaded through the engine's model loader, so the card is checked too).
    #[test]
    fn the_exported_model_outputs_the_standardised_cam_score() {
        for prune in [Prune::Drop, Prune::Dilate] {
            tch::manual_seed(5);
            let spec = CamSpec {
                in_channels: 6,
                widths: vec![8, 16, 32],
                pool: Pool::Lse { r: 2.0 },
            };
            let net = CamNet::new(&spec, Device::Cpu);
            tch::no_grad(|| {
                for _ in 0..3 {
                    let x = Tensor::randn([4, 6, 32, 32], (tch::Kind::Float, Device::Cpu));
                    let _ = net.forward_block(&(x * 2.0 + 0.3), true);
                }
            });
            let settings = WeakSettings {
                source: BlockSource::List {
                    path: "blocks.csv".into(),
                },
                bands: ["blue", "green", "red", "nir", "swir16", "swir22"]
                    .map(String::from)
                    .to_vec(),
                widths: spec.widths.clone(),
                pool: spec.pool,
                prune,
                epochs: 1,
                batch: 4,
                lr: 1e-3,
                weight_decay: 0.0,
                brightness: 0.0,
                seed: 0,
                val_fraction: 0.0,
                k: 2.0,
                window: 64,
            };
            let clear_sky = ClearSky {
                mean: -0.3,
                std: 0.7,
                k: 2.0,
                pixels: 1,
            };
            let outcome = Outcome {
                net,
                norm: Normalisation {
                    mean: vec![0.1; 6],
                    std: vec![0.2; 6],
                },
                clear_sky,
                history: Vec::new(),
                blocks: (1, 1),
                checkpoint: PathBuf::new(),
            };
            let dir = std::env::temp_dir().join(format!("cm-weak-export-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("{prune:?}.onnx"));
            let card = export(&outcome, &settings, &path, "weak-parity").unwrap();
            assert_eq!(card.output.threshold(), Some(threshold::sigmoid(2.0)));
            let x = Tensor::randn([2, 6, 40, 40], (tch::Kind::Float, Device::Cpu));
            let cam = tch::no_grad(|| outcome.net.forward_cam(&x, prune));
            let cam = Vec::<f32>::try_from(cam.flatten(0, -1)).unwrap();
            let model = match cloudmask::Model::load(
                path.to_str().unwrap(),
                &cloudmask::ModelOptions::default(),
            ) {
                Ok(m) => m,
                Err(e) if e.kind == cloudmask::ErrorKind::RuntimeNotFound => {
                    eprintln!("skipping: ONNX Runtime not found ({e})");
                    return;
                }
                Err(e) => panic!("{e}"),
            };
            let input = Vec::<f32>::try_from(x.flatten(0, -1)).unwrap();
            let got = model.run(&input, 2, 40).unwrap();
            assert_eq!(got.len(), cam.len());
            let diff = got
                .iter()
                .zip(&cam)
                .map(|(g, c)| (*g as f64 - clear_sky.score(*c as f64)).abs())
                .fold(0f64, f64::max);
            let _ = std::fs::remove_dir_all(&dir);
            eprintln!("{prune:?}: max abs score difference {diff:e}");
            assert!(diff < 1e-5, "{prune:?}: {diff}");
        }
    }

    #[test]
    fn validation_blocks_lie_wholly_in_the_bottom_strip() {
        let scenes = [scene(64, 64)];
        let b = |y: usize| Block {
            scene: 0,
            window: (0, y, 16, 16),
            cloudy: false,
        };
        let blocks = [b(0), b(32), b(40), b(48)];
        // Bottom quarter: rows 48..64.
        let (train, val) = split(&scenes, &blocks, 0.25);
        assert_eq!(train, [b(0), b(32)]);
        assert_eq!(val, [b(48)]);
        let (train, val) = split(&scenes, &blocks, 0.0);
        assert_eq!((train.len(), val.len()), (4, 0));
    }
}
