//! The committed C header is exactly what cbindgen generates from `src/ffi/` now, and its version
//! macros are the crate's version.

use std::path::Path;

const FIX: &str =
    "run `make header` (CLOUDMASK_REGEN_HEADER=1 cargo build) and commit include/cloudmask.h";

fn committed_header() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/cloudmask.h");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}; {FIX}", path.display()))
}

#[test]
fn committed_header_is_the_generated_one() {
    let generated_path = env!("CLOUDMASK_GENERATED_HEADER");
    let generated = std::fs::read_to_string(generated_path)
        .unwrap_or_else(|e| panic!("{generated_path} (written by build.rs): {e}"));
    let committed = committed_header();
    if committed != generated {
        let line = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "include/cloudmask.h differs from the header generated from src/ffi/ ({generated_path}), \
             first at line {}:\n  committed: {:?}\n  generated: {:?}\n{FIX}",
            line + 1,
            committed.lines().nth(line).unwrap_or("<end of file>"),
            generated.lines().nth(line).unwrap_or("<end of file>"),
        );
    }
}

/// The `version = "..."` of Cargo.toml's `[workspace.package]` table, which every package of the
/// workspace (the library among them) inherits.
fn cargo_toml_version() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package {
            if let Some(v) = line.strip_prefix("version") {
                let v = v.trim_start().trim_start_matches('=').trim();
                return v.trim_matches('"').to_string();
            }
        }
    }
    panic!("{} has no [workspace.package] version", path.display());
}

fn define(header: &str, name: &str) -> String {
    let prefix = format!("#define {name} ");
    header
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("include/cloudmask.h lacks #define {name}; {FIX}"))
        .trim()
        .to_string()
}

#[test]
fn version_macros_and_cm_version_match_cargo_toml() {
    let version = cargo_toml_version();
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let header = committed_header();
    let parts: Vec<&str> = version.split(['.', '-', '+']).collect();
    assert_eq!(
        define(&header, "CLOUDMASK_VERSION"),
        format!("\"{version}\""),
        "{FIX}"
    );
    for (name, want) in [
        ("CLOUDMASK_VERSION_MAJOR", parts[0]),
        ("CLOUDMASK_VERSION_MINOR", parts[1]),
        ("CLOUDMASK_VERSION_PATCH", parts[2]),
    ] {
        assert_eq!(define(&header, name), want, "{name}; {FIX}");
    }
    // SAFETY: cm_version returns a static NUL-terminated string.
    let reported = unsafe { std::ffi::CStr::from_ptr(cloudmask::ffi::cm_version()) };
    assert_eq!(reported.to_str().unwrap(), version);
}

#[test]
fn the_header_compiles_as_strict_c_and_cxx() {
    let dir = std::env::temp_dir().join(format!("cloudmask-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let source = "#include \"cloudmask.h\"\nint main(void) { cm_mask_options o; cm_mask_options_default(&o); \
                  return o.tiling == CM_TILING_EXACT ? CM_OK : CM_ERROR_INTERNAL; }\n";
    for (compiler, std, file) in [
        ("cc", "-std=c99", "t.c"),
        ("cc", "-std=c2x", "t.c"),
        ("c++", "-std=c++17", "t.cpp"),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, source).unwrap();
        let out = match std::process::Command::new(compiler)
            .args([
                std,
                "-Wall",
                "-Wextra",
                "-Wpedantic",
                "-Werror",
                "-fsyntax-only",
                "-I",
            ])
            .arg(&include)
            .arg(&path)
            .output()
        {
            Ok(out) => out,
            Err(e) => panic!("{compiler} is not available ({e}): apt-get install gcc g++"),
        };
        assert!(
            out.status.success(),
            "{compiler} {std} rejects include/cloudmask.h:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
