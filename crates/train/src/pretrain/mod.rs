//! `cloudmask pretrain`: self-supervised pretraining of the ResNet-18 encoder on unlabelled
//! rasters (MoCo v2, DeepCluster, SeCo). The result is a checkpoint whose `encoder.*` weights
//! `cloudmask train --arch resnet18 --init-from RUN/encoder` fine-tunes.

pub mod deepcluster;
pub mod heads;
pub mod kmeans;
pub mod moco;
pub mod momentum;
pub mod queue;
pub mod seco;
pub mod views;

use crate::checkpoint::{self, CheckpointInfo};
use crate::cli::PretrainArgs;
use crate::data::patches::{self, Normalisation, Patch};
use crate::data::scene::Scene;
use crate::nets::{Arch, NetSpec, Network};
use crate::optim::learning_rate;
use cloudmask::error::{Error, Result};
use cloudmask_tools::rng::Rng;
use serde_json::json;

use std::time::Instant;
use tch::Device;
use views::{Jitter, ViewAug};

/// Unlabelled scenes, the patch windows views are cut from, and the normalisation.
pub struct PretrainData {
    pub scenes: Vec<Scene>,
    pub pool: Vec<Patch>,
    pub norm: Normalisation,
    pub bands: Vec<String>,
}

pub fn load_data(images: &[String], bands: &[String], window: usize) -> Result<PretrainData> {
    if images.is_empty() {
        return Err(Error::invalid(
            "no images to pretrain on: give --image (repeatable)",
        ));
    }
    let bands = if bands.is_empty() {
        crate::bands_of(&images[0])?
    } else {
        bands
            .iter()
            .map(|b| cloudmask::raster::bandmap::model_band_key(b))
            .collect()
    };
    let scenes: Vec<Scene> = images
        .iter()
        .map(|i| Scene::load_unlabelled(i, &bands))
        .collect::<Result<_>>()?;
    let regions: Vec<_> = scenes
        .iter()
        .enumerate()
        .map(|(i, s)| (i, (0, 0, s.width, s.height)))
        .collect();
    let pool = patches::candidates(&scenes, &regions, window, window / 2);
    if pool.is_empty() {
        return Err(Error::invalid(format!(
            "no {window} x {window} window with at least half its pixels holding data; lower --window"
        )));
    }
    let norm = Normalisation::fit(&scenes, &pool);
    Ok(PretrainData {
        scenes,
        pool,
        norm,
        bands,
    })
}

/// Checks shared by every method, before anything is loaded.
pub fn check_args(a: &PretrainArgs) -> Result<NetSpec> {
    let arch = Arch::parse(&a.arch)?;
    if !matches!(arch, Arch::Resnet18 { .. }) {
        return Err(Error::invalid(format!(
            "pretraining trains the ResNet-18 encoder; --arch {} has none (use resnet18)",
            a.arch
        )));
    }
    if a.patch == 0 || a.patch % 32 != 0 || a.window < a.patch {
        return Err(Error::invalid(format!(
            "--patch {} must be a positive multiple of 32 and at most --window {}",
            a.patch, a.window
        )));
    }
    if a.batch < 2 || a.epochs == 0 || a.steps_per_epoch == 0 {
        return Err(Error::invalid(
            "--batch must be at least 2; --epochs and --steps-per-epoch positive",
        ));
    }
    Ok(NetSpec {
        arch,
        in_channels: 0,
        classes: 3,
    })
}

pub fn run(a: PretrainArgs) -> Result<()> {
    let device = crate::device(&a.compute)?;
    let mut spec = check_args(&a)?;
    let (data, locations) = match a.method.as_str() {
        "seco" => {
            let (data, locations) = seco::load(&a)?;
            (data, Some(locations))
        }
        "moco" | "deepcluster" if a.locations.is_some() => {
            return Err(Error::invalid(format!(
                "--locations is for seco; {} reads --image",
                a.method
            )))
        }
        "moco" | "deepcluster" => (load_data(&a.images, &a.bands, a.window)?, None),
        other => {
            return Err(Error::invalid(format!(
                "unknown pretraining method '{other}': use moco, deepcluster or seco"
            )))
        }
    };
    spec.in_channels = data.bands.len() as i64;
    tch::manual_seed(a.seed as i64);
    let net = Network::new(&spec, device);
    std::fs::create_dir_all(&a.out)
        .map_err(|e| Error::output(format!("cannot create {}: {e}", a.out.display())))?;
    let (net, history) = match (a.method.as_str(), &locations) {
        ("deepcluster", _) => deepcluster::run(&a, &data, net, device)?,
        ("seco", Some(locations)) => seco::run(&a, &data, locations, net, device)?,
        _ => run_moco(&a, &data, net, device)?,
    };
    save_encoder(&a, &data, &net, &history)?;
    if !a.quiet {
        eprintln!(
            "pretrained encoder: {} (fine-tune with cloudmask train --arch {} --init-from {})",
            a.out.join("encoder").display(),
            a.arch,
            a.out.join("encoder").display()
        );
    }
    Ok(())
}

/// A batch of patch windows for one step: seeded by (seed, epoch, step).
pub fn sample_batch(
    pool: &[Patch],
    batch: usize,
    seed: u64,
    epoch: usize,
    step: usize,
) -> Vec<Patch> {
    let mut rng = Rng::derived(seed, (epoch * 100_003 + step) as u64, 21);
    (0..batch).map(|_| pool[rng.below(pool.len())]).collect()
}

/// One augmented view per patch.
pub fn views(
    data: &PretrainData,
    items: &[Patch],
    size: usize,
    rng: &mut Rng,
    device: Device,
) -> tch::Tensor {
    let jitter = Jitter::default();
    let augs: Vec<_> = items
        .iter()
        .map(|&(s, win)| {
            (
                (s, win),
                ViewAug::random(rng, win, size, data.bands.len(), jitter),
            )
        })
        .collect();
    views::batch(&data.scenes, &augs, size, jitter.noise, &data.norm, device)
}

fn run_moco(
    a: &PretrainArgs,
    data: &PretrainData,
    net: Network,
    device: Device,
) -> Result<(Network, Vec<serde_json::Value>)> {
    let mut moco = moco::Moco::new(
        net,
        moco::MocoConfig {
            queue: a.queue,
            momentum: a.momentum,
            temperature: a.temperature,
            ..Default::default()
        },
    );
    let mut opt = moco.optimizer(a.weight_decay);
    let total = (a.epochs * a.steps_per_epoch) as i64;
    let mut history = Vec::new();
    for epoch in 1..=a.epochs {
        let started = Instant::now();
        let mut sum = 0.0;
        for step in 0..a.steps_per_epoch {
            let items = sample_batch(&data.pool, a.batch, a.seed, epoch, step);
            let mut rng = Rng::derived(a.seed, (epoch * 100_003 + step) as u64, 22);
            let v1 = views(data, &items, a.patch, &mut rng, device);
            let v2 = views(data, &items, a.patch, &mut rng, device);
            let lr = learning_rate(a.lr, opt.step, total);
            sum += moco.step(&v1, &v2, &mut opt, lr);
        }
        let entry = json!({"epoch": epoch, "loss": sum / a.steps_per_epoch as f64, "seconds": started.elapsed().as_secs_f64()});
        log_epoch(a, &entry, &mut history)?;
    }
    Ok((moco.query, history))
}

/// Prints and records one epoch of pretraining.
pub fn log_epoch(
    a: &PretrainArgs,
    entry: &serde_json::Value,
    history: &mut Vec<serde_json::Value>,
) -> Result<()> {
    if !a.quiet {
        eprintln!(
            "{} epoch {}/{}: loss {:.4} ({:.1}s)",
            a.method,
            entry["epoch"],
            a.epochs,
            entry["loss"].as_f64().unwrap_or(f64::NAN),
            entry["seconds"].as_f64().unwrap_or(0.0)
        );
    }
    history.push(entry.clone());
    let path = a.out.join("log.json");
    std::fs::write(&path, serde_json::to_string_pretty(history).expect("json"))
        .map_err(|e| Error::output(format!("cannot write {}: {e}", path.display())))
}

/// Writes the pretrained network as a checkpoint (`RUN/encoder`) for `--init-from`.
pub fn save_encoder(
    a: &PretrainArgs,
    data: &PretrainData,
    net: &Network,
    history: &[serde_json::Value],
) -> Result<()> {
    let info = CheckpointInfo {
        format: checkpoint::FORMAT.to_string(),
        spec: net.spec.clone(),
        bands: data.bands.clone(),
        classes: ["clear", "cloud", "cloud shadow"]
            .map(String::from)
            .to_vec(),
        mean: data.norm.mean.clone(),
        std: data.norm.std.clone(),
        epoch: history.len(),
        settings: json!({"pretraining": a.method, "images": a.images, "locations": a.locations, "clusters": a.clusters,
                         "patch": a.patch, "window": a.window,
                         "batch": a.batch, "epochs": a.epochs, "steps_per_epoch": a.steps_per_epoch,
                         "lr": a.lr, "seed": a.seed}),
        best_val_loss: None,
        best_epoch: history.len(),
        stale_epochs: 0,
        history: history.to_vec(),
        data: json!({"images": a.images, "windows": data.pool.len()}),
    };
    checkpoint::save(&a.out.join("encoder"), &info, net, None)
}
