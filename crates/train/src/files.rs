//! Files a run writes whole (logs, run state, exported models): written to a temporary file
//! beside their place and renamed, so a reader never sees half of one.

use cloudmask::error::{Error, Result};
use serde::Serialize;
use std::path::Path;

/// Writes `bytes` to `path` through `path` with the extension `tmp_extension`.
pub fn write_atomic(path: &Path, bytes: &[u8], tmp_extension: &str) -> Result<()> {
    let tmp = path.with_extension(tmp_extension);
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::output(format!("cannot write {}: {e}", path.display()))
        })
}

/// A folder of its own under the system's temporary folder for the test `test` (of this process).
#[cfg(test)]
pub fn scratch_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `text` written to `file` in the test's [`scratch_dir`]; returns the file's path.
#[cfg(test)]
pub fn scratch_file(test: &str, file: &str, text: &str) -> std::path::PathBuf {
    let path = scratch_dir(test).join(file);
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes `value` as pretty-printed JSON.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("JSON serialises");
    write_atomic(path, text.as_bytes(), "json.tmp")
}
