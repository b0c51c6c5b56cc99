//! Outputs that are complete or absent. Each file of a run is written to a hidden temporary
//! beside its target, `.<name>.partial-<pid>.<what>`, locked (`flock`) while the run lives;
//! [`commit_all`] renames the run's temporaries into place only once every one of them is
//! finished and synced, and a [`Staged`] dropped without that removes its temporary. So a
//! failure, a cancel or a signal leaves neither a temporary nor an earlier product of the run.
//!
//! A run that was killed (SIGKILL, a crash, power loss) cannot clean up; its temporaries are
//! recognised by the next run that writes the same target ([`clean_stale`]): their name says
//! which target and process they belong to, and nobody holds their lock any more.

use super::gdal::collect_failures;
use crate::error::{Error, ErrorKind, Result};
use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A temporary file beside its target, locked while this value lives and removed on drop unless
/// [`commit_all`] moved it into place.
#[derive(Debug)]
pub struct Staged {
    target: PathBuf,
    temp: PathBuf,
    /// Holds the `flock` that tells other runs this temporary is in use; also the handle that
    /// [`Staged::sync`] flushes through.
    lock: File,
    committed: bool,
}

impl Staged {
    /// Creates `.<target name>.partial-<pid>.<what>` beside `target`, empty and locked; the
    /// writer (GDAL, or plain `std::fs`) then writes into that same file.
    pub fn new(target: &Path, what: &str) -> Result<Staged> {
        let temp = parent_dir(target).join(format!(
            "{}{what}",
            partial_prefix(target, std::process::id())
        ));
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| {
                Error::output(format!(
                    "cannot create the temporary file {} for {}: {e}",
                    temp.display(),
                    target.display()
                ))
            })?;
        // SAFETY: a valid descriptor of the file just opened.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            let _ = std::fs::remove_file(&temp);
            return Err(Error::output(format!(
                "cannot lock the temporary file {}: {e}",
                temp.display()
            )));
        }
        Ok(Staged {
            target: target.to_path_buf(),
            temp,
            lock,
            committed: false,
        })
    }

    /// The temporary file to write.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Where the file goes once the run is complete.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Forces the temporary's data to disk: a filesystem that accepted a write it cannot keep
    /// (delayed allocation, quotas, NFS) says so here at the latest.
    pub fn sync(&self) -> Result<()> {
        self.lock.sync_all().map_err(|e| {
            Error::output(format!(
                "writing {} failed while flushing it to disk: {e}{}",
                self.target.display(),
                full_note(&self.target)
            ))
        })
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
            let _ = std::fs::remove_file(aux_xml(&self.temp));
        }
    }
}

/// Syncs every temporary, then renames each into place. If a rename fails, the files already
/// renamed are removed again, so a run leaves all of its products or none.
pub fn commit_all(staged: Vec<Staged>) -> Result<Vec<PathBuf>> {
    for s in &staged {
        s.sync()?;
    }
    let mut placed: Vec<PathBuf> = Vec::new();
    for mut s in staged {
        if let Err(e) = std::fs::rename(&s.temp, &s.target) {
            for done in &placed {
                let _ = std::fs::remove_file(done);
                let _ = std::fs::remove_file(aux_xml(done));
            }
            return Err(Error::output(format!(
                "cannot move the finished output into place at {}: {e}{}",
                s.target.display(),
                if placed.is_empty() {
                    String::new()
                } else {
                    "; the outputs already moved were removed again".to_string()
                }
            )));
        }
        s.committed = true;
        // GDAL keeps what GeoTIFF cannot hold (category names) in a `.aux.xml` sidecar: it moves
        // with the file, and one left from an earlier output of the same name must not apply.
        if std::fs::rename(aux_xml(&s.temp), aux_xml(&s.target)).is_err() {
            let _ = std::fs::remove_file(aux_xml(&s.target));
        }
        placed.push(s.target.clone());
    }
    Ok(placed)
}

/// Removes the temporaries an earlier, killed run left while writing `target`
/// (`.<name>.partial-<pid>.*` beside it) and returns a note for each file removed. A
/// temporary is left alone while any file of its run is locked (that run is alive), or while
/// its process is alive and it is a few seconds old (it may not be locked yet).
pub fn clean_stale(target: &Path) -> Vec<String> {
    let dir = parent_dir(target);
    let prefix = partial_stem(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    // Temporaries by the process id in their name.
    let mut runs: std::collections::BTreeMap<u32, Vec<PathBuf>> = Default::default();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        // Only regular files: opening a FIFO that merely has such a name would block.
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            runs.entry(pid).or_default().push(entry.path());
        }
    }
    let mut notes = Vec::new();
    for (pid, files) in runs {
        if files.iter().any(|f| is_locked(f)) || (process_alive(pid) && any_recent(&files)) {
            continue;
        }
        for f in files {
            if std::fs::remove_file(&f).is_ok() {
                notes.push(format!(
                    "removed {}, a temporary file that an interrupted run (process {pid}) left while writing {}",
                    f.display(),
                    target.display()
                ));
            }
        }
    }
    notes
}

/// `.<target name>.partial-<pid>.`: every temporary of `target` written by process `pid`.
fn partial_prefix(target: &Path, pid: u32) -> String {
    format!("{}{pid}.", partial_stem(target))
}

/// `.<target name>.partial-`: every temporary of `target`.
fn partial_stem(target: &Path) -> String {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    format!(".{name}.partial-")
}

/// Whether another open file description holds a `flock` on `path`.
fn is_locked(path: &Path) -> bool {
    let Ok(file) = File::open(path) else {
        return false;
    };
    // SAFETY: a valid descriptor; a lock taken here is released when `file` closes.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) != 0 }
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; EPERM means it exists too.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

/// Whether any of `files` changed in the last few seconds: a live run creates its temporary
/// and locks it at once, so an unlocked one older than this is not being written.
fn any_recent(files: &[PathBuf]) -> bool {
    files.iter().any(|f| {
        std::fs::metadata(f)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map_or(true, |age| age < Duration::from_secs(5))
    })
}

pub(crate) fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// GDAL's PAM sidecar of a file: `<file>.aux.xml`.
pub(crate) fn aux_xml(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".aux.xml");
    PathBuf::from(name)
}

/// "; the disk holding DIR is full (N bytes free)" when the target's folder has less than 1 MiB
/// left, else nothing: what most write failures of a large output come down to.
pub(crate) fn full_note(target: &Path) -> String {
    let dir = parent_dir(target);
    match free_bytes(&dir) {
        Some(free) if free < 1 << 20 => format!(
            "; the disk holding {} is full ({free} bytes free)",
            dir.display()
        ),
        _ => String::new(),
    }
}

/// Runs a GDAL step of writing `target`: its own error, or any failure GDAL reported through
/// its error handler meanwhile, becomes an output error that says when the disk is full. Every
/// writer of a run's files (products, quicklook, VRT) goes through it.
pub(crate) fn checked<T>(target: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let (result, failures) = collect_failures(f);
    match result {
        Err(mut e) => {
            if e.kind == ErrorKind::Output {
                e.message.push_str(&full_note(target));
            }
            Err(e)
        }
        Ok(_) if !failures.is_empty() => Err(Error::output(format!(
            "writing {} failed: {}{}",
            target.display(),
            failures.join("; "),
            full_note(target)
        ))),
        Ok(v) => Ok(v),
    }
}

fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: a valid C string and a buffer of the right type, read only on success.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs succeeded, so it filled the buffer.
    let st = unsafe { st.assume_init() };
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_commit_together_and_stale_ones_are_recognised() {
        let dir = std::env::temp_dir().join(format!("cloudmask-staging-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.tif"), dir.join("b.png"));
        let sa = Staged::new(&a, "tif").unwrap();
        let sb = Staged::new(&b, "png").unwrap();
        assert!(sa
            .path()
            .ends_with(format!(".a.tif.partial-{}.tif", std::process::id())));
        std::fs::write(sa.path(), b"A").unwrap();
        std::fs::write(sb.path(), b"B").unwrap();
        // Our own temporaries are locked: another run writing a.tif leaves them alone.
        assert!(clean_stale(&a).is_empty());
        assert!(sa.path().exists());
        assert_eq!(commit_all(vec![sa, sb]).unwrap(), [a.clone(), b.clone()]);
        assert_eq!(std::fs::read(&a).unwrap(), b"A");
        // A dropped temporary is removed.
        let dropped = Staged::new(&a, "tif").unwrap();
        let temp = dropped.path().to_path_buf();
        drop(dropped);
        assert!(!temp.exists());
        // An unlocked, old temporary of a process that is gone: removed with a note.
        let stale = dir.join(".a.tif.partial-999999999.tif");
        std::fs::write(&stale, b"").unwrap();
        let other = dir.join(".b.png.partial-999999999.png");
        std::fs::write(&other, b"").unwrap();
        let notes = clean_stale(&a);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("process 999999999"), "{notes:?}");
        assert!(!stale.exists() && other.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
