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
mod export;
pub mod net;
mod scenes;
mod settings;
pub mod threshold;

pub use export::{export, Checkpoint};
pub use scenes::{load, split, Block};
pub use settings::{BlockSource, WeakSettings};

use crate::cli::TrainArgs;
use crate::data::labels::IGNORE;
use crate::data::patches::{self, Augment, Normalisation, Patch};
use crate::data::scene::Scene;
use crate::files::write_json;
use crate::optim::{learning_rate, AdamW};
use cloudmask::error::{Error, Result};
use cloudmask_tools::rng::Rng;
use export::save_checkpoint;
use net::{CamNet, CamSpec};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Tensor};
use threshold::ClearSky;

/// Checkpoint format of the weak path (`last/weak.json`).
pub const FORMAT: &str = "cloudmask-weak-checkpoint/1";

/// `cloudmask train --weak FILE` or `--weak-from-labels`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let device = crate::device(&a.compute)?;
    let settings = settings::settings_from_args(a)?;
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
    let trainer = BlockTrainer {
        net: &net,
        scenes: &scenes,
        norm: &norm,
        s,
        class_weight: &class_weight,
        device,
    };
    let mut history = trainer.epochs(&train_blocks, &val_blocks, out, quiet)?;
    let started = Instant::now();
    let clear_sky = fit_clear_sky(&net, &scenes, &all_blocks, &norm, s, device)?;
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

fn print_epoch(entry: &serde_json::Value, epoch: usize, epochs: usize) {
    let f = |k: &str| {
        entry[k]
            .as_f64()
            .map(|v| format!("{v:.4}"))
            .unwrap_or("-".into())
    };
    eprintln!(
        "epoch {epoch}/{epochs}: block loss {} accuracy {} | val loss {} accuracy {} | {:.1}s",
        f("train_loss"),
        f("train_accuracy"),
        f("val_loss"),
        f("val_accuracy"),
        entry["seconds"].as_f64().unwrap_or(0.0)
    );
}

/// The statistical threshold, over the pixels of every clear block (training and validation).
fn fit_clear_sky(
    net: &CamNet,
    scenes: &[Scene],
    all_blocks: &[Block],
    norm: &Normalisation,
    s: &WeakSettings,
    device: Device,
) -> Result<ClearSky> {
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
        let cam = cam::scene_cam(net, scenes, i, norm, how, Some(&clear), device);
        parts.extend(ClearSky::fit(&cam, &clear, s.k));
    }
    ClearSky::pool(&parts)
        .ok_or_else(|| Error::invalid("no clear-block pixel to fit the threshold on"))
}

/// What every batch of blocks uses: the network, the scenes and their normalisation, and the
/// class weights of the loss.
struct BlockTrainer<'a> {
    net: &'a CamNet,
    scenes: &'a [Scene],
    norm: &'a Normalisation,
    s: &'a WeakSettings,
    class_weight: &'a dyn Fn(bool) -> f64,
    device: Device,
}

impl BlockTrainer<'_> {
    /// Every epoch: training, validation when there are validation blocks, and the log written
    /// after each; returns the log.
    fn epochs(
        &self,
        train_blocks: &[Block],
        val_blocks: &[Block],
        out: &Path,
        quiet: bool,
    ) -> Result<Vec<serde_json::Value>> {
        let s = self.s;
        let mut opt = AdamW::new(&self.net.vs, s.weight_decay);
        let steps_per_epoch = train_blocks.len().div_ceil(s.batch);
        let total = (s.epochs * steps_per_epoch) as i64;
        let mut history = Vec::new();
        for epoch in 1..=s.epochs {
            let started = Instant::now();
            let (loss_sum, correct) = self.epoch(epoch, train_blocks, &mut opt, total)?;
            let (val_loss, val_accuracy) = if val_blocks.is_empty() {
                (None, None)
            } else {
                let (l, acc) = self.evaluate(val_blocks);
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
                print_epoch(&entry, epoch, s.epochs);
            }
            history.push(entry);
            write_json(&out.join("log.json"), &json!(history))?;
        }
        Ok(history)
    }

    /// One epoch over the training blocks in a shuffled order, augmented; returns the loss summed
    /// over blocks and the blocks classified right.
    fn epoch(
        &self,
        epoch: usize,
        blocks: &[Block],
        opt: &mut AdamW,
        total: i64,
    ) -> Result<(f64, usize)> {
        let s = self.s;
        let mut order = blocks.to_vec();
        let mut rng = Rng::derived(s.seed, epoch as u64, 7);
        rng.shuffle(&mut order);
        let (mut loss_sum, mut correct) = (0.0, 0usize);
        for chunk in order.chunks(s.batch) {
            let items: Vec<(Patch, Augment)> = chunk
                .iter()
                .map(|b| ((b.scene, b.window), Augment::random(&mut rng, s.brightness)))
                .collect();
            let (logit, loss) = self.forward(chunk, &items, true);
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
        Ok((loss_sum, correct))
    }

    /// Loss and accuracy over blocks, evaluation mode, no augmentation.
    fn evaluate(&self, blocks: &[Block]) -> (f64, f64) {
        let (mut loss, mut correct) = (0.0, 0);
        tch::no_grad(|| {
            for chunk in blocks.chunks(self.s.batch) {
                let items: Vec<(Patch, Augment)> = chunk
                    .iter()
                    .map(|b| ((b.scene, b.window), Augment::NONE))
                    .collect();
                let (logit, l) = self.forward(chunk, &items, false);
                loss += l.double_value(&[]) * chunk.len() as f64;
                correct += hits(&logit, chunk);
            }
        });
        (
            loss / blocks.len() as f64,
            correct as f64 / blocks.len() as f64,
        )
    }

    /// The blocks' logits and their class-weighted BCE loss.
    fn forward(
        &self,
        chunk: &[Block],
        items: &[(Patch, Augment)],
        train: bool,
    ) -> (Tensor, Tensor) {
        let (x, _) = patches::batch(self.scenes, items, self.norm, self.device);
        let (target, weight) = targets(chunk, self.class_weight, self.device);
        let (logit, _) = self.net.forward_block(&x, train);
        let loss = logit.binary_cross_entropy_with_logits(
            &target,
            Some(&weight),
            None::<&Tensor>,
            tch::Reduction::Mean,
        );
        (logit, loss)
    }
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

#[cfg(test)]
mod tests {
    use super::net::{Pool, Prune};
    use super::*;

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
            let dir = crate::files::scratch_dir("cm-weak-export");
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
}
