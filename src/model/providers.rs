//! Execution providers: one ONNX Runtime session on the device asked for, or on CPU with a note
//! saying why not. Every provider but CPU is registered strictly (`error_on_failure`), so a
//! failure is seen and reported instead of ONNX Runtime quietly running on CPU.

use super::Device;
use crate::error::{Error, Result};
use crate::runtime::{self, Runtime};
use ort::ep::ArbitrarilyConfigurableExecutionProvider;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::Session;
use std::path::Path;

/// ONNX Runtime's session option naming the folder of a model's external data (weights stored
/// beside the .onnx file) when the model is given as bytes, as ours is (edited, see `Model`).
const EXTERNAL_DATA_FOLDER: &str = "session.model_external_initializers_file_folder_path";

/// The providers' names, as [`Built::provider`] gives them and provenance metadata records.
pub const CPU: &str = "CPU";
pub const CUDA: &str = "CUDA";
pub const OPENVINO: &str = "OpenVINO";

/// The name ONNX Runtime lists the OpenVINO provider under (`GetAvailableProviders`).
pub const OPENVINO_PROVIDER: &str = "OpenVINOExecutionProvider";

/// What a session is built from.
pub struct Request<'a> {
    pub bytes: &'a [u8],
    /// Where the model's external data lies.
    pub folder: &'a Path,
    pub threads: usize,
    pub device: Device,
    /// OpenVINO's inference precision hint: bf16 (true) or f32.
    pub bf16: bool,
}

/// A session, the provider it runs on, and the note for the user when that is not the one asked
/// for (or when `auto` chose).
pub struct Built {
    pub session: Session,
    pub provider: &'static str,
    pub note: Option<String>,
}

/// Builds one session for `r`: the device asked for, else CPU with a note.
pub fn build(r: &Request) -> Result<Built> {
    let rt = runtime::loaded().ok_or_else(|| Error::inference("ONNX Runtime is not loaded"))?;
    let mut why_not = Vec::new();
    let tries: &[&str] = match r.device {
        Device::Cpu => &[],
        Device::Cuda => &[CUDA],
        Device::OpenVino => &[OPENVINO],
        Device::Auto => &[CUDA, OPENVINO],
    };
    for &provider in tries {
        match accelerated(rt, r, provider) {
            Ok(session) => {
                let note = (r.device == Device::Auto).then(|| {
                    let skipped: String = why_not.iter().map(|w| format!("; {w}")).collect();
                    format!(
                        "device auto: running on {}{skipped}",
                        running_on(provider, r.bf16)
                    )
                });
                return Ok(Built {
                    session,
                    provider,
                    note,
                });
            }
            Err(why) => why_not.push(format!("{provider} is not available ({why})")),
        }
    }
    let session = builder(rt, r.threads, r.folder)?
        .commit_from_memory(r.bytes)
        .map_err(|e| fail("loading the network", &e))?;
    let note = (!why_not.is_empty()).then(|| {
        let prefix = if r.device == Device::Auto {
            "device auto: "
        } else {
            ""
        };
        // bf16 was chosen for OpenVINO; the CPU provider computes in f32.
        let f32 = if r.bf16 { " in f32" } else { "" };
        format!("{prefix}{}; running on CPU{f32}", why_not.join("; "))
    });
    Ok(Built {
        session,
        provider: CPU,
        note,
    })
}

/// "OpenVINO (bf16)", "CUDA": what a note says runs.
fn running_on(provider: &str, bf16: bool) -> String {
    match provider {
        OPENVINO => format!("{OPENVINO} ({})", if bf16 { "bf16" } else { "f32" }),
        other => other.to_string(),
    }
}

/// A session on `provider` (CUDA or OpenVINO), or why not. CUDA is simply tried (its strict
/// registration says what is missing); OpenVINO is looked for in the runtime's providers first,
/// so the note can say which runtime lacks it and what to install.
fn accelerated(rt: &Runtime, r: &Request, provider: &str) -> std::result::Result<Session, String> {
    let builder = builder(rt, r.threads, r.folder).map_err(|e| e.message)?;
    if provider == CUDA {
        return cuda_session(builder, r.bytes);
    }
    if !rt.providers.iter().any(|p| p == OPENVINO_PROVIDER) {
        return Err(format!(
            "the ONNX Runtime loaded in this process, {} at {}, has no {OPENVINO_PROVIDER}; install onnxruntime-openvino==1.24.1 (`make openvino-venv` puts it in .venv-openvino)",
            rt.version,
            rt.path.display()
        ));
    }
    openvino_session(builder, r)
}

/// OpenVINO on the CPU with the request's threads and precision. `precision` FP32 alone leaves
/// OpenVINO's CPU plugin free to pick bf16 on CPUs that have it, so the inference precision
/// hint is always given, through `load_config` (OpenVINO's own properties, per device).
fn openvino_session(builder: SessionBuilder, r: &Request) -> std::result::Result<Session, String> {
    let hint = if r.bf16 { "bf16" } else { "f32" };
    let mut ep = ort::ep::OpenVINO::default()
        .with_device_type("CPU")
        .with_num_threads(r.threads)
        .with_arbitrary_config(
            "load_config",
            format!(r#"{{"CPU":{{"INFERENCE_PRECISION_HINT":"{hint}"}}}}"#),
        );
    if !r.bf16 {
        ep = ep.with_precision("FP32");
    }
    builder
        .with_execution_providers([ep.build().error_on_failure()])
        .map_err(|e| e.to_string())?
        .commit_from_memory(r.bytes)
        .map_err(|e| e.to_string())
}

#[cfg(feature = "cuda")]
fn cuda_session(builder: SessionBuilder, bytes: &[u8]) -> std::result::Result<Session, String> {
    let cuda = ort::ep::CUDA::default().build().error_on_failure();
    builder
        .with_execution_providers([cuda])
        .map_err(|e| e.to_string())?
        .commit_from_memory(bytes)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "cuda"))]
fn cuda_session(_builder: SessionBuilder, _bytes: &[u8]) -> std::result::Result<Session, String> {
    Err("this cloudmask was built without the `cuda` feature; rebuild with `cargo build --features cuda` and use onnxruntime-gpu".to_string())
}

/// A session builder with the options every provider shares.
fn builder(rt: &Runtime, threads: usize, folder: &Path) -> Result<SessionBuilder> {
    Session::builder(&rt.environment)
        .map_err(|e| fail("builder", &e))?
        .with_optimization_level(GraphOptimizationLevel::All)
        .map_err(|e| fail("optimisation level", &e))?
        .with_intra_threads(threads)
        .map_err(|e| fail("threads", &e))?
        .with_inter_threads(1)
        .map_err(|e| fail("threads", &e))?
        .with_config_entry(EXTERNAL_DATA_FOLDER, folder.to_string_lossy())
        .map_err(|e| fail("external data folder", &e))
}

fn fail(what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::inference(format!(
        "cannot create an ONNX Runtime session ({what}): {e}"
    ))
}
