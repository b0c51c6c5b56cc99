//! Resolving a descriptor: relative paths made absolute, and the resolved form (absolute
//! paths, band numbers, size, class names) that the driver writes into the dataset's
//! description and into VRTs, so a mask opens from any folder.

use super::{BufferSpec, Descriptor, FORMAT_VERSION};
use std::path::Path;

impl Descriptor {
    /// Turns relative file paths into absolute ones (relative to `base`, else the working
    /// folder). GDAL names (`SENTINEL2_L1C:…`, `/vsi…`) and model names are left as they are.
    pub fn absolutise(&mut self, base: Option<&Path>) {
        if let Some(abs) = self.image.as_deref().and_then(|s| absolute_file(s, base)) {
            self.image = Some(abs);
        }
        if self.model.ends_with(".onnx") || self.model.contains('/') {
            if let Some(abs) = absolute_file(&self.model, base) {
                self.model = abs;
            }
        }
    }

    /// The fully resolved form written into the dataset's description and into VRTs: what the
    /// mask was opened with (absolute paths, band numbers, size, class names).
    pub fn resolved(
        &self,
        model: String,
        bands: Option<Vec<usize>>,
        size: (usize, usize),
        class_names: Vec<String>,
    ) -> Descriptor {
        Descriptor {
            version: FORMAT_VERSION,
            model,
            bands,
            buffer: BufferSpec::of(&self.buffers()),
            width: Some(size.0),
            height: Some(size.1),
            class_names: Some(class_names),
            ..self.clone()
        }
    }
}

fn absolute_file(s: &str, base: Option<&Path>) -> Option<String> {
    let p = Path::new(s);
    if s.starts_with("/vsi") || (s.contains(':') && !p.exists()) {
        return None;
    }
    let joined = match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p.to_path_buf(),
    };
    let abs = std::fs::canonicalize(&joined).ok().or_else(|| {
        std::env::current_dir()
            .ok()
            .map(|d| d.join(&joined))
            .filter(|_| joined.is_relative())
    })?;
    Some(abs.to_string_lossy().into_owned())
}
