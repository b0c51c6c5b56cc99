//! The training loop: epochs of augmented patches, validation, checkpoints, early stopping and
//! the per-epoch JSON log.

use crate::checkpoint::{self, CheckpointInfo};
use crate::data::patches::{self, Augment};
use crate::files::write_json;
use crate::loss::{loss, LossKind};
use crate::metrics::Confusion;
use crate::nets::{NetSpec, Network};
use crate::optim::{learning_rate, AdamW};
use crate::prepare::{prepare, Prepared};
use crate::progress::Progress;
use crate::settings::Settings;
use cloudmask::error::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tch::{Device, Tensor};

/// Where a run writes: `last/` and `best/` checkpoints, `log.json`, and the exported model.
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn last(&self) -> PathBuf {
        self.0.join("last")
    }
    pub fn best(&self) -> PathBuf {
        self.0.join("best")
    }
    pub fn log(&self) -> PathBuf {
        self.0.join("log.json")
    }
}

pub struct Outcome {
    pub history: Vec<serde_json::Value>,
    /// Checkpoint to export: the best on validation, else the last.
    pub checkpoint: PathBuf,
}

/// How the run starts.
pub enum Start<'a> {
    Fresh,
    /// Continue the run whose last checkpoint is in this run folder.
    Resume(&'a Path),
}

/// Limits of this session (not of the run).
#[derive(Debug, Clone, Copy, Default)]
pub struct Session {
    pub quiet: bool,
    /// Stop after this many epochs of this session.
    pub stop_after: Option<usize>,
}

pub fn run(
    settings: &Settings,
    start: Start,
    out: &RunDir,
    device: Device,
    session: Session,
) -> Result<Outcome> {
    let quiet = session.quiet;
    let data = prepare(settings)?;
    let loss_kind = LossKind::parse(&settings.loss)
        .ok_or_else(|| Error::invalid(format!("--loss '{}': use ce or ce+dice", settings.loss)))?;
    let spec = NetSpec {
        arch: settings.arch.clone(),
        in_channels: settings.bands.len() as i64,
        classes: data.classes.len() as i64,
    };
    tch::manual_seed(settings.seed as i64);
    let (net, mut state) = start_state(settings, &start, &spec, &data, device)?;
    if !quiet {
        eprintln!(
            "{}: {} parameters; {} training patches, {} validation patches",
            spec.describe(),
            net.parameter_count(),
            data.pool.len(),
            data.val_patches.len()
        );
    }
    let mut opt = AdamW::new(&net.vs, settings.weight_decay);
    if let Start::Resume(dir) = start {
        checkpoint::load_optimizer(&RunDir(dir.to_path_buf()).last(), &mut opt)?;
    }
    std::fs::create_dir_all(&out.0)
        .map_err(|e| Error::output(format!("cannot create {}: {e}", out.0.display())))?;
    let steps_per_epoch = settings.patches_per_epoch.div_ceil(settings.batch);
    let trainer = Trainer {
        net: &net,
        data: &data,
        settings,
        loss_kind,
        weights: data.class_weights.as_ref().map(|w| {
            Tensor::from_slice(&w.iter().map(|&v| v as f32).collect::<Vec<_>>()).to_device(device)
        }),
        total_steps: (settings.epochs * steps_per_epoch) as i64,
        device,
    };
    let has_val = !data.val_patches.is_empty();

    let first = state.epoch + 1;
    let last = match session.stop_after {
        Some(n) => settings.epochs.min(state.epoch + n),
        None => settings.epochs,
    };
    for epoch in first..=last {
        let started = Instant::now();
        let mut progress = Progress::new(epoch, settings.epochs, steps_per_epoch, quiet);
        let (train_loss, train_conf) = trainer.epoch(epoch, &mut opt, &mut progress)?;
        let (entry, val_loss) = trainer.log_entry(epoch, train_loss, &train_conf, &opt, started);
        progress.finish(&entry);
        let improved = record(&mut state, epoch, entry, val_loss, has_val);
        checkpoint::save(&out.last(), &state, &net, Some(&opt))?;
        if improved {
            checkpoint::save(&out.best(), &state, &net, None)?;
        }
        write_json(&out.log(), &state.history)?;
        if has_val && state.stale_epochs >= settings.patience {
            if !quiet {
                eprintln!(
                    "early stop: no better validation loss for {} epochs (best {:.4} at epoch {})",
                    settings.patience,
                    state.best_val_loss.unwrap_or(f64::NAN),
                    state.best_epoch
                );
            }
            break;
        }
    }
    let checkpoint = if out.best().exists() {
        out.best()
    } else {
        out.last()
    };
    Ok(Outcome {
        history: state.history,
        checkpoint,
    })
}

/// The network and the run state the epochs continue: new (initialised from `--init-from` when
/// given) or the last checkpoint of the run being resumed.
fn start_state(
    settings: &Settings,
    start: &Start,
    spec: &NetSpec,
    data: &Prepared,
    device: Device,
) -> Result<(Network, CheckpointInfo)> {
    match start {
        Start::Fresh => {
            let mut net = Network::new(spec, device);
            if let Some(init) = &settings.init_from {
                init_weights(&mut net, Path::new(init))?;
            }
            let state = CheckpointInfo {
                format: checkpoint::FORMAT.to_string(),
                spec: spec.clone(),
                bands: settings.bands.clone(),
                classes: settings.classes.clone(),
                mean: data.norm.mean.clone(),
                std: data.norm.std.clone(),
                epoch: 0,
                settings: serde_json::to_value(settings).expect("settings serialise"),
                best_val_loss: None,
                best_epoch: 0,
                stale_epochs: 0,
                history: Vec::new(),
                data: data_summary(settings, data),
            };
            Ok((net, state))
        }
        Start::Resume(dir) => {
            let (info, net) =
                checkpoint::load_network(&RunDir(dir.to_path_buf()).last(), Some(spec), device)?;
            Ok((net, info))
        }
    }
}

/// Adds an epoch's log entry to the run state and keeps the early-stopping count; true when the
/// validation loss is the best so far.
fn record(
    state: &mut CheckpointInfo,
    epoch: usize,
    entry: serde_json::Value,
    val_loss: Option<f64>,
    has_val: bool,
) -> bool {
    state.epoch = epoch;
    state.history.push(entry);
    let improved = val_loss.is_some_and(|v| state.best_val_loss.map_or(true, |b| v < b));
    if improved {
        state.best_val_loss = val_loss;
        state.best_epoch = epoch;
        state.stale_epochs = 0;
    } else if has_val {
        state.stale_epochs += 1;
    }
    improved
}

/// What every step of a run uses: the network, its data and loss, and the schedule's length.
struct Trainer<'a> {
    net: &'a Network,
    data: &'a Prepared,
    settings: &'a Settings,
    loss_kind: LossKind,
    weights: Option<Tensor>,
    total_steps: i64,
    device: Device,
}

impl Trainer<'_> {
    /// One epoch of augmented training patches; returns the mean loss and the confusion.
    fn epoch(
        &self,
        epoch: usize,
        opt: &mut AdamW,
        progress: &mut Progress,
    ) -> Result<(f64, Confusion)> {
        let (settings, data) = (self.settings, self.data);
        let items = patches::epoch_patches(
            &data.pool,
            &data.train_regions,
            settings.patches_per_epoch,
            settings.seed,
            epoch as u64,
            settings.brightness,
        );
        let mut train_conf = Confusion::new(data.classes.len());
        let mut loss_sum = 0.0;
        for (step, chunk) in items.chunks(settings.batch).enumerate() {
            let (x, y) = patches::batch(&data.scenes, chunk, &data.norm, self.device);
            let logits = self.net.forward_t(&x, true);
            let l = loss(self.loss_kind, &logits, &y, self.weights.as_ref());
            opt.zero_grad();
            l.backward();
            let lr = learning_rate(settings.lr, opt.step, self.total_steps);
            opt.step(lr);
            let value = l.double_value(&[]);
            if !value.is_finite() {
                return Err(Error::new(
                    cloudmask::ErrorKind::Data,
                    format!(
                        "the loss became {value} at epoch {epoch} step {}; lower --lr",
                        step + 1
                    ),
                ));
            }
            loss_sum += value * chunk.len() as f64;
            train_conf.add(&logits.detach(), &y);
            progress.step(step + 1, value, &train_conf.iou());
        }
        Ok((loss_sum / items.len() as f64, train_conf))
    }

    /// The epoch's log entry, with the validation loss and IoU when there are validation
    /// patches; also returns the validation loss.
    fn log_entry(
        &self,
        epoch: usize,
        train_loss: f64,
        train_conf: &Confusion,
        opt: &AdamW,
        started: Instant,
    ) -> (serde_json::Value, Option<f64>) {
        let (val_loss, val_conf) = if !self.data.val_patches.is_empty() {
            let (l, c) = self.validate();
            (Some(l), Some(c))
        } else {
            (None, None)
        };
        let names = &self.settings.classes;
        let iou_map = |c: &Confusion| {
            serde_json::Value::Object(
                names
                    .iter()
                    .zip(c.iou())
                    .map(|(n, v)| (n.clone(), json_f64(v)))
                    .collect(),
            )
        };
        let lr = learning_rate(
            self.settings.lr,
            opt.step.saturating_sub(1),
            self.total_steps,
        );
        let entry = json!({
            "epoch": epoch,
            "train_loss": train_loss,
            "train_iou": iou_map(train_conf),
            "train_accuracy": train_conf.accuracy(),
            "val_loss": val_loss.map(json_f64),
            "val_iou": val_conf.as_ref().map(iou_map),
            "val_accuracy": val_conf.as_ref().map(|c| c.accuracy()),
            "learning_rate": lr,
            "steps": opt.step,
            "seconds": started.elapsed().as_secs_f64(),
        });
        (entry, val_loss)
    }

    /// Loss and confusion over the validation patches, evaluation mode.
    fn validate(&self) -> (f64, Confusion) {
        let data = self.data;
        let mut conf = Confusion::new(data.classes.len());
        let mut sum = 0.0;
        let items: Vec<_> = data
            .val_patches
            .iter()
            .map(|&p| (p, Augment::NONE))
            .collect();
        tch::no_grad(|| {
            for chunk in items.chunks(self.settings.batch) {
                let (x, y) = patches::batch(&data.scenes, chunk, &data.norm, self.device);
                let logits = self.net.forward_t(&x, false);
                let l = loss(self.loss_kind, &logits, &y, self.weights.as_ref());
                sum += l.double_value(&[]) * chunk.len() as f64;
                conf.add(&logits, &y);
            }
        });
        (sum / items.len().max(1) as f64, conf)
    }
}

/// Starts from another checkpoint's weights (fine-tuning). A full checkpoint must be of the same
/// network; a pretrained encoder (issue: pretraining) provides only the `encoder.` weights.
fn init_weights(net: &mut Network, dir: &Path) -> Result<()> {
    let info = checkpoint::read_info(dir)?;
    let same_kind =
        std::mem::discriminant(&info.spec.arch) == std::mem::discriminant(&net.spec.arch);
    if info.spec != net.spec && !(same_kind && info.spec.in_channels == net.spec.in_channels) {
        return Err(Error::model(format!(
            "--init-from {} holds a {}, which cannot initialise a {}",
            dir.display(),
            info.spec.describe(),
            net.spec.describe()
        )));
    }
    let named = Tensor::read_safetensors(dir.join("model.safetensors"))
        .map_err(|e| Error::input(format!("cannot read {}: {e}", dir.display())))?;
    let mut vars = net.vs.variables();
    let mut loaded = 0;
    tch::no_grad(|| {
        for (name, t) in &named {
            // A checkpoint with other classes keeps everything but the layer that outputs them.
            if let Some(v) = vars.get_mut(name) {
                if v.size() == t.size() {
                    v.copy_(t);
                    loaded += 1;
                }
            }
        }
    });
    if loaded == 0 {
        return Err(Error::model(format!(
            "--init-from {}: none of its weights fit the network",
            dir.display()
        )));
    }
    Ok(())
}

fn data_summary(s: &Settings, d: &Prepared) -> serde_json::Value {
    json!({
        "train_samples": s.train.iter().map(|x| json!({"image": x.image, "labels": x.labels, "window": x.window})).collect::<Vec<_>>(),
        "val_samples": s.val.len(),
        "val_fraction": if s.val.is_empty() { s.val_fraction } else { 0.0 },
        "label_map": s.label_map,
        "label_fraction": s.label_fraction,
        "training_patches": d.pool.len(),
        "validation_patches": d.val_patches.len(),
        "labelled_pixels": s.classes.iter().zip(&d.class_pixels).map(|(n, c)| (n.clone(), json!(c))).collect::<serde_json::Map<_, _>>(),
    })
}

fn json_f64(v: f64) -> serde_json::Value {
    if v.is_finite() {
        json!(v)
    } else {
        serde_json::Value::Null
    }
}
