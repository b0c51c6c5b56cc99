//! Writing an assignment: `<folder>/<list>.txt` with the ids of each split, fold and bag (one
//! per line, in table order), and `<folder>/split.json` with the row indices, the dropped rows
//! and the report. Each file is written beside its target and renamed into place.

use super::table::Table;
use super::{Assignment, List};
use cloudmask::error::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Writes the files into `dir` (created when missing); returns their paths.
pub fn write(dir: &Path, table: &Table, a: &Assignment) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::output(format!("cannot create folder {}: {e}", dir.display())))?;
    let mut written = Vec::new();
    let lists: Vec<&List> = a.splits.iter().chain(&a.folds).chain(&a.bags).collect();
    for list in &lists {
        let mut text = String::new();
        for &i in &list.indices {
            text += &table.samples[i].id;
            text.push('\n');
        }
        written.push(write_atomic(
            &dir.join(format!("{}.txt", list.name)),
            &text,
        )?);
    }
    let indices: serde_json::Map<String, serde_json::Value> = lists
        .iter()
        .map(|l| (l.name.clone(), json!(l.indices)))
        .collect();
    let dropped: Vec<serde_json::Value> = a
        .dropped
        .iter()
        .map(|(i, why)| json!({"index": i, "id": table.samples[*i].id, "reason": why.to_string()}))
        .collect();
    let doc = json!({"lists": indices, "dropped": dropped, "report": a.report});
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::output(format!("cannot encode split.json: {e}")))?;
    written.push(write_atomic(&dir.join("split.json"), &text)?);
    Ok(written)
}

fn write_atomic(path: &Path, text: &str) -> Result<PathBuf> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, text)
        .and_then(|_| std::fs::rename(&temp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Error::output(format!("cannot write {}: {e}", path.display()))
        })?;
    Ok(path.to_path_buf())
}
