//! `cm_evaluate` as C programs see it: examples/evaluate.c compiled with strict flags and run on
//! hand-computed fixtures and on the sample tile, and every error path through the export.

mod common;

use common::capi::{c, expect, last_error, lib_dir, path_c, root};

use cloudmask::ffi::*;
use std::ffi::CString;
use std::os::raw::{c_char, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::{null, null_mut};

/// Two 4 x 2 patches (see tests/eval.rs for the hand computation): references in cloudmask
/// codes in `ref/`, predictions in ukis codes in `pred/`. Pooled kappa 4/7, OA 0.8; median BOA
/// cloud 11/12, shadow 0.75 and valid 0.75 (patch b has no BOA for any of them); pooled cloud
/// F2 = 10/12.
fn fixture(tag: &str) -> common::TempDir {
    let dir = common::TempDir::new(tag);
    for sub in ["ref", "pred"] {
        std::fs::create_dir_all(dir.path(sub)).unwrap();
    }
    common::write_u8_tif(&dir.path("ref/a.tif"), 4, 2, &[1, 1, 2, 2, 4, 4, 1, 1]);
    common::write_u8_tif(&dir.path("pred/a.tif"), 4, 2, &[0, 1, 1, 1, 2, 0, 0, 0]);
    common::write_u8_tif(&dir.path("ref/b.tif"), 4, 2, &[1, 1, 1, 1, 1, 1, 1, 0]);
    common::write_u8_tif(&dir.path("pred/b.tif"), 4, 2, &[0, 0, 0, 1, 0, 0, 0, 1]);
    dir
}

fn compile_example(tmp: &common::TempDir) -> PathBuf {
    let exe = tmp.path("evaluate");
    common::capi::compile_example("evaluate.c", &exe, &[]);
    exe
}

fn run_example(exe: &Path, args: &[&str]) -> String {
    let run = Command::new(exe)
        .args(args)
        .env("LD_LIBRARY_PATH", lib_dir())
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "examples/evaluate.c failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

/// `key=value` pairs of the example's summary line.
fn values(line: &str) -> Vec<(String, String)> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn value(line: &str, key: &str) -> f64 {
    let v = values(line)
        .into_iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {key} in {line}"))
        .1;
    if v == "NaN" {
        f64::NAN
    } else {
        v.parse().unwrap()
    }
}

#[test]
fn the_c_example_compiles_strictly_and_gets_the_hand_computed_numbers() {
    let tmp = fixture("c-eval-fixture");
    let exe = compile_example(&tmp);
    let report = tmp.path("report");
    let out = run_example(
        &exe,
        &[
            tmp.path("ref").to_str().unwrap(),
            tmp.path("pred").to_str().unwrap(),
            report.to_str().unwrap(),
        ],
    );
    let line = out.lines().find(|l| l.starts_with("ukis:")).unwrap();
    assert_eq!(value(line, "pixels"), 15.0);
    for (key, want) in [
        ("oa", 0.8),
        ("kappa", 4.0 / 7.0),
        ("boa_cloud", 11.0 / 12.0),
        ("boa_shadow", 0.75),
        ("boa_valid", 0.75),
        ("fbeta_cloud", 10.0 / 12.0),
    ] {
        assert!((value(line, key) - want).abs() < 1e-6, "{key}: {line}");
    }
    assert!(value(line, "progress_calls") >= 2.0, "{line}");
    assert!(
        out.contains("too small: summaries_out holds 0 summaries but 1 are needed"),
        "{out}"
    );
    for name in [
        "evaluation.md",
        "evaluation.json",
        "evaluation.csv",
        "evaluation_patches.csv",
        "evaluation.png",
    ] {
        assert!(report.join(name).is_file(), "{name} missing");
    }
}

#[test]
fn the_c_example_reproduces_the_upstream_kappa_on_the_sample_tile() {
    let data = common::data_dir();
    let tmp = common::TempDir::new("c-eval-tile");
    let exe = compile_example(&tmp);
    let d = data.join("ukis-s2");
    let out = run_example(
        &exe,
        &[
            d.join("labels.tif").to_str().unwrap(),
            d.join("reference/ukis_6b_l1c.tif").to_str().unwrap(),
            tmp.path("report").to_str().unwrap(),
            "0=shadow,1-3=clear,4=cloud",
        ],
    );
    let line = out.lines().find(|l| l.starts_with("ukis:")).unwrap();
    assert_eq!(value(line, "pixels"), 262_144.0);
    assert!((value(line, "kappa") - 0.8095).abs() <= 0.0005, "{line}");
}

fn predictor(name: &CString, source: &CString, scheme: &CString) -> cm_eval_predictor {
    cm_eval_predictor {
        name: name.as_ptr(),
        source: source.as_ptr(),
        scheme: scheme.as_ptr(),
    }
}

fn defaults() -> cm_eval_options {
    let mut o = std::mem::MaybeUninit::uninit();
    cm_eval_options_default(o.as_mut_ptr());
    // SAFETY: written by cm_eval_options_default.
    unsafe { o.assume_init() }
}

unsafe extern "C" fn stop(_: f64, _: *const c_char, calls: *mut c_void) -> bool {
    *(calls as *mut u32) += 1;
    false
}

#[test]
fn every_error_path_has_a_status_and_a_message_and_leaves_outputs_alone() {
    let tmp = fixture("c-eval-errors");
    let (reference, predictions) = (path_c(&tmp.path("ref")), path_c(&tmp.path("pred")));
    let report = tmp.path("report");
    let report_c = path_c(&report);
    let (name, ukis) = (c("p"), c("ukis"));
    let good = predictor(&name, &predictions, &ukis);
    let options = defaults();
    assert!(options.reference_scheme.is_null() && options.beta == -1.0);
    let sentinel = cm_eval_summary {
        pixels: 7,
        ..Default::default()
    };
    let mut summary = [sentinel];
    let call = |reference: *const c_char,
                predictors: *const cm_eval_predictor,
                n: usize,
                options: *const cm_eval_options,
                report_dir: *const c_char,
                summary: &mut [cm_eval_summary]| {
        cm_evaluate(
            reference,
            predictors,
            n,
            options,
            null(),
            report_dir,
            None,
            null_mut(),
            summary.as_mut_ptr(),
            summary.len(),
        )
    };

    let s = call(null(), &good, 1, &options, report_c.as_ptr(), &mut summary);
    expect(s, cm_status::CM_ERROR_INVALID_ARGUMENT, "reference is NULL");
    let s = call(
        reference.as_ptr(),
        null(),
        1,
        &options,
        report_c.as_ptr(),
        &mut summary,
    );
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "predictors is NULL",
    );
    let s = call(reference.as_ptr(), &good, 1, &options, null(), &mut summary);
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "report_dir is NULL",
    );
    let s = call(
        reference.as_ptr(),
        null(),
        0,
        &options,
        report_c.as_ptr(),
        &mut summary,
    );
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "no predictor given",
    );

    let bad_scheme = c("sen2cor");
    let odd = predictor(&name, &predictions, &bad_scheme);
    let s = call(
        reference.as_ptr(),
        &odd,
        1,
        &options,
        report_c.as_ptr(),
        &mut summary,
    );
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "unknown class scheme 'sen2cor'",
    );
    let model = c("model:ukis-6b-l1c");
    let fixed = predictor(&name, &model, &ukis);
    let s = call(
        reference.as_ptr(),
        &fixed,
        1,
        &options,
        report_c.as_ptr(),
        &mut summary,
    );
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "predictors[0]: predictor p runs model",
    );

    let zero_beta = cm_eval_options {
        beta: 0.0,
        ..options
    };
    let s = call(
        reference.as_ptr(),
        &good,
        1,
        &zero_beta,
        report_c.as_ptr(),
        &mut summary,
    );
    expect(s, cm_status::CM_ERROR_INVALID_ARGUMENT, "beta is 0");
    let tiff = c("tiff");
    let bad_reports = cm_eval_options {
        reports: tiff.as_ptr(),
        ..options
    };
    let s = call(
        reference.as_ptr(),
        &good,
        1,
        &bad_reports,
        report_c.as_ptr(),
        &mut summary,
    );
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "unknown report format 'tiff'",
    );

    // Mismatched sizes: CM_ERROR_INPUT naming both files.
    std::fs::create_dir_all(tmp.path("small")).unwrap();
    common::write_u8_tif(&tmp.path("small/a.tif"), 3, 2, &[0; 6]);
    common::write_u8_tif(&tmp.path("small/b.tif"), 4, 2, &[0; 8]);
    let small = path_c(&tmp.path("small"));
    let wrong = predictor(&name, &small, &ukis);
    let s = call(
        reference.as_ptr(),
        &wrong,
        1,
        &options,
        report_c.as_ptr(),
        &mut summary,
    );
    expect(
        s,
        cm_status::CM_ERROR_INPUT,
        "is 3 x 2 pixels but reference",
    );

    // Cancelled by the progress callback: no report is written.
    let mut calls = 0u32;
    let s = cm_evaluate(
        reference.as_ptr(),
        &good,
        1,
        &options,
        null(),
        report_c.as_ptr(),
        Some(stop),
        (&mut calls as *mut u32).cast(),
        summary.as_mut_ptr(),
        1,
    );
    expect(s, cm_status::CM_ERROR_CANCELLED, "cancelled");
    assert_eq!(calls, 1);
    assert!(!report.join("evaluation.json").exists());

    // After every failure the caller's summary is untouched.
    assert_eq!(summary[0].pixels, 7);
    assert!(summary[0].kappa == 0.0);

    // NULL summaries: the reports alone; success clears the last error.
    let s = cm_evaluate(
        reference.as_ptr(),
        &good,
        1,
        null(),
        null(),
        report_c.as_ptr(),
        None,
        null_mut(),
        null_mut(),
        0,
    );
    expect(s, cm_status::CM_OK, "");
    assert_eq!(last_error(), "");
    assert!(report.join("evaluation.png").is_file());
}

/// `options->input_options`, as `cloudmask eval`'s reading flags: a "model:" predictor on
/// digital numbers with nothing saying so is refused with the defaults (CM_ERROR_INPUT naming
/// the scaling, no report); read as CM_SCALING_DN its mask is exactly the model's mask of the
/// same numbers behind a GDAL scale (kappa 1 on every pixel); a resolution is an invalid
/// argument.
#[test]
fn input_options_read_digital_numbers_as_a_scaled_raster_reads() {
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("c-eval-reading");
    let (dn, scaled) = common::digital_number_copies(&tmp);
    let reference = tmp.path("reference.tif");
    let mut model = null_mut();
    let status = cm_model_load(c("ukis-6b-l1c").as_ptr(), null(), &mut model);
    assert_eq!(status, cm_status::CM_OK, "{}", last_error());
    let s = cm_mask_dataset(
        model,
        path_c(&scaled).as_ptr(),
        path_c(&reference).as_ptr(),
        null(),
        null(),
        None,
        null_mut(),
    );
    expect(s, cm_status::CM_OK, "");
    cm_model_free(model);

    let (reference, images) = (path_c(&reference), path_c(&dn));
    let (name, source, json) = (c("m"), c("model:ukis-6b-l1c"), c("json"));
    let m = cm_eval_predictor {
        name: name.as_ptr(),
        source: source.as_ptr(),
        scheme: null(),
    };
    // The status and the summary slot, which holds 7 pixels unless the call wrote it.
    let evaluate = |input_options: *const cm_input_options, report: &Path| {
        let mut summary = cm_eval_summary {
            pixels: 7,
            ..Default::default()
        };
        let options = cm_eval_options {
            images: images.as_ptr(),
            reports: json.as_ptr(),
            input_options,
            ..defaults()
        };
        let status = cm_evaluate(
            reference.as_ptr(),
            &m,
            1,
            &options,
            null(),
            path_c(report).as_ptr(),
            None,
            null_mut(),
            &mut summary,
            1,
        );
        (status, summary)
    };
    let report = tmp.path("refused");
    let (s, summary) = evaluate(null(), &report);
    expect(s, cm_status::CM_ERROR_INPUT, "scaling");
    assert_eq!(summary.pixels, 7, "a failed call wrote its summary");
    let digital = cm_input_options {
        scaling: 2, // CM_SCALING_DN
        ..common::capi::input_options()
    };
    let resampled = cm_input_options {
        resolution: 40.0,
        ..digital
    };
    let (s, summary) = evaluate(&resampled, &report);
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "read the images at their native resolution",
    );
    assert_eq!(summary.pixels, 7, "a failed call wrote its summary");
    assert!(!report.join("evaluation.json").exists());

    let report = tmp.path("given");
    let (s, summary) = evaluate(&digital, &report);
    expect(s, cm_status::CM_OK, "");
    assert!(report.join("evaluation.json").is_file());
    assert_eq!(
        (summary.pixels, summary.kappa, summary.overall_accuracy),
        (512 * 512, 1.0, 1.0)
    );
}
