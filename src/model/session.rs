//! A loaded model: its card, its ONNX bytes, and a pool of ONNX Runtime sessions.
//!
//! Thread safety: `Session::run` needs exclusive access, so a [`Model`] keeps a pool. Each call to
//! [`Model::run`] takes a session from the pool (creating one when all are busy) and puts it back
//! afterwards, so one `Model` can be shared by any number of threads; the pool grows to the
//! number of threads that run at the same time.

use super::card::{ModelCard, CARD_METADATA_KEY};
use super::precision::{self, CpuBf16, Precision};
use super::providers;
use super::registry::{self, ModelEntry};
use super::threads;
use crate::error::{Error, Result};
use crate::onnx;
use crate::runtime;
use ort::session::Session;
use ort::value::TensorRef;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Where inference runs; its names (`cpu`, `cuda`, `openvino`, `auto`) and serde form come
/// from `options::choice!`. Every device but cpu falls back to cpu with a note when it cannot
/// be used (see `providers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    /// ONNX Runtime's CUDA execution provider.
    Cuda,
    /// ONNX Runtime's OpenVINO execution provider (the onnxruntime-openvino wheel's runtime).
    OpenVino,
    /// CUDA when usable, else OpenVINO when the runtime has it, else CPU.
    Auto,
}

crate::options::choice!(Device, "device", [
    Cpu => "cpu", "ONNX Runtime's CPU execution provider (exact)",
    Cuda => "cuda", "ONNX Runtime's CUDA execution provider (falls back to cpu when unavailable)",
    OpenVino => "openvino", "ONNX Runtime's OpenVINO execution provider, from onnxruntime-openvino (falls back to cpu when unavailable)",
    Auto => "auto", "cuda if usable, else openvino if available, else cpu",
]);

#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// ONNX Runtime intra-op threads per session; 0 = all cores. More than the machine's cores
    /// (at most `threads::MAX_THREADS`) are capped to them with a note ([`Model::notes`]).
    pub threads: usize,
    pub device: Device,
    /// f32, bf16 (OpenVINO on a CPU with native bf16 only) or auto; see `precision`.
    pub precision: Precision,
    /// Absolute path to libonnxruntime; `None` searches (see `runtime`): for openvino and
    /// auto, a runtime with the OpenVINO provider first.
    pub ort_lib: Option<PathBuf>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            threads: 0,
            device: Device::Cpu,
            precision: Precision::F32,
            ort_lib: None,
        }
    }
}

pub struct Model {
    pub entry: ModelEntry,
    pub card: ModelCard,
    input_name: String,
    /// The ONNX file with its spatial dimensions made symbolic, so any tile size runs.
    onnx_bytes: Vec<u8>,
    /// The folder of the ONNX file (absolute), where its external data, if any, lies.
    folder: PathBuf,
    threads: usize,
    device: Device,
    /// Whether OpenVINO is asked for bf16 inference precision (see `precision::resolve`).
    bf16: bool,
    /// Which execution provider sessions actually use: "CPU", "CUDA" or "OpenVINO".
    pub provider: String,
    /// A note for the user when the requested device could not be used.
    pub device_note: Option<String>,
    /// A note for the user when the requested threads were capped to the machine's cores.
    pub threads_note: Option<String>,
    pool: Mutex<Vec<Session>>,
    /// Tiles run and nanoseconds spent in ONNX Runtime, over all threads ([`Model::stats`]).
    tiles_run: AtomicU64,
    inference_nanos: AtomicU64,
}

/// What a model has run since it was loaded: what the bench and `--json` report, so a reader
/// sees how much of a run was the network and what is left to win elsewhere.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RunStats {
    /// Tiles the network ran on (all-nodata tiles are never run).
    pub tiles: u64,
    /// Wall seconds inside ONNX Runtime's `run`, summed over the threads that called it.
    pub inference_seconds: f64,
}

impl RunStats {
    /// What happened between `earlier` and `self` (two readings of one model).
    pub fn since(self, earlier: RunStats) -> RunStats {
        RunStats {
            tiles: self.tiles - earlier.tiles,
            inference_seconds: self.inference_seconds - earlier.inference_seconds,
        }
    }
}

impl Model {
    /// Loads a model by name (see `cloudmask models`) or path, with its card, and checks the
    /// card against the network before anything runs.
    pub fn load(name_or_path: &str, options: &ModelOptions) -> Result<Model> {
        Model::load_entry(registry::resolve(name_or_path)?, options)
    }

    /// Loads a model already resolved (see [`registry::resolve`]).
    pub fn load_entry(entry: ModelEntry, options: &ModelOptions) -> Result<Model> {
        let raw = std::fs::read(&entry.onnx).map_err(|e| {
            Error::model(format!("cannot read model {}: {e}", entry.onnx.display()))
        })?;
        let folder = model_folder(&entry.onnx)?;
        let info = onnx::inspect(&raw).map_err(|e| {
            Error::model(format!(
                "{} is not a usable ONNX model: {e}",
                entry.onnx.display()
            ))
        })?;
        let card = read_card(&entry, &info.metadata)?;
        let input_name = check_card_against_network(&card, &info, &entry)?;
        let onnx_bytes = onnx::with_dynamic_spatial_dims(&raw)
            .map_err(|e| Error::model(format!("{}: {e}", entry.onnx.display())))?;
        let bf16 = precision::resolve(options.precision, options.device, CpuBf16::detect())?;
        runtime::init_for(options.ort_lib.as_deref(), options.device)?;
        let (threads, threads_note) = threads::effective(options.threads, threads::max_threads());
        let mut model = Model {
            entry,
            card,
            input_name,
            onnx_bytes,
            folder,
            threads,
            device: options.device,
            bf16,
            provider: "CPU".to_string(),
            device_note: None,
            threads_note,
            pool: Mutex::new(Vec::new()),
            tiles_run: AtomicU64::new(0),
            inference_nanos: AtomicU64::new(0),
        };
        // Build the first session now so errors surface at load time, not mid-raster.
        let first = model.new_session()?;
        model
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(first);
        Ok(model)
    }

    pub fn name(&self) -> &str {
        &self.entry.name
    }

    pub fn n_bands(&self) -> usize {
        self.card.bands.len()
    }

    pub fn n_classes(&self) -> usize {
        self.card.classes.len()
    }

    /// The threads each session uses (the request, capped to the machine's cores).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The device asked for (before any fallback; [`Model::provider`] says what runs).
    pub fn device(&self) -> Device {
        self.device
    }

    /// The precision inference runs in: "bf16" only on OpenVINO with bf16 chosen, else "f32".
    pub fn precision(&self) -> &'static str {
        if self.bf16 && self.provider == providers::OPENVINO {
            "bf16"
        } else {
            "f32"
        }
    }

    /// What the user should be told about how the model was loaded (device fallback, threads
    /// capped); each shell shows them its own way (stderr, GDAL warnings).
    pub fn notes(&self) -> impl Iterator<Item = &str> {
        [&self.device_note, &self.threads_note]
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Tiles run and seconds in ONNX Runtime since the model was loaded.
    pub fn stats(&self) -> RunStats {
        RunStats {
            tiles: self.tiles_run.load(Ordering::Relaxed),
            inference_seconds: self.inference_nanos.load(Ordering::Relaxed) as f64 * 1e-9,
        }
    }

    fn new_session(&mut self) -> Result<Session> {
        let built = self.build_session()?;
        self.provider = built.provider.to_string();
        self.device_note = built.note;
        Ok(built.session)
    }

    fn build_session(&self) -> Result<providers::Built> {
        let request = providers::Request {
            bytes: &self.onnx_bytes,
            folder: &self.folder,
            threads: self.threads,
            device: self.device,
            bf16: self.bf16,
        };
        providers::build(&request)
    }

    /// Runs the network on `batch` tiles of `size` x `size` pixels, laid out N, C, H, W, and
    /// returns the raw output (N, classes, H, W; one channel for a cloud-score model).
    pub fn run(&self, input: &[f32], batch: usize, size: usize) -> Result<Vec<f32>> {
        self.run_named(input, batch, size, |k| format!("tile {k} of the batch"))
    }

    /// [`Model::run`], where `tile(k)` names tile k (its pixel window) in the error a
    /// non-finite output gives: NaN or infinite outputs (a network with NaN weights, say) are an
    /// error, never a class.
    pub fn run_named(
        &self,
        input: &[f32],
        batch: usize,
        size: usize,
        tile: impl Fn(usize) -> String,
    ) -> Result<Vec<f32>> {
        let data = self.infer(input, batch, size)?;
        let per_tile = self.card.output_channels() * size * size;
        match data.iter().position(|v| !v.is_finite()) {
            None => Ok(data),
            Some(i) => Err(Error::inference(format!(
                "model {} gives a non-finite output ({}) for {}: the network is broken (NaN or infinite weights?) or the input is far outside what it was trained on (digital numbers read as reflectance? check the scaling)",
                self.name(),
                data[i],
                tile(i / per_tile.max(1))
            ))),
        }
    }

    fn infer(&self, input: &[f32], batch: usize, size: usize) -> Result<Vec<f32>> {
        let c = self.n_bands();
        if input.len() != batch * c * size * size {
            return Err(Error::invalid(format!(
                "input holds {} values, expected {batch} x {c} x {size} x {size}",
                input.len()
            )));
        }
        if size % self.card.size_multiple != 0 {
            return Err(Error::invalid(format!(
                "tile size {size} is not a multiple of {}",
                self.card.size_multiple
            )));
        }
        let mut session = match self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            Some(s) => s,
            None => self.build_session()?.session,
        };
        let start = Instant::now();
        let result = run_session(
            &mut session,
            &self.input_name,
            input,
            [batch, c, size, size],
        );
        self.inference_nanos
            .fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.tiles_run.fetch_add(batch as u64, Ordering::Relaxed);
        self.pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(session);
        let (shape, data) = result?;
        let want = [
            batch as i64,
            self.card.output_channels() as i64,
            size as i64,
            size as i64,
        ];
        if shape != want {
            return Err(Error::inference(format!(
                "model output has shape {shape:?}, expected {want:?}: the card's classes do not match the network"
            )));
        }
        Ok(data)
    }
}

fn run_session(
    session: &mut Session,
    input_name: &str,
    input: &[f32],
    shape: [usize; 4],
) -> Result<(Vec<i64>, Vec<f32>)> {
    let fail = |e: ort::Error| Error::inference(format!("ONNX Runtime failed: {e}"));
    let tensor = TensorRef::from_array_view((shape, input)).map_err(fail)?;
    let outputs = session
        .run(ort::inputs![input_name => tensor])
        .map_err(fail)?;
    let (out_shape, data) = outputs[0].try_extract_tensor::<f32>().map_err(fail)?;
    Ok((out_shape.iter().copied().collect(), data.to_vec()))
}

/// The absolute folder of a model file: its external data is read from there, whatever the
/// current directory is when sessions are created.
fn model_folder(onnx: &Path) -> Result<PathBuf> {
    std::fs::canonicalize(onnx)
        .ok()
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .ok_or_else(|| {
            Error::model(format!(
                "cannot resolve the folder of model {}",
                onnx.display()
            ))
        })
}

/// The card comes from the ONNX metadata (our models) or from the sidecar JSON.
fn read_card(entry: &ModelEntry, metadata: &[(String, String)]) -> Result<ModelCard> {
    if let Some((_, json)) = metadata.iter().find(|(k, _)| k == CARD_METADATA_KEY) {
        return ModelCard::from_json(json, &entry.name)
            .map_err(|e| Error::model(format!("{}: {}", entry.onnx.display(), e.message)));
    }
    match &entry.sidecar {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::model(format!("cannot read model card {}: {e}", path.display())))?;
            ModelCard::from_json(&text, &entry.name)
                .map_err(|e| Error::model(format!("{}: {}", path.display(), e.message)))
        }
        None => Err(Error::model(format!(
            "model {} has no card: expected '{CARD_METADATA_KEY}' in its ONNX metadata or a sidecar {}",
            entry.onnx.display(),
            entry.onnx.with_extension("json").display()
        ))),
    }
}

/// The card must describe the network: one float NCHW input with as many channels as bands,
/// one output with as many channels as classes. Returns the input's name.
fn check_card_against_network(
    card: &ModelCard,
    info: &onnx::ModelInfo,
    entry: &ModelEntry,
) -> Result<String> {
    let where_ = entry.onnx.display();
    let input = match info.inputs.as_slice() {
        [one] => one,
        many => {
            return Err(Error::model(format!(
                "{where_} has {} inputs; cloudmask runs networks with exactly one image input",
                many.len()
            )))
        }
    };
    let output = info
        .outputs
        .first()
        .ok_or_else(|| Error::model(format!("{where_} has no outputs")))?;
    let channels = |t: &onnx::TensorInfo| match t.dims.get(1) {
        Some(onnx::Dim::Fixed(n)) => Some(*n as usize),
        _ => None,
    };
    if input.dims.len() != 4 || input.elem_type != 1 {
        return Err(Error::model(format!(
            "{where_}: input '{}' must be a float32 tensor N x C x H x W",
            input.name
        )));
    }
    if let Some(c) = channels(input) {
        if c != card.bands.len() {
            return Err(Error::model(format!(
                "the card of {where_} lists {} bands but the network takes {c} input channels",
                card.bands.len()
            )));
        }
    }
    if let Some(c) = channels(output) {
        if c != card.output_channels() {
            return Err(Error::model(format!(
                "the card of {where_} lists {} classes{} but the network outputs {c} channels",
                card.classes.len(),
                if card.output.threshold().is_some() {
                    " from one cloud-score channel"
                } else {
                    ""
                }
            )));
        }
    }
    Ok(input.name.clone())
}
