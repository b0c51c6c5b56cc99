//! Finding and loading ONNX Runtime.
//!
//! `ort` is built with `load-dynamic`: nothing is linked at build time, and `ort` panics when it has
//! to guess the library itself. Inside QGIS or gdal_translate that panic would kill the host, so we
//! always locate the library here, check it is really ONNX Runtime, and hand `ort` an absolute path.
//! Where it is searched is one ordered list ([`search`]); a library is opened only after the
//! list has resolved it to one absolute canonical path, the one `cloudmask doctor` shows.

pub mod search;

pub use search::{places, places_for, python_roots, Outcome, Place, Want};

use crate::error::{Error, ErrorKind, Result};
use crate::model::Device;
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
    init_for(explicit, Device::Cpu)
}

/// [`init`] for a model that runs on `device`: the search looks for the runtime that device
/// needs ([`resolve_for`]). A runtime already loaded is kept whatever it holds; the session
/// then falls back to CPU with a note (see `model::providers`).
pub fn init_for(explicit: Option<&Path>, device: Device) -> Result<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return check_same(rt, explicit);
    }
    let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = RUNTIME.get() {
        return check_same(rt, explicit);
    }
    let path = resolve_for(explicit, device)?;
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

/// The library [`init`] would load, as an absolute canonical path, without loading it: the
/// first place of [`search::places`] that decides. A named place that is set but unusable (a
/// relative path, a missing file) is an error, not a reason to look further.
pub fn resolve(explicit: Option<&Path>) -> Result<PathBuf> {
    let places = places(explicit);
    match places.iter().find(|p| p.decides()) {
        Some(Place {
            outcome: Outcome::Found(path),
            ..
        }) => Ok(path.clone()),
        Some(Place {
            source,
            outcome: Outcome::Refused(why),
            ..
        }) => Err(Error::new(
            ErrorKind::RuntimeNotFound,
            format!("{source}: {why}; {INSTALL_HINT}"),
        )),
        _ => Err(Error::new(
            ErrorKind::RuntimeNotFound,
            format!(
                "ONNX Runtime was not found (searched: {}); {INSTALL_HINT}",
                describe(&places)
            ),
        )),
    }
}

/// The library [`init_for`] would load for `device`. cpu and cuda search as [`resolve`]. openvino
/// takes the first runtime with the OpenVINO provider ([`openvino_runtime`]); auto does too,
/// unless this build runs CUDA and the ordinary search found onnxruntime-gpu. Without an
/// OpenVINO runtime both use the ordinary search, and the session says why it runs on CPU.
pub fn resolve_for(explicit: Option<&Path>, device: Device) -> Result<PathBuf> {
    let plain = || resolve(explicit);
    match device {
        Device::Cpu | Device::Cuda => plain(),
        Device::Auto if crate::model::CUDA_BUILT && plain().is_ok_and(|p| has_cuda(&p)) => plain(),
        Device::OpenVino | Device::Auto => match openvino_place(explicit) {
            Some(Place {
                outcome: Outcome::Found(path),
                ..
            }) => Ok(path),
            _ => plain(),
        },
    }
}

/// The runtime with the OpenVINO provider that `--device openvino` loads when nothing is named
/// (argument, variables), if one is installed: what `cloudmask doctor` reports.
pub fn openvino_runtime() -> Option<PathBuf> {
    match openvino_place(None)?.outcome {
        Outcome::Found(path) => Some(path),
        _ => None,
    }
}

/// The first place of the OpenVINO search that decides.
fn openvino_place(explicit: Option<&Path>) -> Option<Place> {
    places_for(explicit, Want::OpenVino)
        .into_iter()
        .find(Place::decides)
}

/// Whether a library has onnxruntime-gpu's CUDA provider beside it.
fn has_cuda(lib: &Path) -> bool {
    lib.parent()
        .is_some_and(|d| d.join("libonnxruntime_providers_cuda.so").is_file())
}

/// The library the search finds, if any (what the tests and the model registry ask).
pub fn locate() -> Option<PathBuf> {
    resolve(None).ok()
}

/// The places, in order, for messages.
fn describe(places: &[Place]) -> String {
    places
        .iter()
        .map(|p| match &p.location {
            Some(l) => l.display().to_string(),
            None => format!("{} (not set)", p.source),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn check_same(rt: &'static Runtime, explicit: Option<&Path>) -> Result<&'static Runtime> {
    if let Some(p) = explicit {
        let wanted = resolve(Some(p))?;
        if wanted != rt.path {
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

/// The entries of a folder that can be read; none when the folder cannot (a search path that
/// does not exist is not an error).
pub(crate) fn dir_entries(dir: &Path) -> impl Iterator<Item = std::fs::DirEntry> {
    std::fs::read_dir(dir).into_iter().flatten().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

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
