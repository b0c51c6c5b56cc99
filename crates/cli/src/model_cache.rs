//! The models of one `cloudmask mask` run, each loaded once, when the first scene needs it: a
//! batch mixing L1C and L2A products loads two models, not one per scene. Loading goes through
//! the library's process-wide cache (`cloudmask::model::cache::shared`); this only counts the
//! loads for the summary and remembers a model that failed to load, so the scenes needing it
//! fail at once with the same error instead of each trying again.

use cloudmask::model::cache::shared;
use cloudmask::{Error, Model, ModelOptions, Result};
use std::collections::HashMap;
use std::sync::Arc;

pub struct ModelCache {
    options: ModelOptions,
    failed: HashMap<String, Error>,
    loaded: usize,
}

impl ModelCache {
    pub fn new(options: ModelOptions) -> ModelCache {
        ModelCache {
            options,
            failed: HashMap::new(),
            loaded: 0,
        }
    }

    pub fn get(&mut self, name: &str) -> Result<Arc<Model>> {
        if let Some(e) = self.failed.get(name) {
            return Err(e.clone());
        }
        let loaded = &mut self.loaded;
        shared(name, &self.options, |model| {
            *loaded += 1;
            // What the load changed (device fallback, threads capped), once per model.
            for note in model.notes() {
                eprintln!("cloudmask: note: {note}");
            }
        })
        .inspect_err(|e| {
            self.failed.insert(name.to_string(), e.clone());
        })
    }

    /// Models loaded so far.
    pub fn loaded(&self) -> usize {
        self.loaded
    }
}
