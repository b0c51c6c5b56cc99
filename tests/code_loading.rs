//! Only code the user named runs, and models load safely (issue 12): a `libonnxruntime.so`
//! planted in the working folder's `.venv` is never loaded, a virtual mask that names a library
//! is refused before anything is loaded, a network with NaN weights is an error naming the
//! tile, a model with external data loads from any working folder, and a thread count far above
//! the cores is capped with a note. Every case runs in its own process (the CLI, gdalinfo, a C
//! program), where a crash or a constructor would show; planted libraries write a marker file
//! from their constructor, which must never appear.

mod common;
#[path = "common/tiny.rs"]
mod tiny;

use common::{output_text, TempDir};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tiny::{TinyNet, TinyRaster};

/// A shared library whose constructor writes `marker` (it runs when the library is loaded,
/// before any symbol is looked up), compiled with cc to `lib`.
fn plant_library(lib: &Path, marker: &Path) {
    let source = lib.with_extension("c");
    std::fs::write(
        &source,
        format!(
            "#include <stdio.h>\n\
             __attribute__((constructor)) static void planted(void) {{\n\
               FILE *f = fopen(\"{}\", \"w\");\n\
               if (f) {{ fputs(\"loaded\", f); fclose(f); }}\n\
             }}\n\
             int OrtGetApiBase(void) {{ return 0; }}\n",
            marker.display()
        ),
    )
    .unwrap();
    let o = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(lib)
        .arg(&source)
        .output()
        .expect("running cc (apt-get install gcc)");
    assert!(o.status.success(), "cc: {}", output_text(&o));
}

/// A command with no ONNX Runtime named anywhere: the search alone decides.
fn unnamed(program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> Command {
    let mut c = Command::new(program);
    c.current_dir(cwd)
        .env_remove("CLOUDMASK_ORT_LIB")
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("VIRTUAL_ENV");
    c
}

/// `gdalinfo -checksum TARGET` with the plugin on GDAL_DRIVER_PATH (the checksum reads every
/// block, so the model runs).
fn gdalinfo(target: &str, cwd: &Path) -> Output {
    let plugin = common::gdal_plugin_dir();
    unnamed("gdalinfo", cwd)
        .env("GDAL_DRIVER_PATH", common::gdal_driver_path(&plugin))
        .args(["-checksum", target])
        .output()
        .expect("running gdalinfo (apt-get install gdal-bin)")
}

/// A folder holding the tiny network (`tiny.onnx`) and a 40 x 40 raster it reads (`scene.tif`).
fn scene(tag: &str) -> (TempDir, PathBuf, String) {
    let dir = TempDir::new(tag);
    let model = TinyNet::threshold().write(&dir, "tiny");
    let image = TinyRaster::halves(40, 40).write(&dir.path("scene.tif"));
    (dir, model, image)
}

#[test]
fn a_runtime_planted_in_the_working_folder_is_never_loaded() {
    let real = common::ort_library();
    let (dir, model, image) = scene("planted-venv");
    let marker = dir.path("MARKER");
    let capi = dir.path(".venv/lib/python3.11/site-packages/onnxruntime/capi");
    std::fs::create_dir_all(&capi).unwrap();
    plant_library(&capi.join("libonnxruntime.so.1.31.1"), &marker);

    let doctor = unnamed(common::cloudmask_exe(), &dir.0)
        .arg("doctor")
        .output()
        .unwrap();
    let text = output_text(&doctor);
    assert!(doctor.status.success(), "{text}");
    let resolved = std::fs::canonicalize(&real).unwrap();
    assert!(
        text.contains(&format!(
            "ONNX Runtime resolved to {}\n",
            resolved.display()
        )),
        "{text}"
    );
    assert!(!text.contains(&dir.0.display().to_string()), "{text}");

    let out = dir.path("mask.tif");
    let mask = unnamed(common::cloudmask_exe(), &dir.0)
        .args(["mask", &image, "-q", "--model"])
        .arg(&model)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(mask.status.success(), "{}", output_text(&mask));
    assert!(out.is_file());

    let connection = format!(
        r#"CLOUDMASK:{{"image":"{image}","model":"{}"}}"#,
        model.display()
    );
    let info = gdalinfo(&connection, &dir.0);
    let text = output_text(&info);
    assert!(info.status.success(), "{text}");
    assert!(
        text.contains("Driver: CLOUDMASK") && text.contains("Checksum="),
        "{text}"
    );
    assert!(
        !text.contains("Checksum=-1") && !text.contains("ERROR"),
        "{text}"
    );
    assert!(!marker.exists(), "the planted library was loaded");
}

/// The CLOUDMASK:{…} JSON of a mask of `image` by `model` that names `lib` as its runtime.
fn naming(image: &str, model: &Path, lib: &Path) -> String {
    format!(
        r#"{{"image":"{image}","model":"{}","ort":"{}"}}"#,
        model.display(),
        lib.display()
    )
}

#[test]
fn a_virtual_mask_that_names_a_library_is_refused_and_nothing_is_loaded() {
    let (dir, model, image) = scene("named-library");
    let marker = dir.path("MARKER");
    let lib = dir.path("libevil.so");
    plant_library(&lib, &marker);
    let refused = |o: &Output, what: &str| {
        let text = output_text(o);
        assert!(
            text.contains("a virtual mask cannot name a library to load")
                && text.contains("CLOUDMASK_ORT_LIB"),
            "{what}: {text}"
        );
        assert!(!marker.exists(), "{what}: the named library was loaded");
    };

    let inline = format!("CLOUDMASK:{}", naming(&image, &model, &lib));
    let o = gdalinfo(&inline, &dir.0);
    assert!(!o.status.success());
    refused(&o, "inline descriptor");

    let cmask = dir.path("mask.cmask");
    std::fs::write(&cmask, naming(&image, &model, &lib)).unwrap();
    let o = gdalinfo(&cmask.to_string_lossy(), &dir.0);
    assert!(!o.status.success());
    refused(&o, ".cmask file");

    // A VRT written by `cloudmask vrt` names no library; one edited to name one is refused.
    let vrt = dir.path("mask.vrt");
    let o = unnamed(common::cloudmask_exe(), &dir.0)
        .args(["vrt", &image, "-o"])
        .arg(&vrt)
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    assert!(o.status.success(), "cloudmask vrt: {}", output_text(&o));
    let xml = std::fs::read_to_string(&vrt).unwrap();
    assert!(
        xml.contains("CLOUDMASK:{") && !xml.contains("&quot;ort&quot;") && !xml.contains("\"ort\""),
        "{xml}"
    );
    let evil = xml.replace(
        "CLOUDMASK:{",
        &format!("CLOUDMASK:{{&quot;ort&quot;:&quot;{}&quot;,", lib.display()),
    );
    assert_ne!(evil, xml);
    std::fs::write(&vrt, evil).unwrap();
    refused(&gdalinfo(&vrt.to_string_lossy(), &dir.0), "edited VRT");

    let pixel = dir.path("pixel.vrt");
    let source = |band: usize| {
        format!(
            "<SimpleSource><SourceFilename relativeToVRT=\"0\">{image}</SourceFilename><SourceBand>{band}</SourceBand></SimpleSource>"
        )
    };
    std::fs::write(
        &pixel,
        format!(
            "<VRTDataset rasterXSize=\"40\" rasterYSize=\"40\">\
             <VRTRasterBand dataType=\"Byte\" band=\"1\" subClass=\"VRTDerivedRasterBand\">\
             <PixelFunctionType>cloudmask</PixelFunctionType>\
             <PixelFunctionArguments model=\"{}\" ort=\"{}\"/>\
             <SourceTransferType>Float32</SourceTransferType>{}{}</VRTRasterBand></VRTDataset>",
            model.display(),
            lib.display(),
            source(1),
            source(2)
        ),
    )
    .unwrap();
    refused_argument(&gdalinfo(&pixel.to_string_lossy(), &dir.0), &marker);
}

fn refused_argument(o: &Output, marker: &Path) {
    let text = output_text(o);
    assert!(
        text.contains("argument ort: a VRT cannot name a library to load")
            && text.contains("CLOUDMASK_ORT_LIB"),
        "pixel function: {text}"
    );
    assert!(
        !marker.exists(),
        "pixel function: the named library was loaded"
    );
}

#[test]
fn a_network_with_nan_weights_is_an_error_naming_the_tile_and_writes_nothing() {
    common::require_runtime();
    let (dir, _, image) = scene("nan-weights");
    let nan = TinyNet {
        weights: vec![f32::NAN; 6],
        ..TinyNet::threshold()
    }
    .write(&dir, "nan");
    let before = common::file_names(&dir.0);
    let o = Command::new(common::cloudmask_exe())
        .args(["mask", &image, "-q", "--output", "classes,valid", "--model"])
        .arg(&nan)
        .arg("-o")
        .arg(dir.path("mask.tif"))
        .output()
        .unwrap();
    let text = output_text(&o);
    assert_eq!(o.status.code(), Some(7), "{text}");
    // Tiles of 32 with overlap 0.2 start 6 pixels before the raster.
    assert!(
        text.contains("model nan gives a non-finite output (NaN) for the tile at pixel columns -6..26, rows -6..26"),
        "{text}"
    );
    assert_eq!(common::file_names(&dir.0), before, "{text}");
}

#[test]
fn a_model_with_external_data_loads_from_any_working_folder() {
    common::require_runtime();
    let (dir, inline, image) = scene("external-data");
    let external = TinyNet::threshold().write_external(&dir, "external");
    // The weights (3 x 2 kernel, 3 biases) live in the weights file only.
    assert_eq!(
        std::fs::metadata(dir.path("external.weights"))
            .unwrap()
            .len(),
        4 * 9
    );
    let mask = |model: &Path, out: &str| {
        let o = Command::new(common::cloudmask_exe())
            .current_dir("/")
            .args(["mask", &image, "-q", "--model"])
            .arg(model)
            .arg("-o")
            .arg(dir.path(out))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{}: {}",
            model.display(),
            output_text(&o)
        );
        common::read_band_u8(&dir.path(out).to_string_lossy(), 1).2
    };
    let want = TinyRaster::halves(40, 40).threshold_classes("B04", "B08");
    assert_eq!(mask(&external, "external.tif"), want);
    assert_eq!(mask(&inline, "inline.tif"), want);
}

#[test]
fn threads_above_the_cores_are_capped_with_a_note_from_the_cli() {
    common::require_runtime();
    let (dir, model, image) = scene("threads-cli");
    let run = |threads: &str| {
        let out = dir.path(&format!("t{threads}.tif"));
        let o = Command::new(common::cloudmask_exe())
            .args(["mask", &image, "-q", "--threads", threads, "--model"])
            .arg(&model)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "--threads {threads}: {}",
            output_text(&o)
        );
        (
            String::from_utf8_lossy(&o.stderr).into_owned(),
            common::read_band_u8(&out.to_string_lossy(), 1).2,
        )
    };
    let (quiet, one) = run("1");
    assert!(!quiet.contains("note"), "{quiet}");
    let (note, many) = run("1024");
    let cores = cloudmask::model::threads::max_threads();
    assert!(
        note.contains(&format!("cloudmask: note: 1024 threads requested, but this machine gives this process {cores} core")),
        "{note}"
    );
    assert_eq!(many, one);
}

/// A C program: loads `argv[1]` with `argv[2]` threads through cm_model_options, masks a 40 x
/// 40 two-band buffer and prints the class codes.
const THREADS_PROGRAM: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include "cloudmask.h"
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    cm_model_options options;
    cm_model_options_default(&options);
    options.threads = atoi(argv[2]);
    cm_model *model = NULL;
    char message[512];
    if (cm_model_load(argv[1], &options, &model) != CM_OK) {
        cm_last_error(message, sizeof message);
        fprintf(stderr, "load: %s\n", message);
        return 1;
    }
    enum { W = 40, H = 40 };
    static float bands[2 * W * H];
    static uint8_t classes[W * H];
    for (int i = 0; i < W * H; i++) {
        bands[i] = (i % W) < W / 2 ? 0.6f : 0.1f + (float)(i % 7) / 100.0f;
        bands[W * H + i] = (i / W) % 9 == 0 ? 0.8f : 0.2f;
    }
    if (cm_mask_buffer(model, bands, 2, W, H, NULL, NULL, classes, sizeof classes, NULL, 0) != CM_OK) {
        cm_last_error(message, sizeof message);
        fprintf(stderr, "mask: %s\n", message);
        return 1;
    }
    for (int i = 0; i < W * H; i++) putchar('0' + classes[i]);
    putchar('\n');
    cm_model_free(model);
    return 0;
}
"#;

#[test]
fn threads_above_the_cores_are_capped_with_a_note_through_the_c_api() {
    common::require_runtime();
    let (dir, model, _) = scene("threads-capi");
    let source = dir.path("threads.c");
    std::fs::write(&source, THREADS_PROGRAM).unwrap();
    let exe = dir.path("threads");
    let lib = common::capi::lib_dir();
    let o = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror"])
        .arg(format!(
            "-I{}",
            common::repo_root().join("include").display()
        ))
        .arg(&source)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-lcloudmask", "-o"])
        .arg(&exe)
        .output()
        .expect("running cc (apt-get install gcc)");
    assert!(o.status.success(), "cc: {}", output_text(&o));
    // The program lies in a scratch folder: ONNX Runtime is found beside libcloudmask.so.
    let run = |threads: &str| {
        let o = unnamed(&exe, &dir.0)
            .arg(&model)
            .arg(threads)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "threads {threads}: {}",
            output_text(&o)
        );
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (one, quiet) = run("1");
    assert_eq!(quiet, "");
    assert_eq!(one.trim().len(), 40 * 40);
    assert!(
        one.contains('1') && one.contains('2') && one.contains('4'),
        "{one}"
    );
    let (many, note) = run("1024");
    assert!(
        note.starts_with(
            "cloudmask: note: 1024 threads requested, but this machine gives this process"
        ),
        "{note}"
    );
    assert_eq!(many, one);
}
