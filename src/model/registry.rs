//! Which models cloudmask can see, and resolving a model name or path to files.
//!
//! Searched, in order: folders in `$CLOUDMASK_MODEL_PATH` (':'-separated),
//! `~/.local/share/cloudmask/models`, the Debian package's [`PACKAGE_MODEL_DIR`], and the
//! `ukis_csmask` Python package wherever ONNX Runtime is searched for. In each model folder a
//! `ukis_csmask` subfolder holds ukis-csmask's files as the Python package ships them (the
//! Debian package carries them so, no Python needed). ukis models are named
//! `ukis-<bands>-<level>`, e.g. `ukis-6b-l1c`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The model used when none is named.
pub const DEFAULT_MODEL: &str = "ukis-6b-l1c";

#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    pub name: String,
    pub onnx: PathBuf,
    /// Sidecar card, when the card is not inside the ONNX file.
    pub sidecar: Option<PathBuf>,
}

/// The Debian package's model folder (`make dist`): the ukis-csmask models in `ukis_csmask/`.
pub const PACKAGE_MODEL_DIR: &str = "/usr/share/cloudmask/models";

/// The subfolder of a model folder holding ukis-csmask's files under their own names.
const UKIS_SUBDIR: &str = "ukis_csmask";

/// Folders searched for our own models.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var("CLOUDMASK_MODEL_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .collect();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/share/cloudmask/models"));
    }
    dirs.push(PathBuf::from(PACKAGE_MODEL_DIR));
    dirs
}

/// Every model visible now, our folders first, without duplicates by name.
pub fn list_models() -> Vec<ModelEntry> {
    let mut found: Vec<ModelEntry> = Vec::new();
    for dir in model_dirs() {
        found.extend(models_in_model_folder(&dir));
    }
    for site in model_site_packages() {
        found.extend(models_in_dir(&site.join(UKIS_SUBDIR), "ukis-"));
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|m| seen.insert(m.name.clone()));
    found
}

/// Python folders searched for the ukis_csmask package: the site-packages ONNX Runtime was
/// loaded (or would be loaded) from first, since inside gdal_translate or QGIS that is often the
/// only pointer to the user's environment, then the usual ones.
fn model_site_packages() -> Vec<PathBuf> {
    let ort = crate::runtime::loaded()
        .map(|rt| rt.path.clone())
        .or_else(crate::runtime::locate);
    // .../site-packages/onnxruntime/capi/libonnxruntime.so.X
    let mut dirs: Vec<PathBuf> = ort
        .and_then(|p| p.ancestors().nth(3).map(Path::to_path_buf))
        .into_iter()
        .collect();
    for root in crate::runtime::python_roots() {
        if !dirs.contains(&root) {
            dirs.push(root);
        }
    }
    dirs
}

/// One model folder's models: its own `*.onnx`, then ukis-csmask's in its `ukis_csmask/`.
fn models_in_model_folder(dir: &Path) -> Vec<ModelEntry> {
    let mut out = models_in_dir(dir, "");
    out.extend(models_in_dir(&dir.join(UKIS_SUBDIR), "ukis-"));
    out
}

/// `*.onnx` files in one folder; ukis files `model_6b_l1c.onnx` become `ukis-6b-l1c`.
fn models_in_dir(dir: &Path, prefix: &str) -> Vec<ModelEntry> {
    let mut out: Vec<ModelEntry> = crate::runtime::dir_entries(dir)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .map(|onnx| {
            let stem = onnx
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let name = if prefix.is_empty() {
                stem.clone()
            } else {
                format!(
                    "{prefix}{}",
                    stem.trim_start_matches("model_").replace('_', "-")
                )
            };
            let sidecar = onnx.with_extension("json");
            ModelEntry {
                name,
                sidecar: sidecar.is_file().then_some(sidecar),
                onnx,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Resolves what a user typed: a path to an `.onnx` file, or the name of a visible model.
pub fn resolve(name_or_path: &str) -> Result<ModelEntry> {
    let given = name_or_path.trim();
    if given.is_empty() {
        return Err(Error::invalid(
            "no model given: name one from `cloudmask models` or give a path to an .onnx file",
        ));
    }
    let path = Path::new(given);
    if given.ends_with(".onnx") || given.contains('/') {
        if !path.is_file() {
            return Err(Error::model(format!("model file {given} does not exist")));
        }
        let sidecar = path.with_extension("json");
        return Ok(ModelEntry {
            name: path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string(),
            onnx: path.to_path_buf(),
            sidecar: sidecar.is_file().then_some(sidecar),
        });
    }
    let all = list_models();
    all.iter().find(|m| m.name == given).cloned().ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|m| m.name.as_str()).collect();
        Error::model(if names.is_empty() {
            format!(
                "unknown model '{given}': no models are installed; `pip install ukis-csmask==1.0.0` provides four, \
                 or set CLOUDMASK_MODEL_PATH to a folder of .onnx models"
            )
        } else {
            format!("unknown model '{given}'; available: {}", names.join(", "))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_folder_holds_its_own_models_and_ukis_csmask_files() {
        let dir = std::env::temp_dir().join(format!("cm-models-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(UKIS_SUBDIR)).unwrap();
        std::fs::write(dir.join("mine.onnx"), b"x").unwrap();
        std::fs::write(dir.join(UKIS_SUBDIR).join("model_6b_l1c.onnx"), b"x").unwrap();
        std::fs::write(dir.join(UKIS_SUBDIR).join("model_6b_l1c.json"), b"{}").unwrap();
        std::fs::write(dir.join(UKIS_SUBDIR).join("mask.py"), b"").unwrap();
        let found = models_in_model_folder(&dir);
        let names: Vec<&str> = found.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["mine", "ukis-6b-l1c"]);
        assert_eq!(found[0].sidecar, None);
        assert_eq!(
            found[1].sidecar.as_deref(),
            Some(dir.join(UKIS_SUBDIR).join("model_6b_l1c.json").as_path())
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            model_dirs().last().map(PathBuf::as_path),
            Some(Path::new(PACKAGE_MODEL_DIR))
        );
    }
}
