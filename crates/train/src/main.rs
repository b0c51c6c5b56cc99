//! `cloudmask-train` (run as `cloudmask train`): the bundled trainer.
//!
//! A separate program from `cloudmask` so that libtorch, which it trains with (through `tch`),
//! never enters the plugin library or the masking CLI. Data comes through the engine's raster
//! layer; models leave as ONNX files with a card, which the engine runs like any other.

mod bench;
mod checkpoint;
mod cli;
mod cpu_isa;
mod data;
mod evaluate;
mod experiment;
mod export;
mod files;
mod fit;
mod loss;
mod metrics;
mod nets;
mod optim;
mod prepare;
mod pretrain;
mod progress;
mod settings;
mod weak;

#[cfg(test)]
mod export_parity;

use clap::Parser;
use cli::{Cli, Command, ComputeArgs, TrainArgs};
use cloudmask::error::{Error, Result};
use cloudmask::raster::bandmap::{model_band_key, raster_band_name};
use settings::Settings;

use std::process::ExitCode;

fn main() -> ExitCode {
    cloudmask::raster::gdal::silence_gdal_error_printing();
    let cli = Cli::parse();
    if let Err(e) = pin_cpu_isa(&cli) {
        eprintln!("cloudmask train: error: {e}");
        return ExitCode::from(e.kind as u8);
    }
    let result = match cli.command {
        Some(Command::Export(a)) => run_export(a),
        Some(Command::Bench(a)) => bench::run(a),
        Some(Command::Pretrain(a)) => pretrain::run(a),
        Some(Command::Experiment(a)) => experiment::run(a),
        None => run_train(cli.train),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cloudmask train: error: {e}");
            ExitCode::from(e.kind as u8)
        }
    }
}

/// Pins libtorch's CPU code paths before any tensor exists (see cpu_isa.rs). The experiment
/// compares methods, so it pins AVX2 unless told otherwise; training alone runs native.
fn pin_cpu_isa(cli: &Cli) -> Result<()> {
    use cpu_isa::CpuIsa;
    let (compute, default) = match &cli.command {
        Some(Command::Export(_)) => return Ok(()),
        Some(Command::Bench(a)) => (&a.compute, CpuIsa::Native),
        Some(Command::Pretrain(a)) => (&a.compute, CpuIsa::Native),
        Some(Command::Experiment(a)) => (&a.compute, cpu_isa::EXPERIMENT_DEFAULT),
        None => (&cli.train.compute, CpuIsa::Native),
    };
    cpu_isa::pin(compute.cpu_isa.unwrap_or(default))
}

/// Picks the device and thread count.
pub fn device(c: &ComputeArgs) -> Result<tch::Device> {
    if let Some(n) = c.threads {
        tch::set_num_threads(n.max(1) as i32);
    }
    match c.device.as_str() {
        "cpu" => Ok(tch::Device::Cpu),
        "auto" => Ok(tch::Device::cuda_if_available()),
        "cuda" if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
        "cuda" => Err(Error::invalid(
            "--device cuda: libtorch sees no CUDA GPU (no driver, or a CPU-only torch); use --device cpu or auto",
        )),
        other => Err(Error::invalid(format!("--device {other}: use auto, cpu or cuda"))),
    }
}

fn run_train(a: TrainArgs) -> Result<()> {
    if a.weak.is_some() || a.weak_from_labels {
        return weak::run(&a);
    }
    let device = device(&a.compute)?;
    let (settings, out, start_dir) = match &a.resume {
        Some(dir) => {
            let info = checkpoint::read_info(&fit::RunDir(dir.clone()).last())?;
            let mut s: Settings = serde_json::from_value(info.settings.clone()).map_err(|e| {
                Error::model(format!(
                    "{}: the checkpoint's settings do not read: {e}",
                    dir.display()
                ))
            })?;
            if let Some(epochs) = a.epochs {
                s.epochs = epochs;
            }
            (
                s,
                a.out.clone().unwrap_or_else(|| dir.clone()),
                Some(dir.clone()),
            )
        }
        None => {
            let out = a
                .out
                .clone()
                .ok_or_else(|| Error::invalid("give the run folder with --out DIR"))?;
            (settings_from_args(&a)?, out, None)
        }
    };
    let start = match &start_dir {
        Some(d) => fit::Start::Resume(d),
        None => fit::Start::Fresh,
    };
    if !a.quiet {
        eprintln!(
            "training {} on {} ({} training samples) for up to {} epochs",
            settings.arch.describe(),
            if device == tch::Device::Cpu {
                "CPU".to_string()
            } else {
                format!("{device:?}")
            },
            settings.train.len(),
            settings.epochs
        );
    }
    let run = fit::RunDir(out.clone());
    let session = fit::Session {
        quiet: a.quiet,
        stop_after: a.stop_after,
    };
    let outcome = fit::run(&settings, start, &run, device, session)?;
    let name = a.name.clone().unwrap_or_else(|| {
        out.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cloudmask-model".to_string())
    });
    let model_path = out.join(format!("{name}.onnx"));
    export::export(
        &outcome.checkpoint,
        &model_path,
        &export::ExportOptions {
            name: &name,
            product_level: "any",
            tile_size: None,
            resolution_m: None,
            description: None,
        },
    )?;
    if !a.quiet {
        eprintln!(
            "{} epochs; model {} (from {}); log {}",
            outcome.history.len(),
            model_path.display(),
            outcome.checkpoint.display(),
            run.log().display()
        );
    }
    Ok(())
}

fn settings_from_args(a: &TrainArgs) -> Result<Settings> {
    let mut train = data::samples::pairs(&a.images, &a.labels)?;
    if let Some(list) = &a.train_list {
        train.extend(data::samples::read_list(list)?);
    }
    if train.is_empty() {
        return Err(Error::invalid(
            "no training samples: give --image/--labels pairs or a --train-list",
        ));
    }
    let val = match &a.val_list {
        Some(list) => data::samples::read_list(list)?,
        None => Vec::new(),
    };
    let bands = if a.bands.is_empty() {
        bands_of(&train[0].image)?
    } else {
        a.bands.iter().map(|b| model_band_key(b)).collect()
    };
    Ok(Settings {
        train,
        val,
        val_fraction: a.val_fraction,
        bands,
        classes: a.classes.clone(),
        label_map: a.label_map.clone(),
        arch: nets::Arch::parse(&a.arch)?,
        patch: a.patch,
        batch: a.batch,
        epochs: a.epochs.unwrap_or(20),
        patches_per_epoch: a.patches_per_epoch,
        lr: a.lr,
        weight_decay: a.weight_decay,
        loss: a.loss.clone(),
        class_weights: a.class_weights.clone(),
        brightness: a.brightness,
        seed: a.seed,
        patience: a.patience,
        label_fraction: a.label_fraction,
        init_from: a.init_from.clone(),
    })
}

/// The model bands of an image: every band, by its name.
pub fn bands_of(image: &str) -> Result<Vec<String>> {
    let ds = cloudmask::raster::gdal::Dataset::open(image)?;
    (1..=ds.band_count())
        .map(|i| {
            let name = raster_band_name(&ds, i);
            if name.trim().is_empty() {
                Err(Error::bands(format!(
                    "band {i} of {image} has no name; name the model's bands with --bands (e.g. --bands blue,green,red,nir)"
                )))
            } else {
                Ok(model_band_key(&name))
            }
        })
        .collect()
}

fn run_export(a: cli::ExportArgs) -> Result<()> {
    let name = a.name.clone().unwrap_or_else(|| {
        a.output
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cloudmask-model".into())
    });
    let card = export::export(
        &a.checkpoint,
        &a.output,
        &export::ExportOptions {
            name: &name,
            product_level: &a.product_level,
            tile_size: a.tile_size,
            resolution_m: a.resolution_m,
            description: None,
        },
    )?;
    println!(
        "{}: model '{}', bands {}, classes {}",
        a.output.display(),
        card.name,
        card.band_names().join(","),
        card.classes
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join(",")
    );
    Ok(())
}
