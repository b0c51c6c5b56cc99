//! `cm_input_options` through the C API: the file and virtual-mask writers read the input as
//! `cloudmask mask` does with the same flags, and bad values fail with a status and a message
//! that names them, before any file appears.

mod common;

use common::capi::{c, expect, input_options, last_error, path_c};

use cloudmask::ffi::*;
use cloudmask::raster::Dataset;
use std::path::Path;
use std::process::Command;
use std::ptr::{null, null_mut};

const MODEL: &str = "ukis-6b-l1c";

fn load_model() -> *mut cm_model {
    common::require_runtime();
    let mut m = null_mut();
    let status = cm_model_load(c(MODEL).as_ptr(), null(), &mut m);
    assert_eq!(status, cm_status::CM_OK, "{}", last_error());
    m
}

/// DN scaling with an offset, a nodata value that occurs in the sample (its first pixel's blue
/// value) and per-class buffers, with the `cloudmask mask` flags that say the same.
fn options_and_flags(scene: &str) -> (cm_input_options, Vec<String>) {
    let mut first = [0f32; 1];
    Dataset::open(scene)
        .unwrap()
        .read(1, 0, 0, 1, 1, &mut first)
        .unwrap();
    let nodata = first[0] as f64;
    let options = cm_input_options {
        scaling: 2,
        quantification: 1.25,
        dn_offset: 0.05,
        has_nodata: true,
        nodata,
        buffer_cloud: 2,
        buffer_shadow: 1,
        ..input_options()
    };
    let flags = [
        "--scaling",
        "dn",
        "--quantification",
        "1.25",
        "--dn-offset",
        "0.05",
        "--nodata",
        &nodata.to_string(),
        "--buffer",
        "cloud=2,thin=4,shadow=1",
    ];
    (options, flags.iter().map(|s| s.to_string()).collect())
}

fn band(path: &Path) -> Vec<u8> {
    common::read_band_u8(&path.to_string_lossy(), 1).2
}

fn class_counts(classes: &[u8]) -> [usize; 5] {
    let mut n = [0; 5];
    for &c in classes {
        n[c as usize] += 1;
    }
    n
}

#[test]
fn input_options_mask_as_the_cli_does_with_the_same_flags() {
    let scene = common::sample_scene();
    let model = load_model();
    let tmp = common::TempDir::new("c-api-input");
    let (options, flags) = options_and_flags(&scene);

    let (classes, valid) = (tmp.path("c.tif"), tmp.path("c_valid.tif"));
    let (c_classes, c_valid) = (path_c(&classes), path_c(&valid));
    let paths = cm_output_paths {
        classes: c_classes.as_ptr(),
        valid: c_valid.as_ptr(),
        probabilities: null(),
    };
    let status = cm_mask_to_files_ex(
        model,
        c(&scene).as_ptr(),
        &options,
        &paths,
        null(),
        0,
        null(),
        None,
        null_mut(),
    );
    assert_eq!(status, cm_status::CM_OK, "{}", last_error());

    let cli_out = tmp.path("cli.tif");
    let o = Command::new(common::cloudmask_exe())
        .args(["mask", &scene, "-o", &cli_out.to_string_lossy()])
        .args(["--model", MODEL, "--output", "classes,valid", "--quiet"])
        .args(&flags)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::output_text(&o));

    let (from_c, from_cli) = (band(&classes), band(&cli_out));
    assert_eq!(class_counts(&from_c), class_counts(&from_cli));
    assert_eq!(from_c, from_cli);
    assert_eq!(band(&valid), band(&tmp.path("cli_valid.tif")));
    let counts = class_counts(&from_c);
    assert!(counts[0] > 0, "the nodata value marked nothing: {counts:?}");

    // The default input options read the raster as cm_mask_to_files does.
    let plain = tmp.path("plain.tif");
    let c_plain = path_c(&plain);
    let status = cm_mask_dataset(
        model,
        c(&scene).as_ptr(),
        c_plain.as_ptr(),
        null(),
        null(),
        None,
        null_mut(),
    );
    assert_eq!(status, cm_status::CM_OK, "{}", last_error());
    let defaults = tmp.path("defaults.tif");
    let c_defaults = path_c(&defaults);
    let only_classes = cm_output_paths {
        classes: c_defaults.as_ptr(),
        valid: null(),
        probabilities: null(),
    };
    let status = cm_mask_to_files_ex(
        model,
        c(&scene).as_ptr(),
        &input_options(),
        &only_classes,
        null(),
        0,
        null(),
        None,
        null_mut(),
    );
    assert_eq!(status, cm_status::CM_OK, "{}", last_error());
    assert_eq!(band(&defaults), band(&plain));
    assert_ne!(band(&plain), from_c, "the input options changed nothing");

    // The virtual mask made with the same options shows the same classes.
    let vrt = tmp.path("mask.vrt");
    let status = cm_write_virtual_mask_ex(
        c(&scene).as_ptr(),
        &options,
        c(MODEL).as_ptr(),
        null(),
        null(),
        null(),
        path_c(&vrt).as_ptr(),
    );
    assert_eq!(status, cm_status::CM_OK, "{}", last_error());
    assert_eq!(band(&vrt), from_c);
    cm_model_free(model);
}

#[test]
fn bad_input_options_are_refused_with_their_name_and_leave_no_file() {
    let scene = common::sample_scene();
    let model = load_model();
    let tmp = common::TempDir::new("c-api-input-bad");
    let out = path_c(&tmp.path("c.tif"));
    let paths = cm_output_paths {
        classes: out.as_ptr(),
        valid: null(),
        probabilities: null(),
    };
    let d = input_options();
    for (bad, status, needle) in [
        (
            cm_input_options {
                resolution: -10.0,
                ..d
            },
            cm_status::CM_ERROR_INVALID_ARGUMENT,
            "resolution -10 must be a positive number",
        ),
        (
            cm_input_options {
                resolution: 20.0,
                ..d
            },
            cm_status::CM_ERROR_INPUT,
            "has no georeferencing",
        ),
        (
            cm_input_options { scaling: 7, ..d },
            cm_status::CM_ERROR_INVALID_ARGUMENT,
            "input_options->scaling is 7",
        ),
        (
            cm_input_options {
                scaling: 2,
                quantification: 0.0,
                ..d
            },
            cm_status::CM_ERROR_INVALID_ARGUMENT,
            "quantification 0 must be a positive number",
        ),
        (
            cm_input_options {
                buffer_shadow: -3,
                ..d
            },
            cm_status::CM_ERROR_INVALID_ARGUMENT,
            "input_options->buffer_shadow",
        ),
    ] {
        let got = cm_mask_to_files_ex(
            model,
            c(&scene).as_ptr(),
            &bad,
            &paths,
            null(),
            0,
            null(),
            None,
            null_mut(),
        );
        expect(got, status, needle);
    }
    let vrt = path_c(&tmp.path("mask.vrt"));
    let got = cm_write_virtual_mask_ex(
        c(&scene).as_ptr(),
        &cm_input_options {
            resolution: -10.0,
            ..d
        },
        c(MODEL).as_ptr(),
        null(),
        null(),
        null(),
        vrt.as_ptr(),
    );
    expect(
        got,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "resolution -10 must be a positive number",
    );
    assert!(
        std::fs::read_dir(&tmp.0).unwrap().next().is_none(),
        "a refused call left a file"
    );
    // NULL writes nothing and does not crash.
    cm_input_options_default(null_mut());
    cm_model_free(model);
}
