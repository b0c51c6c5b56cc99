//! Where ONNX Runtime is searched: one ordered list of places, used by the loader
//! ([`super::init`]) and shown by `cloudmask doctor`, so what is loaded is always what the list
//! says.
//!
//! Only explicit places, never the current directory: opening a raster in a downloaded folder
//! must not load a `libonnxruntime.so` planted in it (issue 12). In order:
//! 1. the argument (`--ort-lib`, `cm_runtime_init`, `cm_model_options.ort_library`);
//! 2. `$CLOUDMASK_ORT_LIB`, then `$ORT_DYLIB_PATH`;
//! 3. the Debian package's private copy ([`DEBIAN_PACKAGE_DIR`], what `make dist` packages), so
//!    an installed `cloudmask`, the auto-loaded GDAL plugin and the QGIS plugin all use the
//!    runtime the package was tested with;
//! 4. the package's own folders: a `.venv` in the folder of the cloudmask binary that holds this
//!    code (the `cloudmask` program, or `libcloudmask.so` / `gdal_cloudmask.so` inside a host
//!    such as gdalinfo or QGIS) or in one of the [`PACKAGE_LEVELS`] - 1 folders above it, so
//!    `target/release/cloudmask` and `target/release/gdalplugins/gdal_cloudmask.so` find the
//!    checkout's `.venv`;
//! 5. installed Python environments by absolute prefix: `$VIRTUAL_ENV`, `~/.local`,
//!    `/usr/local`, `/usr/lib/python3/dist-packages`;
//! 6. the system library folders ([`SYSTEM_LIBS`]).
//!
//! For `--device openvino` (and `auto`) the same list is searched for a runtime with
//! ONNX Runtime's OpenVINO provider ([`Want::OpenVino`]): step 4 looks in a `.venv-openvino`
//! before each `.venv`, and a library counts only with `libonnxruntime_providers_openvino.so`
//! beside it (the `onnxruntime-openvino` wheel's layout).
//!
//! A named place (1, 2) that is set ends the search: it must be an absolute path to an existing
//! file (a relative one names no fixed file: it would mean a different library in every working
//! folder). Python environments hold the `onnxruntime` (or `onnxruntime-gpu`) wheel's
//! `onnxruntime/capi/libonnxruntime.so.<version>`.

use std::path::{Path, PathBuf};

/// The environment variables read, in order.
pub const ENV_VARS: [&str; 2] = ["CLOUDMASK_ORT_LIB", "ORT_DYLIB_PATH"];

/// The Debian package's private library folder: it holds ONNX Runtime as
/// `libonnxruntime.so.<version>`, out of the linker's path so no other program picks it up.
pub const DEBIAN_PACKAGE_DIR: &str = "/usr/lib/x86_64-linux-gnu/cloudmask";

/// The folder of the cloudmask binary and the folders above it searched for a `.venv`.
pub const PACKAGE_LEVELS: usize = 4;

/// System library files, in order.
pub const SYSTEM_LIBS: &[&str] = &[
    "/usr/local/lib/libonnxruntime.so",
    "/usr/lib/x86_64-linux-gnu/libonnxruntime.so",
    "/usr/lib/libonnxruntime.so",
];

/// The OpenVINO provider's library, which ONNX Runtime loads from its own folder.
pub const OPENVINO_PROVIDER_LIB: &str = "libonnxruntime_providers_openvino.so";

/// What the search looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Any ONNX Runtime: the search of `--device cpu` (and cuda).
    Any,
    /// One with the OpenVINO execution provider beside it.
    OpenVino,
}

/// One place searched, in search order.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    /// Why it is searched, e.g. "$CLOUDMASK_ORT_LIB" or "$VIRTUAL_ENV".
    pub source: String,
    /// The file or folder looked at; None for a variable that is not set.
    pub location: Option<PathBuf>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The library, as an absolute canonical path.
    Found(PathBuf),
    /// Nothing there (or the variable is not set).
    Absent,
    /// A named place that cannot be used, and why; it ends the search with an error.
    Refused(String),
}

impl Place {
    /// Whether the search stops here: a library found, or a named place that is set but wrong.
    pub fn decides(&self) -> bool {
        !matches!(self.outcome, Outcome::Absent)
    }
}

/// Every place in search order, with what is there. Nothing is loaded.
pub fn places(explicit: Option<&Path>) -> Vec<Place> {
    places_for(explicit, Want::Any)
}

/// [`places`] for what `want` needs. The named places (argument, variables) are the user's
/// choice whatever they hold, so they are kept as they are.
pub fn places_for(explicit: Option<&Path>, want: Want) -> Vec<Place> {
    let mut out = Vec::new();
    if let Some(p) = explicit {
        out.push(named(
            "the argument (--ort-lib, ort_library)".to_string(),
            p,
        ));
    }
    for var in ENV_VARS {
        out.push(match std::env::var_os(var).filter(|v| !v.is_empty()) {
            Some(v) => named(format!("${var}"), Path::new(&v)),
            None => Place {
                source: format!("${var}"),
                location: None,
                outcome: Outcome::Absent,
            },
        });
    }
    let mut package = in_library_folder(
        "the cloudmask package".to_string(),
        Path::new(DEBIAN_PACKAGE_DIR),
    );
    package.outcome = wanted(package.outcome, want);
    out.push(package);
    out.extend(python_places(want));
    for lib in SYSTEM_LIBS {
        let path = PathBuf::from(lib);
        out.push(Place {
            source: "system library folder".to_string(),
            outcome: wanted(found_file(&path), want),
            location: Some(path),
        });
    }
    out
}

/// A library found counts for [`Want::OpenVino`] only with the provider beside it.
fn wanted(outcome: Outcome, want: Want) -> Outcome {
    match outcome {
        Outcome::Found(lib) if want == Want::OpenVino => {
            let folder = lib.parent().unwrap_or(Path::new("/"));
            if folder.join(OPENVINO_PROVIDER_LIB).is_file() {
                Outcome::Found(lib)
            } else {
                Outcome::Absent
            }
        }
        other => other,
    }
}

/// The site-packages folders of the Python environments searched (steps 4 and 5), in order:
/// where the ukis-csmask models are looked for too.
pub fn python_roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = python_places(Want::Any)
        .into_iter()
        .filter_map(|p| p.location)
        .filter(|l| l.is_dir())
        .collect();
    roots.dedup();
    roots
}

/// Steps 4 and 5: the package's .venv, then Python environments by absolute prefix.
fn python_places(want: Want) -> Vec<Place> {
    let venvs: &[&str] = match want {
        Want::Any => &[".venv"],
        Want::OpenVino => &[".venv-openvino", ".venv"],
    };
    let mut out = Vec::new();
    if let Some(binary) = own_binary() {
        for dir in binary.ancestors().skip(1).take(PACKAGE_LEVELS) {
            for venv in venvs {
                let source = format!("the package's {venv} (beside {})", binary.display());
                out.extend(in_prefix(&source, &dir.join(venv)));
            }
        }
    }
    for (source, prefix) in python_prefixes() {
        out.extend(in_prefix(&source, &prefix));
    }
    let debian = PathBuf::from("/usr/lib/python3/dist-packages");
    out.push(in_site_packages("/usr/lib/python3".to_string(), &debian));
    for place in &mut out {
        place.outcome = wanted(std::mem::replace(&mut place.outcome, Outcome::Absent), want);
    }
    out
}

/// A path the user named: used as it is when absolute and an existing file.
fn named(source: String, p: &Path) -> Place {
    let outcome = if !p.is_absolute() {
        Outcome::Refused(format!(
            "{} is a relative path, which names no fixed file (it would depend on the current directory); give the absolute path of libonnxruntime.so",
            p.display()
        ))
    } else {
        match found_file(p) {
            Outcome::Absent => Outcome::Refused(format!(
                "ONNX Runtime library {} does not exist",
                p.display()
            )),
            other => other,
        }
    };
    Place {
        source,
        location: Some(p.to_path_buf()),
        outcome,
    }
}

fn found_file(p: &Path) -> Outcome {
    match std::fs::canonicalize(p) {
        Ok(c) if c.is_file() => Outcome::Found(c),
        _ => Outcome::Absent,
    }
}

/// Python prefixes searched by absolute path (step 5). A prefix given by a variable that is
/// not absolute is skipped: it would be relative to the current directory.
fn python_prefixes() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(venv) = absolute("VIRTUAL_ENV") {
        out.push(("$VIRTUAL_ENV".to_string(), venv));
    }
    if let Some(home) = absolute("HOME") {
        out.push(("~/.local".to_string(), home.join(".local")));
    }
    out.push(("/usr/local".to_string(), PathBuf::from("/usr/local")));
    out
}

/// `<prefix>/lib/python3.*/{site,dist}-packages`, one place each; one absent place naming the
/// pattern when there is none, so `cloudmask doctor` shows that the prefix was looked at.
fn in_prefix(source: &str, prefix: &Path) -> Vec<Place> {
    let lib = prefix.join("lib");
    let mut sites: Vec<PathBuf> = super::dir_entries(&lib)
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .flat_map(|e| ["site-packages", "dist-packages"].map(|leaf| e.path().join(leaf)))
        .filter(|p| p.is_dir())
        .collect();
    sites.sort();
    if sites.is_empty() {
        return vec![Place {
            source: source.to_string(),
            location: Some(lib.join("python3.*/site-packages")),
            outcome: Outcome::Absent,
        }];
    }
    sites
        .iter()
        .map(|site| in_site_packages(source.to_string(), site))
        .collect()
}

/// `onnxruntime/capi/libonnxruntime.so.<version>` inside one site-packages folder.
fn in_site_packages(source: String, site: &Path) -> Place {
    let capi = site.join("onnxruntime").join("capi");
    Place {
        location: Some(site.to_path_buf()),
        ..in_library_folder(source, &capi)
    }
}

/// `libonnxruntime.so*` inside one folder, the fully versioned file first.
fn in_library_folder(source: String, dir: &Path) -> Place {
    let mut libs: Vec<PathBuf> = super::dir_entries(dir)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
        })
        .collect();
    // Prefer the fully versioned file (the real library) over any symlink names.
    libs.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    let outcome = libs
        .first()
        .map(|l| found_file(l))
        .unwrap_or(Outcome::Absent);
    Place {
        source,
        location: Some(dir.to_path_buf()),
        outcome,
    }
}

/// The file this code was loaded from: `libcloudmask.so` (or its copy `gdal_cloudmask.so`)
/// inside a host program, or the program itself when the library is linked in (`cloudmask`,
/// the tests). Read from /proc/self/maps, which names every mapped file by its absolute path
/// whatever name it was opened by (dladdr gives `argv[0]` for a program, which may be
/// relative to the directory it was started from).
pub fn own_binary() -> Option<PathBuf> {
    let here = own_binary as *const () as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines().find_map(|line| mapped_file(line, here))
}

/// The file of one /proc/self/maps line (`start-end perms offset dev inode   path`) when the
/// mapping holds `address`.
fn mapped_file(line: &str, address: usize) -> Option<PathBuf> {
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    if !(start..end).contains(&address) {
        return None;
    }
    let path = fields.nth(4)?.trim_start();
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    path.starts_with('/').then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_library_in_a_site_packages_layout() {
        let dir = std::env::temp_dir().join(format!("cm-rt-{}", std::process::id()));
        let capi = dir.join("onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::write(capi.join("libonnxruntime.so.1.31.1"), b"x").unwrap();
        std::fs::write(capi.join("onnxruntime_pybind11_state.so"), b"x").unwrap();
        let place = in_site_packages("test".into(), &dir);
        let want = std::fs::canonicalize(capi.join("libonnxruntime.so.1.31.1")).unwrap();
        assert_eq!(place.outcome, Outcome::Found(want));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_debian_package_folder_comes_right_after_the_variables() {
        let all = places(None);
        let at = all
            .iter()
            .position(|p| p.source == "the cloudmask package")
            .expect("the package's folder is searched");
        assert_eq!(at, ENV_VARS.len(), "{all:?}");
        assert_eq!(
            all[at].location.as_deref(),
            Some(Path::new(DEBIAN_PACKAGE_DIR))
        );
        let dir = std::env::temp_dir().join(format!("cm-rt-pkg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(in_library_folder("x".into(), &dir).outcome, Outcome::Absent);
        std::fs::write(dir.join("libonnxruntime.so.1.31.1"), b"x").unwrap();
        let want = std::fs::canonicalize(dir.join("libonnxruntime.so.1.31.1")).unwrap();
        assert_eq!(
            in_library_folder("x".into(), &dir).outcome,
            Outcome::Found(want)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_relative_or_missing_named_path_is_refused() {
        let p = named("x".into(), Path::new("lib/libonnxruntime.so"));
        assert!(
            matches!(&p.outcome, Outcome::Refused(why) if why.contains("relative path")),
            "{p:?}"
        );
        let p = named("x".into(), Path::new("/nonexistent/libonnxruntime.so"));
        assert!(
            matches!(&p.outcome, Outcome::Refused(why) if why.contains("does not exist")),
            "{p:?}"
        );
    }

    #[test]
    fn this_code_lies_in_the_test_program() {
        let exe = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(own_binary(), Some(exe));
        let line = "7f00-7f80 r-xp 00001000 08:01 42                         /a b/lib.so (deleted)";
        assert_eq!(
            mapped_file(line, 0x7f10),
            Some(PathBuf::from("/a b/lib.so"))
        );
        assert_eq!(mapped_file(line, 0x7f80), None);
        assert_eq!(mapped_file("7f00-7f80 rw-p 0 0:0 0   [heap]", 0x7f10), None);
    }

    #[test]
    fn no_place_depends_on_the_current_directory() {
        let cwd = std::env::current_dir().unwrap();
        for place in places(None) {
            if let Some(l) = &place.location {
                assert!(l.is_absolute(), "{place:?}");
            }
            let under_cwd = place
                .location
                .as_ref()
                .is_some_and(|l| l.starts_with(cwd.join(".venv")));
            // The checkout's .venv is found above the test program, not through the working folder.
            assert!(
                !under_cwd || place.source.starts_with("the package"),
                "{place:?}"
            );
        }
    }
}
