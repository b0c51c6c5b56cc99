//! Generates the C header from `src/ffi/` with cbindgen (pinned in Cargo.toml).
//!
//! Every build writes it to `$OUT_DIR/cloudmask.h` (tests/header.rs compares that with the
//! committed `include/cloudmask.h`); only `CLOUDMASK_REGEN_HEADER=1` (`make header`) rewrites the
//! committed copy, so ordinary builds never touch tracked files.
//!
//! It also compiles the GDAL plugin's C++ driver shim (`src/gdal_plugin/driver/shim.cpp`): GDAL
//! 3.6 defines raster drivers only in C++. Headers come from `pkg-config --cflags gdal`, else
//! /usr/include/gdal.

use std::env;
use std::path::PathBuf;

fn main() {
    compile_driver_shim();
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-env-changed=CLOUDMASK_REGEN_HEADER");

    let root =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("cloudmask.h");

    let mut config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    let version = |part: &str| env::var(format!("CARGO_PKG_VERSION_{part}")).unwrap_or_default();
    let macros = format!(
        "\n#define CLOUDMASK_VERSION \"{}\"\n#define CLOUDMASK_VERSION_MAJOR {}\n#define CLOUDMASK_VERSION_MINOR {}\n#define CLOUDMASK_VERSION_PATCH {}",
        env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        version("MAJOR"),
        version("MINOR"),
        version("PATCH"),
    );
    config.after_includes = Some(match config.after_includes.take() {
        Some(before) => format!("{before}\n{macros}"),
        None => macros,
    });

    // Only the C boundary is parsed, so exports elsewhere (a GDAL plugin's entry points) stay out.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("generating the C header from src/ffi failed: {e}"));
    bindings.write_to_file(&out);
    println!(
        "cargo:rustc-env=CLOUDMASK_GENERATED_HEADER={}",
        out.display()
    );
    if env::var("CLOUDMASK_REGEN_HEADER").as_deref() == Ok("1") {
        let committed = root.join("include/cloudmask.h");
        bindings.write_to_file(&committed);
        println!(
            "cargo:warning=wrote {} (CLOUDMASK_REGEN_HEADER=1)",
            committed.display()
        );
    }
}

/// Builds the CLOUDMASK driver's C++ adapter into a static library linked into the crate
/// (libstdc++ is linked by `cc`; libgdal by gdal-sys).
fn compile_driver_shim() {
    let shim = "src/gdal_plugin/driver/shim.cpp";
    println!("cargo:rerun-if-changed={shim}");
    let mut build = cc::Build::new();
    build.cpp(true).file(shim).flag_if_supported("-std=c++17");
    let cflags = std::process::Command::new("pkg-config")
        .args(["--cflags", "gdal"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let includes: Vec<&str> = cflags
        .split_whitespace()
        .filter_map(|f| f.strip_prefix("-I"))
        .collect();
    if includes.is_empty() {
        build.include("/usr/include/gdal");
    }
    for dir in includes {
        build.include(dir);
    }
    build.compile("cloudmask_gdal_driver");
}
