//! Outputs refused before any work starts: one that cannot be written (no such folder, a folder
//! that is not writable), one that exists and is not a regular file (a folder, a device node such
//! as /dev/null, a FIFO, a socket), one that is an input of the run, and two outputs that are
//! the same file. Paths are compared as the filesystem resolves them: symbolic links followed,
//! `..` and `.` removed (for an output that does not exist yet, its folder resolved and its
//! name added), and existing files also by device and inode, which catches hard links.
//!
//! Every shell reaches these through [`check_outputs`]: `cloudmask mask` and `cm_mask_to_files`
//! through `scene::check_outputs`, `cloudmask vrt` and `cm_write_virtual_mask` through
//! `gdal_plugin::write_virtual_mask`.

use super::gdal::{register_drivers, Dataset};
use super::input::{Input, Raster};
use super::staging::parent_dir;
use crate::error::{Error, Result};
use gdal_sys as g;
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Refuses `outputs` (each with what it is, e.g. "classes output", for messages) that cannot
/// be written, that resolve to one of `inputs`, or to each other. Paths are indexed once, so a
/// batch of thousands of scenes is checked in linear time.
pub fn check_outputs(inputs: &[PathBuf], outputs: &[(String, PathBuf)]) -> Result<()> {
    let mut input_index = FileIndex::default();
    for (i, input) in inputs.iter().enumerate() {
        input_index.insert(input, i);
    }
    for (what, path) in outputs {
        check_writable(path)?;
        if let Some(i) = input_index.find(path) {
            return Err(Error::output(format!(
                "the {what} {}{} is the input {}: writing it would destroy the input; choose another output name",
                path.display(),
                resolved_note(path),
                inputs[i].display()
            )));
        }
    }
    let mut output_index = FileIndex::default();
    for (k, (what_b, b)) in outputs.iter().enumerate() {
        if let Some(j) = output_index.find(b) {
            let (what_a, a) = &outputs[j];
            return Err(Error::output(format!(
                "the {what_a} {}{} and the {what_b} {}{} are the same file: give each output its own name",
                a.display(),
                resolved_note(a),
                b.display(),
                resolved_note(b)
            )));
        }
        output_index.insert(b, k);
    }
    Ok(())
}

/// Fails early, before any work, when `target` cannot be written as a new regular file.
pub fn check_writable(target: &Path) -> Result<()> {
    if target.file_name().is_none() {
        return Err(Error::output(format!(
            "cannot write {}: it names a folder, not a file",
            target.display()
        )));
    }
    if let Ok(meta) = fs::metadata(target) {
        if !meta.is_file() {
            return Err(Error::output(format!(
                "cannot write {}: it exists and is {}, not a regular file; give the name of a file to create",
                target.display(),
                kind_of(&meta.file_type())
            )));
        }
    }
    let dir = parent_dir(target);
    if !dir.is_dir() {
        return Err(Error::output(format!(
            "cannot write {}: folder {} does not exist",
            target.display(),
            dir.display()
        )));
    }
    let probe = dir.join(format!(".cloudmask-probe-{}", std::process::id()));
    fs::write(&probe, b"").map_err(|e| {
        Error::output(format!(
            "cannot write {}: folder {} is not writable ({e})",
            target.display(),
            dir.display()
        ))
    })?;
    let _ = fs::remove_file(probe);
    Ok(())
}

/// The files an input is read from: its path and every file GDAL names for it (sidecars such as
/// `.aux.xml` and `.ovr`, a VRT's sources, the files of a Sentinel-2 product).
pub fn input_files(input: &Input) -> Vec<PathBuf> {
    let mut files = Vec::new();
    match &input.raster {
        Raster::Path(p) => {
            files.push(PathBuf::from(p));
            if let Ok(ds) = Dataset::open_container(p) {
                files.extend(gdal_file_list(&ds));
            }
        }
        Raster::Open(ds) => files.extend(gdal_file_list(ds)),
    }
    files
}

fn gdal_file_list(ds: &Dataset) -> Vec<PathBuf> {
    register_drivers();
    // SAFETY: a valid dataset; GDAL returns a NULL-terminated list we own and free.
    unsafe {
        let list = g::GDALGetFileList(ds.handle());
        if list.is_null() {
            return Vec::new();
        }
        let mut files = Vec::new();
        let mut i = 0;
        while !(*list.add(i)).is_null() {
            let name = std::ffi::CStr::from_ptr(*list.add(i)).to_string_lossy();
            files.push(PathBuf::from(name.into_owned()));
            i += 1;
        }
        g::CSLDestroy(list);
        files
    }
}

/// Files by what makes two paths one file: the same resolved path, or (for files that exist)
/// the same device and inode, which catches hard links. Each maps to the first index inserted.
#[derive(Default)]
struct FileIndex {
    by_path: HashMap<PathBuf, usize>,
    by_inode: HashMap<(u64, u64), usize>,
}

impl FileIndex {
    fn insert(&mut self, p: &Path, i: usize) {
        self.by_path.entry(resolve(p)).or_insert(i);
        if let Ok(m) = fs::metadata(p) {
            self.by_inode.entry((m.dev(), m.ino())).or_insert(i);
        }
    }

    fn find(&self, p: &Path) -> Option<usize> {
        self.by_path.get(&resolve(p)).copied().or_else(|| {
            let m = fs::metadata(p).ok()?;
            self.by_inode.get(&(m.dev(), m.ino())).copied()
        })
    }
}

/// The path the filesystem would open: links followed; for a file that does not exist yet,
/// its folder resolved and its name added.
fn resolve(p: &Path) -> PathBuf {
    if let Ok(c) = fs::canonicalize(p) {
        return c;
    }
    match (fs::canonicalize(parent_dir(p)), p.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => p.to_path_buf(),
    }
}

/// " (which resolves to X)" when `p` is a link or a roundabout name, else nothing.
fn resolved_note(p: &Path) -> String {
    let r = resolve(p);
    let plain = fs::canonicalize(parent_dir(p))
        .ok()
        .zip(p.file_name())
        .map(|(d, n)| d.join(n));
    if Some(&r) == plain.as_ref() {
        String::new()
    } else {
        format!(" (which resolves to {})", r.display())
    }
}

fn kind_of(t: &fs::FileType) -> &'static str {
    if t.is_dir() {
        "a folder"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}
