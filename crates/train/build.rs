//! The trainer links libtorch from the pip `torch` wheel (torch-sys finds it through the Python
//! of `VIRTUAL_ENV`; `make train` sets it to .venv-torch).

use std::env;
use std::path::PathBuf;

fn main() {
    link_torch_runtime();
}

/// The trainer links libtorch from the pip `torch` wheel (torch-sys finds it through the Python
/// of `VIRTUAL_ENV`). Two link details torch-sys leaves to us: a runpath, so the program starts
/// without `LD_LIBRARY_PATH`, and keeping `libtorch_cuda.so`, which `--as-needed` would drop
/// because no symbol of it is referenced directly (CUDA would then silently never be available).
fn link_torch_runtime() {
    println!("cargo:rerun-if-env-changed=VIRTUAL_ENV");
    let python = env::var("VIRTUAL_ENV")
        .map(|venv| format!("{venv}/bin/python"))
        .unwrap_or_else(|_| "python3".to_string());
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))",
        ])
        .output()
        .unwrap_or_else(|e| panic!("running {python} to find torch: {e}"));
    if !out.status.success() {
        panic!(
            "the trainer needs PyTorch's libtorch: {python} cannot import torch (run `make train`, which installs it into .venv-torch)"
        );
    }
    let lib = String::from_utf8_lossy(&out.stdout).trim().to_string();
    for kind in ["bins", "tests"] {
        println!("cargo:rustc-link-arg-{kind}=-Wl,-rpath,{lib}");
        if PathBuf::from(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg-{kind}=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
