//! `cloudmask models`, `info` and `doctor`: what is installed and what a model is (a raster's
//! `info` is in [`crate::info`]).

use crate::args::{DoctorArgs, InfoArgs};
use cloudmask::model::{list_models, resolve, ModelCard};
use cloudmask::{runtime, Result};

pub fn models() -> Result<()> {
    let all = list_models();
    if all.is_empty() {
        println!(
            "no models found; `pip install ukis-csmask==1.0.0` (or `make demo`) installs four"
        );
        return Ok(());
    }
    println!("{:<16} {:<40} {:<14} FILE", "NAME", "BANDS", "VERSION");
    for m in all {
        match card_of(&m) {
            Ok(card) => println!(
                "{:<16} {:<40} {:<14} {}",
                m.name,
                card.band_names().join(","),
                card.version,
                m.onnx.display()
            ),
            Err(e) => println!("{:<16} (unusable: {e}) {}", m.name, m.onnx.display()),
        }
    }
    Ok(())
}

/// Reads a model's card without starting ONNX Runtime.
pub fn card_of(m: &cloudmask::model::ModelEntry) -> Result<ModelCard> {
    let bytes = std::fs::read(&m.onnx)
        .map_err(|e| cloudmask::Error::model(format!("{}: {e}", m.onnx.display())))?;
    let info =
        cloudmask::onnx::inspect(&bytes).map_err(|e| cloudmask::Error::model(e.to_string()))?;
    if let Some(json) = info.metadata_value(cloudmask::model::card::CARD_METADATA_KEY) {
        return ModelCard::from_json(json, &m.name);
    }
    let sidecar = m
        .sidecar
        .as_ref()
        .ok_or_else(|| cloudmask::Error::model("no card"))?;
    let text =
        std::fs::read_to_string(sidecar).map_err(|e| cloudmask::Error::model(e.to_string()))?;
    ModelCard::from_json(&text, &m.name)
}

pub fn info(a: InfoArgs) -> Result<()> {
    if let Ok(entry) = resolve(&a.target) {
        if a.target.ends_with(".onnx") || !std::path::Path::new(&a.target).exists() {
            let card = card_of(&entry)?;
            println!("model {} ({})", entry.name, entry.onnx.display());
            println!(
                "{}",
                serde_json::to_string_pretty(&card).unwrap_or_default()
            );
            return Ok(());
        }
    }
    crate::info::raster(&a)
}

/// Prints every place ONNX Runtime is searched, in order, and the library resolved, before
/// anything is loaded; false when none resolves.
fn show_runtime_search(explicit: Option<&std::path::Path>) -> bool {
    println!("ONNX Runtime is searched in this order (the first found is loaded):");
    for (n, place) in runtime::places(explicit).iter().enumerate() {
        let outcome = match &place.outcome {
            runtime::Outcome::Found(lib) => format!("found {}", lib.display()),
            runtime::Outcome::Absent => "nothing".to_string(),
            runtime::Outcome::Refused(why) => format!("refused: {why}"),
        };
        match &place.location {
            Some(l) => println!(
                "  {:>2}. {}: {}: {outcome}",
                n + 1,
                place.source,
                l.display()
            ),
            None => println!("  {:>2}. {}: not set", n + 1, place.source),
        }
    }
    match runtime::resolve(explicit) {
        Ok(lib) => {
            println!("ONNX Runtime resolved to {}", lib.display());
            true
        }
        Err(e) => {
            println!("ONNX Runtime resolved to nothing: {e}");
            false
        }
    }
}

/// The OpenVINO path (`--device openvino`) and the CPU's bf16 (`--precision`): informative,
/// never a reason to fail, since the default path needs neither.
fn show_openvino() {
    use cloudmask::model::{precision, CpuBf16};
    match runtime::openvino_runtime() {
        Some(lib) => println!("OpenVINO: runtime with the OpenVINO provider at {}", lib.display()),
        None => println!(
            "OpenVINO: no runtime with the OpenVINO provider found (--device openvino runs on cpu); install onnxruntime-openvino==1.24.1 (`make openvino-venv`)"
        ),
    }
    let cpu = CpuBf16::detect();
    println!("CPU bf16: {}", cpu.describe());
    println!("--precision auto: {}", precision::auto_choice(cpu));
}

pub fn doctor(a: DoctorArgs) -> Result<()> {
    println!("cloudmask {}", cloudmask::VERSION);
    println!("GDAL {}", cloudmask::raster::gdal::version());
    let explicit = crate::args::absolute(a.ort_lib.as_deref());
    let mut healthy = show_runtime_search(explicit.as_deref());
    match runtime::init(explicit.as_deref()) {
        Ok(rt) => {
            println!("ONNX Runtime {} at {}", rt.version, rt.path.display());
            println!("execution providers: {}", rt.providers.join(", "));
            let cuda_here = rt.providers.iter().any(|p| p == "CUDAExecutionProvider");
            let cuda_built = cloudmask::model::CUDA_BUILT;
            println!(
                "CUDA: runtime {}, this build {}",
                if cuda_here {
                    "has the CUDA provider"
                } else {
                    "has no CUDA provider (install onnxruntime-gpu)"
                },
                if cuda_built {
                    "supports it"
                } else {
                    "was built without the `cuda` feature"
                }
            );
        }
        Err(e) => {
            healthy = false;
            println!("ONNX Runtime: NOT LOADED: {e}");
        }
    }
    show_openvino();
    let models = list_models();
    println!(
        "models: {}",
        if models.is_empty() {
            "none".to_string()
        } else {
            models
                .iter()
                .map(|m| m.name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    if models.is_empty() {
        healthy = false;
    }
    println!(
        "model folders: {}",
        cloudmask::model::registry::model_dirs()
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if healthy {
        println!("ok");
        Ok(())
    } else {
        Err(cloudmask::Error::new(
            cloudmask::ErrorKind::RuntimeNotFound,
            "the installation is incomplete (see above)",
        ))
    }
}
