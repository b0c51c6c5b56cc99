//! Finding and loading ONNX Runtime.
//!
//! `ort` is built with `load-dynamic`: nothing is linked at build time, and `ort` panics when it has
//! to guess the library itself. Inside QGIS or gdal_translate that panic would kill the host, so we
//! always locate the library here, check it is really ONNX Runtime, and hand `ort` an absolute path.

use crate::error::{Error, ErrorKind, Result};
use once_cell::sync::OnceCell;
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The oldest ONNX Runtime we accept: `ort` is built with its `api-17` feature.
const MIN_MINOR_VERSION: u32 = 17;

const INSTALL_HINT: &str =
    "install it with `python3 -m pip install onnxruntime==1.31.1` (or onnxruntime-gpu for CUDA), \
or point CLOUDMASK_ORT_LIB at libonnxruntime.so (`make demo` does this in the project's .venv)";

/// The loaded runtime: where it came from and what it is.
pub struct Runtime {
    pub path: PathBuf,
    pub version: String,
    /// Execution providers compiled into this library (e.g. CPUExecutionProvider, CUDAExecutionProvider).
    pub providers: Vec<String>,
    pub(crate) environment: ort::environment::Environment,
}

static RUNTIME: OnceCell<Runtime> = OnceCell::new();
// Serialises first-time loading so two threads never race into `ort::init_from`.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime once per process. `explicit` (from the API or `--ort-lib`) wins over the
/// search. A second call returns the runtime already loaded; asking for a different explicit path
/// then is an error, because a process can hold only one ONNX Runtime.
pub fn init(explicit: Option<&Path>) -> Result<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return check_same(rt, explicit);
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return check_same(rt, explicit);
    }
    let path = match explicit {
        Some(p) => absolute(p)?,
        None => locate().ok_or_else(|| {
            Error::new(
                ErrorKind::RuntimeNotFound,
                format!(
                    "ONNX Runtime was not found (searched: {}); {INSTALL_HINT}",
                    search_description()
                ),
            )
        })?,
    };
    let version = probe_version(&path)?;
    let environment = ort::init_from(&path)
        .map_err(|e| runtime_error(&path, &e.to_string()))?
        .with_name("cloudmask")
        .with_telemetry(false)
        .build()
        .map_err(|e| runtime_error(&path, &e.to_string()))?;
    let providers = available_providers();
    Ok(RUNTIME.get_or_init(|| Runtime {
        path,
        version,
        providers,
        environment,
    }))
}

/// The runtime if it is already loaded.
pub fn loaded() -> Option<&'static Runtime> {
    RUNTIME.get()
}

fn check_same(rt: &'static Runtime, explicit: Option<&Path>) -> Result<&'static Runtime> {
    if let Some(p) = explicit {
        let wanted = absolute(p)?;
        let same = wanted == rt.path
            || std::fs::canonicalize(&wanted).ok() == std::fs::canonicalize(&rt.path).ok();
        if !same {
            return Err(Error::new(
                ErrorKind::RuntimeNotFound,
                format!(
                    "ONNX Runtime is already loaded from {} in this process; {} cannot be loaded as well",
                    rt.path.display(),
                    wanted.display()
                ),
            ));
        }
    }
    Ok(rt)
}

fn runtime_error(path: &Path, detail: &str) -> Error {
    Error::new(
        ErrorKind::RuntimeNotFound,
        format!(
            "could not load ONNX Runtime from {}: {detail}; {INSTALL_HINT}",
            path.display()
        ),
    )
}

/// `ort` resolves relative paths against the executable's folder (`/usr/bin` inside
/// gdal_translate), never against the working directory: make every path absolute first.
fn absolute(p: &Path) -> Result<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::invalid(format!("cannot resolve {}: {e}", p.display())))?
            .join(p)
    };
    if !abs.is_file() {
        return Err(Error::new(
            ErrorKind::RuntimeNotFound,
            format!(
                "ONNX Runtime library {} does not exist; {INSTALL_HINT}",
                abs.display()
            ),
        ));
    }
    Ok(abs)
}

#[repr(C)]
struct OrtApiBase {
    get_api: unsafe extern "C" fn(u32) -> *const libc::c_void,
    get_version_string: unsafe extern "C" fn() -> *const libc::c_char,
}

/// Opens the library ourselves to check that it is ONNX Runtime and new enough, so that a wrong
/// file gives our message instead of one from deep inside `ort`.
fn probe_version(path: &Path) -> Result<String> {
    let c_path = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::invalid("library path contains a NUL byte"))?;
    // SAFETY: dlopen/dlsym/dlclose with valid C strings; the symbol is only called when present.
    unsafe {
        let handle = libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if handle.is_null() {
            let msg = CStr::from_ptr(libc::dlerror())
                .to_string_lossy()
                .into_owned();
            return Err(runtime_error(path, &msg));
        }
        let sym = libc::dlsym(handle, c"OrtGetApiBase".as_ptr());
        if sym.is_null() {
            libc::dlclose(handle);
            return Err(runtime_error(
                path,
                "the file is not ONNX Runtime (no OrtGetApiBase symbol)",
            ));
        }
        let get_base: unsafe extern "C" fn() -> *const OrtApiBase = std::mem::transmute(sym);
        let base = get_base();
        let version = if base.is_null() {
            String::new()
        } else {
            CStr::from_ptr(((*base).get_version_string)())
                .to_string_lossy()
                .into_owned()
        };
        // Keep the library loaded: ort opens it again right after, and unloading ONNX Runtime
        // while its static state is alive is unsafe.
        let minor: u32 = version
            .split('.')
            .nth(1)
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        if minor < MIN_MINOR_VERSION {
            return Err(runtime_error(
                path,
                &format!("version '{version}' is too old; cloudmask needs ONNX Runtime 1.{MIN_MINOR_VERSION} or newer"),
            ));
        }
        Ok(version)
    }
}

fn available_providers() -> Vec<String> {
    let api = ort::api();
    let mut list: *mut *mut libc::c_char = std::ptr::null_mut();
    let mut count: libc::c_int = 0;
    // SAFETY: the runtime is loaded; ORT allocates the list and we release it with its own call.
    unsafe {
        let status = (api.GetAvailableProviders)(&mut list, &mut count);
        if !status.0.is_null() || list.is_null() {
            return Vec::new();
        }
        let names = (0..count as isize)
            .map(|i| {
                CStr::from_ptr(*list.offset(i))
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        let _ = (api.ReleaseAvailableProviders)(list, count);
        names
    }
}

/// Where the search looks, in order, for messages and `cloudmask doctor`.
pub fn search_description() -> String {
    let mut parts = vec![
        "$CLOUDMASK_ORT_LIB".to_string(),
        "$ORT_DYLIB_PATH".to_string(),
    ];
    parts.extend(python_roots().iter().map(|p| p.display().to_string()));
    parts.extend(SYSTEM_LIBS.iter().map(|s| s.to_string()));
    parts.join(", ")
}

const SYSTEM_LIBS: &[&str] = &[
    "/usr/local/lib/libonnxruntime.so",
    "/usr/lib/x86_64-linux-gnu/libonnxruntime.so",
    "/usr/lib/libonnxruntime.so",
];

/// Searches the environment variables, then Python installations for the `onnxruntime` or
/// `onnxruntime-gpu` wheel (which ships the shared library), then system library folders.
pub fn locate() -> Option<PathBuf> {
    for var in ["CLOUDMASK_ORT_LIB", "ORT_DYLIB_PATH"] {
        if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            let p = PathBuf::from(v);
            // An explicit variable that points nowhere is a user mistake: report it via init's check.
            return Some(if p.is_absolute() {
                p
            } else {
                std::env::current_dir().ok()?.join(p)
            });
        }
    }
    for root in python_roots() {
        if let Some(lib) = library_in_site_packages(&root) {
            return Some(lib);
        }
    }
    SYSTEM_LIBS.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// site-packages folders to search: the active virtual environment, the project's `.venv` (next
/// to the working directory or above the executable, as after `make demo`), then the usual system
/// and user locations.
pub fn python_roots() -> Vec<PathBuf> {
    let mut venvs: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os("VIRTUAL_ENV") {
        venvs.push(PathBuf::from(v));
    }
    if let Ok(cwd) = std::env::current_dir() {
        venvs.push(cwd.join(".venv"));
    }
    if let Ok(exe) = std::env::current_exe() {
        venvs.extend(exe.ancestors().skip(1).take(4).map(|a| a.join(".venv")));
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    for venv in venvs {
        roots.extend(python_lib_dirs(&venv.join("lib"), "site-packages"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        roots.extend(python_lib_dirs(
            &Path::new(&home).join(".local/lib"),
            "site-packages",
        ));
    }
    roots.extend(python_lib_dirs(
        Path::new("/usr/local/lib"),
        "dist-packages",
    ));
    roots.extend(python_lib_dirs(
        Path::new("/usr/local/lib"),
        "site-packages",
    ));
    roots.push(PathBuf::from("/usr/lib/python3/dist-packages"));
    roots.dedup();
    roots
}

/// The entries of a folder that can be read; none when the folder cannot (a search path that
/// does not exist is not an error).
pub(crate) fn dir_entries(dir: &Path) -> impl Iterator<Item = std::fs::DirEntry> {
    std::fs::read_dir(dir).into_iter().flatten().flatten()
}

/// `<lib>/python3.*/<leaf>` folders that exist.
fn python_lib_dirs(lib: &Path, leaf: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = dir_entries(lib)
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path().join(leaf))
        .filter(|p| p.is_dir())
        .collect();
    found.sort();
    found
}

/// `onnxruntime/capi/libonnxruntime.so.<version>` inside one site-packages folder.
fn library_in_site_packages(site: &Path) -> Option<PathBuf> {
    let capi = site.join("onnxruntime").join("capi");
    let mut libs: Vec<PathBuf> = std::fs::read_dir(&capi)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
                .unwrap_or(false)
        })
        .collect();
    // Prefer the fully versioned file (the real library) over any symlink names.
    libs.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    libs.into_iter().next()
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
        assert_eq!(
            library_in_site_packages(&dir),
            Some(capi.join("libonnxruntime.so.1.31.1"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_is_not_onnx_runtime_is_refused_with_a_message() {
        let dir = std::env::temp_dir().join(format!("cm-rt2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("libonnxruntime.so");
        std::fs::write(&fake, b"not a library").unwrap();
        let err = probe_version(&fake).unwrap_err();
        assert_eq!(err.kind, ErrorKind::RuntimeNotFound);
        assert!(
            err.message.contains("could not load ONNX Runtime"),
            "{}",
            err.message
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
