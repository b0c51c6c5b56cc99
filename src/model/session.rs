//! A loaded model: its card, its ONNX bytes, and a pool of ONNX Runtime sessions.
//!
//! Thread safety: `Session::run` needs exclusive access, so a [`Model`] keeps a pool. Each call to
//! [`Model::run`] takes a session from the pool (creating one when all are busy) and puts it back
//! afterwards, so one `Model` can be shared by any number of threads; the pool grows to the
//! number of threads that run at the same time.

use super::card::{ModelCard, CARD_METADATA_KEY};
use super::registry::{self, ModelEntry};
use super::threads;
use crate::error::{Error, Result};
use crate::onnx;
use crate::runtime;
use ort::session::{builder::GraphOptimizationLevel, Session};
use ort::value::TensorRef;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// ONNX Runtime's session option naming the folder of a model's external data (weights stored
/// beside the .onnx file) when the model is given as bytes, as ours is (edited, see `onnx_bytes`).
const EXTERNAL_DATA_FOLDER: &str = "session.model_external_initializers_file_folder_path";

/// Where inference runs; its names (`cpu`, `cuda`) and serde form come from `options::choice!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Cpu,
    /// ONNX Runtime's CUDA execution provider; falls back to CPU with a note when unavailable.
    Cuda,
}

crate::options::choice!(Device, "device", [
    Cpu => "cpu", "ONNX Runtime's CPU execution provider",
    Cuda => "cuda", "ONNX Runtime's CUDA execution provider (falls back to cpu when unavailable)",
]);

#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// ONNX Runtime intra-op threads per session; 0 = all cores. More than the machine's cores
    /// (at most `threads::MAX_THREADS`) are capped to them with a note ([`Model::notes`]).
    pub threads: usize,
    pub device: Device,
    /// Absolute path to libonnxruntime; `None` searches (see `runtime`).
    pub ort_lib: Option<PathBuf>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            threads: 0,
            device: Device::Cpu,
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
    /// Which execution provider sessions actually use, e.g. "CPU" or "CUDA".
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
        runtime::init(options.ort_lib.as_deref())?;
        let (threads, threads_note) = threads::effective(options.threads, threads::max_threads());
        let mut model = Model {
            entry,
            card,
            input_name,
            onnx_bytes,
            folder,
            threads,
            device: options.device,
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
        let (session, provider, note) = self.build_session()?;
        self.provider = provider;
        self.device_note = note;
        Ok(session)
    }

    fn build_session(&self) -> Result<(Session, String, Option<String>)> {
        build_session(&self.onnx_bytes, &self.folder, self.threads, self.device)
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
            None => self.build_session()?.0,
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

/// Creates one ONNX Runtime session. CUDA is tried strictly so a failure is seen and reported,
/// then the session is built on CPU.
fn build_session(
    bytes: &[u8],
    folder: &Path,
    threads: usize,
    device: Device,
) -> Result<(Session, String, Option<String>)> {
    let rt = runtime::loaded().ok_or_else(|| Error::inference("ONNX Runtime is not loaded"))?;
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        Error::inference(format!(
            "cannot create an ONNX Runtime session ({what}): {e}"
        ))
    };
    let builder = || -> Result<ort::session::builder::SessionBuilder> {
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
    };
    let mut note = None;
    if device == Device::Cuda {
        match cuda_session(builder()?, bytes) {
            Ok(s) => return Ok((s, "CUDA".to_string(), None)),
            Err(why) => note = Some(format!("CUDA is not available ({why}); running on CPU")),
        }
    }
    let session = builder()?
        .commit_from_memory(bytes)
        .map_err(|e| fail("loading the network", &e))?;
    Ok((session, "CPU".to_string(), note))
}

#[cfg(feature = "cuda")]
fn cuda_session(
    builder: ort::session::builder::SessionBuilder,
    bytes: &[u8],
) -> std::result::Result<Session, String> {
    let cuda = ort::ep::CUDA::default().build().error_on_failure();
    builder
        .with_execution_providers([cuda])
        .map_err(|e| e.to_string())?
        .commit_from_memory(bytes)
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "cuda"))]
fn cuda_session(
    _builder: ort::session::builder::SessionBuilder,
    _bytes: &[u8],
) -> std::result::Result<Session, String> {
    Err("this cloudmask was built without the `cuda` feature; rebuild with `cargo build --features cuda` and use onnxruntime-gpu".to_string())
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
