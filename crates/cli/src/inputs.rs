//! The inputs of `cloudmask mask`: positional arguments and `--from-list` lines expanded into
//! the list of scenes, in order, each once. A folder stands for the rasters and products in it
//! (sub-folders only with `--recursive`); a product folder (a .SAFE, a Landsat scene) is one
//! input; a glob is expanded here too, so a pattern quoted in a script works as the shell's
//! would; anything else (a file, a GDAL name such as `SENTINEL2_L1C:…` or `/vsizip/…`) is
//! passed on as given and fails as its own scene if it cannot be read.

use cloudmask::raster::products::is_product_folder;
use cloudmask::{Error, Result};
use std::collections::HashSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// File name endings taken from a folder: rasters GDAL reads and products as downloaded (a
/// Sentinel-2 `.zip`, a Landsat `.tar`), as docs/cli.md lists them. Sidecars (`.aux.xml`,
/// `.ovr`, `.msk`) and everything else are left out.
const RASTER_EXTENSIONS: &[&str] = &[
    "tif", "tiff", "vrt", "jp2", "img", "nc", "h5", "hdf", "zip", "tar",
];

/// Every input named by `args` and the list file, expanded.
pub fn expand(args: &[String], from_list: Option<&str>, recursive: bool) -> Result<Vec<String>> {
    let mut named: Vec<String> = args.to_vec();
    if let Some(list) = from_list {
        named.extend(read_list(list)?);
    }
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for arg in &named {
        for input in expand_one(arg, recursive)? {
            // The same file named twice (by a glob and by name) is masked once.
            let key = std::fs::canonicalize(&input).unwrap_or_else(|_| PathBuf::from(&input));
            if seen.insert(key) {
                out.push(input);
            }
        }
    }
    Ok(out)
}

/// The non-blank, non-comment lines of `list` (`-`: standard input).
fn read_list(list: &str) -> Result<Vec<String>> {
    let fail = |e: std::io::Error| Error::input(format!("--from-list {list}: {e}"));
    let lines: Vec<String> = if list == "-" {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<std::io::Result<_>>()
    } else {
        let file = std::fs::File::open(list).map_err(fail)?;
        std::io::BufReader::new(file)
            .lines()
            .collect::<std::io::Result<_>>()
    }
    .map_err(fail)?;
    Ok(lines
        .into_iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect())
}

fn expand_one(arg: &str, recursive: bool) -> Result<Vec<String>> {
    let path = Path::new(arg);
    if path.exists() {
        return Ok(expand_path(path, recursive));
    }
    if !arg.contains(['*', '?', '[']) {
        return Ok(vec![arg.to_string()]);
    }
    // As a shell expands it: hidden files (the temporaries of a run) only when named with a dot.
    let options = glob::MatchOptions {
        require_literal_leading_dot: true,
        ..glob::MatchOptions::new()
    };
    let matches = glob::glob_with(arg, options)
        .map_err(|e| Error::invalid(format!("input pattern '{arg}': {e}")))?
        .filter_map(|m| m.ok())
        .collect::<Vec<_>>();
    if matches.is_empty() {
        return Err(Error::input(format!(
            "no file matches the input pattern '{arg}'"
        )));
    }
    Ok(matches
        .iter()
        .flat_map(|m| expand_path(m, recursive))
        .collect())
}

/// A file or product as itself; a folder as the rasters and products in it, sorted by name.
fn expand_path(path: &Path, recursive: bool) -> Vec<String> {
    if !path.is_dir() || is_product_folder(path) {
        return vec![path.to_string_lossy().into_owned()];
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    let mut out = Vec::new();
    for entry in entries {
        if entry.is_dir() {
            if is_product_folder(&entry) {
                out.push(entry.to_string_lossy().into_owned());
            } else if recursive {
                out.extend(expand_path(&entry, true));
            }
        } else if is_raster_name(&entry) {
            out.push(entry.to_string_lossy().into_owned());
        }
    }
    out
}

fn is_raster_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    // Hidden files include the temporaries an interrupted run leaves beside its outputs.
    !name.starts_with('.')
        && path
            .extension()
            .map(|e| RASTER_EXTENSIONS.contains(&e.to_string_lossy().to_ascii_lowercase().as_str()))
            .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_globs_and_products_expand() {
        let dir = std::env::temp_dir().join(format!("cm-inputs-{}", std::process::id()));
        let sub = dir.join("sub");
        let safe = dir.join("S2A_MSIL1C_X.SAFE");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::create_dir_all(safe.join("GRANULE")).unwrap();
        for f in [
            "b.tif",
            "a.TIF",
            "a.tif.aux.xml",
            "notes.txt",
            ".a.tif.tmp.tif",
        ] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        std::fs::write(sub.join("c.vrt"), "").unwrap();
        let d = dir.to_string_lossy().into_owned();
        let names = |v: Vec<String>| -> Vec<String> {
            v.iter()
                .map(|p| p.strip_prefix(&format!("{d}/")).unwrap_or(p).to_string())
                .collect()
        };
        let flat = expand(std::slice::from_ref(&d), None, false).unwrap();
        assert_eq!(names(flat), ["S2A_MSIL1C_X.SAFE", "a.TIF", "b.tif"]);
        let deep = expand(std::slice::from_ref(&d), None, true).unwrap();
        assert_eq!(
            names(deep),
            ["S2A_MSIL1C_X.SAFE", "a.TIF", "b.tif", "sub/c.vrt"]
        );
        // A glob, a name given twice, a list file with comments.
        let list = dir.join("list.txt");
        std::fs::write(&list, format!("# scenes\n\n {d}/b.tif \n")).unwrap();
        let got = expand(
            &[format!("{d}/*.tif"), format!("{d}/b.tif")],
            Some(&list.to_string_lossy()),
            false,
        )
        .unwrap();
        assert_eq!(names(got), ["b.tif"]);
        let e = expand(&[format!("{d}/*.jp2")], None, false).unwrap_err();
        assert_eq!(e.kind, cloudmask::ErrorKind::Input);
        assert!(e.message.contains("no file matches"), "{}", e.message);
        // Landsat scenes as downloaded: a folder of .tar archives.
        let tars = dir.join("tars");
        std::fs::create_dir_all(&tars).unwrap();
        std::fs::write(
            tars.join("LC08_L1TP_193026_20200423_20200822_02_T1.tar"),
            "",
        )
        .unwrap();
        std::fs::write(
            tars.join("LC08_L1TP_193026_20200423_20200822_02_T1.txt"),
            "",
        )
        .unwrap();
        let t = tars.to_string_lossy().into_owned();
        assert_eq!(
            expand(std::slice::from_ref(&t), None, false).unwrap(),
            [format!("{t}/LC08_L1TP_193026_20200423_20200822_02_T1.tar")]
        );
        // A name that does not exist is passed on: it fails later as its own scene.
        assert_eq!(
            expand(&["/no/such.tif".into()], None, false).unwrap(),
            ["/no/such.tif"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
