//! The models of one `cloudmask mask` run, each loaded once, when the first scene needs it: a
//! batch mixing L1C and L2A products loads two models, not one per scene. A model that fails to
//! load is remembered too, so the scenes needing it fail at once with the same error.

use crate::mask::load_model;
use cloudmask::{Model, ModelOptions, Result};
use std::collections::HashMap;

pub struct ModelCache {
    options: ModelOptions,
    models: HashMap<String, Result<Model>>,
}

impl ModelCache {
    pub fn new(options: ModelOptions) -> ModelCache {
        ModelCache {
            options,
            models: HashMap::new(),
        }
    }

    pub fn get(&mut self, name: &str) -> Result<&Model> {
        let options = &self.options;
        self.models
            .entry(name.to_string())
            .or_insert_with(|| load_model(name, options))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Models loaded successfully so far.
    pub fn loaded(&self) -> usize {
        self.models.values().filter(|m| m.is_ok()).count()
    }
}
