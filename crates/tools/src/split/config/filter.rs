//! Which samples a split accepts: by confidence and by source.

use super::super::table::Sample;
use serde::Deserialize;

/// Which samples a split accepts. Empty accepts everything.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Only samples whose confidence is at least this (unknown confidence fails).
    #[serde(default)]
    pub min_confidence: Option<f64>,
    /// Only samples from these sources.
    #[serde(default)]
    pub sources: Option<Vec<String>>,
    /// No samples from these sources.
    #[serde(default)]
    pub exclude_sources: Vec<String>,
}

impl Filter {
    pub fn accepts(&self, s: &Sample) -> bool {
        if let Some(min) = self.min_confidence {
            if !s.confidence.is_some_and(|c| c >= min) {
                return false;
            }
        }
        if let Some(sources) = &self.sources {
            if !sources.contains(&s.source) {
                return false;
            }
        }
        !self.exclude_sources.contains(&s.source)
    }

    pub fn is_empty(&self) -> bool {
        self.min_confidence.is_none() && self.sources.is_none() && self.exclude_sources.is_empty()
    }

    /// "confidence >= 0.9, source in [cvat]" for messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.min_confidence {
            parts.push(format!("confidence >= {c}"));
        }
        if let Some(s) = &self.sources {
            parts.push(format!("source in [{}]", s.join(", ")));
        }
        if !self.exclude_sources.is_empty() {
            parts.push(format!(
                "source not in [{}]",
                self.exclude_sources.join(", ")
            ));
        }
        if parts.is_empty() {
            "no filter".into()
        } else {
            parts.join(", ")
        }
    }
}
