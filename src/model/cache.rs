//! The process's shared models: every caller that keeps a model between calls (the GDAL
//! driver's datasets, the pixel function's blocks, evaluation's predictors, the C API's virtual
//! masks) takes it from here, so a model is resolved and loaded once per process and options.
//!
//! Key: the resolved model file (canonical path) with the session options that change what a
//! session computes or how it runs (threads, device, precision). The ONNX Runtime library is not part of
//! the key: a process holds only one (see `runtime::init`). A [`Model`] is `Sync` (a session
//! pool), so one shared model serves any number of threads.

use super::registry::{self, ModelEntry};
use super::{Device, Model, ModelOptions, Precision};
use crate::error::Result;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

type Key = (PathBuf, usize, Device, Precision);

#[derive(Default)]
struct Cache {
    /// What each name or path given resolved to (resolving a name searches folders), with its
    /// canonical file: both found once, not on every call (the pixel function asks per block).
    entries: HashMap<String, (ModelEntry, PathBuf)>,
    models: HashMap<Key, Arc<Model>>,
}

/// The model `name_or_path` with `options`, loaded on first use and kept for the process.
/// `on_load` sees a model when it is loaded (to report its device note once). Loading holds
/// the lock, so concurrent first calls load once.
pub fn shared(
    name_or_path: &str,
    options: &ModelOptions,
    on_load: impl FnOnce(&Model),
) -> Result<Arc<Model>> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let (entry, file) = match cache.entries.get(name_or_path) {
        Some(found) => found.clone(),
        None => {
            let entry = registry::resolve(name_or_path)?;
            let found = (entry.clone(), canonical(&entry));
            cache
                .entries
                .insert(name_or_path.to_string(), found.clone());
            found
        }
    };
    let key = (file, options.threads, options.device, options.precision);
    if let Some(m) = cache.models.get(&key) {
        return Ok(m.clone());
    }
    let model = Arc::new(Model::load_entry(entry, options)?);
    on_load(&model);
    cache.models.insert(key, model.clone());
    Ok(model)
}

/// The canonical model file a shared model was keyed by (what resolved descriptors record).
pub fn model_file(model: &Model) -> PathBuf {
    canonical(&model.entry)
}

fn canonical(entry: &ModelEntry) -> PathBuf {
    std::fs::canonicalize(&entry.onnx).unwrap_or_else(|_| entry.onnx.clone())
}
