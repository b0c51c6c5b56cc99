//! What the C API tests share: paths to the library and headers, C strings, loading a model
//! and the default options (model, mask, input) through the C API, and reading this thread's
//! last error through the snprintf-like interface.

use cloudmask::ffi::{
    cm_input_options, cm_input_options_default, cm_last_error, cm_last_error_code, cm_mask_options,
    cm_mask_options_default, cm_model, cm_model_load, cm_model_options, cm_model_options_default,
    cm_status,
};
use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::{Path, PathBuf};
use std::ptr::null_mut;

/// The project root (the C compiler runs there, so `-Iinclude` finds the header).
pub fn root() -> PathBuf {
    super::repo_root()
}

/// target/<profile>, where libcloudmask.so lies: test binaries are target/<profile>/deps/*.
pub fn lib_dir() -> PathBuf {
    super::profile_dir()
}

pub fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

pub fn path_c(p: &Path) -> CString {
    c(p.to_str().unwrap())
}

/// `cm_model_options_default`'s options.
pub fn model_options() -> cm_model_options {
    let mut options = std::mem::MaybeUninit::uninit();
    cm_model_options_default(options.as_mut_ptr());
    // SAFETY: written by cm_model_options_default.
    unsafe { options.assume_init() }
}

/// `cm_mask_options_default`'s options.
pub fn mask_options() -> cm_mask_options {
    let mut options = std::mem::MaybeUninit::uninit();
    cm_mask_options_default(options.as_mut_ptr());
    // SAFETY: written by cm_mask_options_default.
    unsafe { options.assume_init() }
}

/// `cm_input_options_default`'s options.
pub fn input_options() -> cm_input_options {
    let mut options = std::mem::MaybeUninit::uninit();
    cm_input_options_default(options.as_mut_ptr());
    // SAFETY: written by cm_input_options_default.
    unsafe { options.assume_init() }
}

/// Loads a model (by name or path) through `cm_model_load` with `threads` ONNX Runtime threads;
/// fails with what to install when ONNX Runtime or the model is missing. The caller owns the
/// handle (`cm_model_free`).
pub fn load_model(name: &str, threads: i32) -> *mut cm_model {
    super::require_runtime();
    let options = cm_model_options {
        threads,
        ..model_options()
    };
    let mut model = null_mut();
    let status = cm_model_load(c(name).as_ptr(), &options, &mut model);
    let message = last_error();
    assert_eq!(
        status,
        cm_status::CM_OK,
        "loading {name} (the ukis-csmask models come with `make venv`): {message}"
    );
    model
}

/// This thread's last error message; asking for the size first must give the size used.
pub fn last_error() -> String {
    let needed = cm_last_error(null_mut(), 0);
    let mut buf = vec![0 as c_char; needed];
    assert_eq!(cm_last_error(buf.as_mut_ptr(), buf.len()), needed);
    // SAFETY: cm_last_error NUL-terminates within `needed` bytes.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Asserts a status, that the last error code agrees, and that the message mentions `needle`.
#[track_caller]
pub fn expect(status: cm_status, want: cm_status, needle: &str) {
    let message = last_error();
    assert_eq!(status, want, "message: {message}");
    assert_eq!(cm_last_error_code(), want as i32);
    assert!(
        message.contains(needle),
        "message {message:?} should mention {needle:?}"
    );
}

/// Compiles `examples/<source>` against include/cloudmask.h and this build's libcloudmask.so
/// with `-std=c99 -Wall -Wextra -Wpedantic -Werror` (plus `extra` flags, e.g. GDAL's, and those
/// of `$CLOUDMASK_TEST_CFLAGS`: `make asan` gives `-fsanitize=address`, since a library built
/// with AddressSanitizer needs its runtime in the program) into `exe`, failing the test with
/// the compiler's messages.
pub fn compile_example(source: &str, exe: &Path, extra: &[&str]) {
    let lib = lib_dir();
    assert!(
        lib.join("libcloudmask.so").is_file(),
        "{} is missing: cargo build --release first",
        lib.join("libcloudmask.so").display()
    );
    let mut cc = std::process::Command::new("cc");
    cc.args([
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Wpedantic",
        "-Werror",
        "-Iinclude",
    ])
    .arg(format!("examples/{source}"))
    .arg(format!("-L{}", lib.display()))
    .arg("-lcloudmask")
    .args(extra)
    .args(
        std::env::var("CLOUDMASK_TEST_CFLAGS")
            .unwrap_or_default()
            .split_whitespace(),
    )
    .arg("-o")
    .arg(exe)
    .current_dir(root());
    eprintln!("compiling: {cc:?}");
    let built = cc.output().expect("running cc");
    assert!(
        built.status.success(),
        "examples/{source} does not compile:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
}
