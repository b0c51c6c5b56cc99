//! `cm_select_tiles` as C programs see it: the example compiled with strict flags and run
//! against the library's own selection, and every error path through the export (NULL and bad
//! arguments, band mapping, unwritable outputs, cancel) leaving the caller's outputs untouched.

mod common;

use common::capi::{c, expect, last_error, lib_dir, root};

use cloudmask::ffi::*;
use cloudmask::select::{select_tiles, Measure, Models, SelectOptions};
use std::os::raw::{c_char, c_void};
use std::path::Path;
use std::process::Command;
use std::ptr::{null, null_mut};

fn options() -> cm_select_options {
    let mut o = std::mem::MaybeUninit::uninit();
    cm_select_options_default(o.as_mut_ptr());
    // SAFETY: written by cm_select_options_default.
    let mut o: cm_select_options = unsafe { o.assume_init() };
    o.tile = 128;
    o.stride = 64;
    o.count = 4;
    o
}

/// The library's own choice for the example's options: (xoff, yoff) best first.
fn library_choice(scene: &str) -> Vec<(usize, usize)> {
    let model = common::model("ukis-6b-l1c", 2);
    let o = SelectOptions {
        measure: Measure::Entropy,
        tile: 128,
        stride: Some(64),
        count: 4,
        ..SelectOptions::default()
    };
    let models = Models {
        first: &model,
        second: None,
    };
    let s = select_tiles(models, &[scene.to_string()], &o, &mut |_, _| true).unwrap();
    s.selected
        .iter()
        .map(|&i| (s.candidates[i].x, s.candidates[i].y))
        .collect()
}

fn csv_windows(path: &Path) -> Vec<(usize, usize)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn the_c_example_compiles_strictly_and_selects_what_the_library_selects() {
    let scene = common::sample_scene();
    let want = library_choice(&scene);
    let lib = lib_dir();
    let tmp = common::TempDir::new("c-select");
    let exe = tmp.path("select_tiles");
    common::capi::compile_example("select_tiles.c", &exe, &[]);
    let (geojson, list) = (tmp.path("t.geojson"), tmp.path("t.csv"));
    let run = Command::new(&exe)
        .arg(&scene)
        .arg(&geojson)
        .arg(&list)
        .env("LD_LIBRARY_PATH", &lib)
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("selected 4 tiles"), "{stdout}");
    assert!(!stdout.contains("(0 progress calls)"), "{stdout}");
    assert!(
        stdout.contains("refused with status 1: the disagreement measure compares two models"),
        "{stdout}"
    );
    assert!(stdout.contains("still 4 tiles"), "{stdout}");
    assert_eq!(csv_windows(&list), want);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&geojson).unwrap()).unwrap();
    assert_eq!(doc["features"].as_array().unwrap().len(), 4);
}

unsafe extern "C" fn stop_halfway(
    fraction: f64,
    _stage: *const c_char,
    _user: *mut c_void,
) -> bool {
    fraction < 0.5
}

#[test]
fn errors_are_named_and_leave_the_outputs_untouched() {
    let (dir, scene) = (common::data_dir(), common::sample_scene());
    common::require_runtime();
    let mut model = null_mut();
    let status = cm_model_load(c("ukis-6b-l1c").as_ptr(), null(), &mut model);
    assert_eq!(
        status,
        cm_status::CM_OK,
        "ukis-6b-l1c (run `make venv`): {}",
        last_error()
    );
    let tmp = common::TempDir::new("c-select-errors");
    let list = c(tmp.path("x.csv").to_str().unwrap());
    let scene_c = c(&scene);
    let inputs = [scene_c.as_ptr()];
    let good = options();
    let mut selected = 77usize;
    let null_input = [null::<c_char>()];
    let one_band = c(&dir.join("38-cloud/red.tif").to_string_lossy());
    let one_band = [one_band.as_ptr()];
    let unwritable = c("/nonexistent/dir/x.geojson");
    let with = |f: fn(&mut cm_select_options)| {
        let mut o = good;
        f(&mut o);
        o
    };
    let (count0, measure7, tile1024, stride48) = (
        with(|o| o.count = 0),
        with(|o| o.measure = 7),
        with(|o| o.tile = 1024),
        with(|o| o.stride = 48),
    );
    let list = list.as_ptr();
    type Case<'a> = (
        *const cm_model,
        *const *const c_char,
        usize,
        &'a cm_select_options,
        *const c_char,
        *const c_char,
        cm_progress_fn,
        cm_status,
        &'a str,
    );
    let invalid = cm_status::CM_ERROR_INVALID_ARGUMENT;
    let cases: Vec<Case> = vec![
        (
            null(),
            inputs.as_ptr(),
            1,
            &good,
            null(),
            list,
            None,
            invalid,
            "model is NULL",
        ),
        (
            model,
            null(),
            1,
            &good,
            null(),
            list,
            None,
            invalid,
            "input_paths is NULL",
        ),
        (
            model,
            null_input.as_ptr(),
            1,
            &good,
            null(),
            list,
            None,
            invalid,
            "input_paths[0] is NULL",
        ),
        (
            model,
            inputs.as_ptr(),
            0,
            &good,
            null(),
            list,
            None,
            invalid,
            "n_inputs is 0",
        ),
        (
            model,
            inputs.as_ptr(),
            1,
            &good,
            null(),
            null(),
            None,
            invalid,
            "no output requested",
        ),
        (
            model,
            inputs.as_ptr(),
            1,
            &count0,
            null(),
            list,
            None,
            invalid,
            "options->count is 0",
        ),
        (
            model,
            inputs.as_ptr(),
            1,
            &measure7,
            null(),
            list,
            None,
            invalid,
            "options->measure is 7",
        ),
        (
            model,
            inputs.as_ptr(),
            1,
            &stride48,
            null(),
            list,
            None,
            invalid,
            "stride 48 must divide the tile size 128",
        ),
        (
            model,
            inputs.as_ptr(),
            1,
            &tile1024,
            null(),
            list,
            None,
            cm_status::CM_ERROR_WINDOW,
            "smaller than the 1024-pixel candidate tile",
        ),
        (
            model,
            one_band.as_ptr(),
            1,
            &good,
            null(),
            list,
            None,
            cm_status::CM_ERROR_BAND_MAPPING,
            "the model needs 6",
        ),
        (
            model,
            inputs.as_ptr(),
            1,
            &good,
            unwritable.as_ptr(),
            list,
            None,
            cm_status::CM_ERROR_OUTPUT,
            "/nonexistent/dir",
        ),
        (
            model,
            inputs.as_ptr(),
            1,
            &good,
            null(),
            list,
            Some(stop_halfway),
            cm_status::CM_ERROR_CANCELLED,
            "cancelled",
        ),
    ];
    for (m, paths, n, o, geojson, list, progress, want, needle) in cases {
        let status = cm_select_tiles(
            m,
            null(),
            paths,
            n,
            o,
            null(),
            geojson,
            list,
            progress,
            null_mut(),
            &mut selected,
        );
        expect(status, want, needle);
    }
    assert_eq!(selected, 77, "out_selected written by a failed call");
    assert_eq!(
        std::fs::read_dir(&tmp.0).unwrap().count(),
        0,
        "a failed call left a file"
    );

    // A call that works clears the last error and writes the count.
    let status = cm_select_tiles(
        model,
        null(),
        inputs.as_ptr(),
        1,
        &good,
        null(),
        null(),
        list,
        None,
        null_mut(),
        &mut selected,
    );
    expect(status, cm_status::CM_OK, "");
    assert_eq!(selected, 4);
    assert_eq!(csv_windows(&tmp.path("x.csv")).len(), 4);
    cm_model_free(model);
}

/// `options->input_options`, as `cloudmask select`'s reading flags: digital numbers with nothing
/// saying so are refused with the defaults (CM_ERROR_INPUT naming the scaling, nothing
/// written); read as CM_SCALING_DN they give exactly the selection of the same numbers behind a
/// GDAL scale; a resolution, a bad scaling and a misaligned pointer are invalid arguments.
#[test]
fn input_options_read_digital_numbers_as_a_scaled_raster_reads() {
    common::require_runtime();
    let tmp = common::TempDir::new("c-select-reading");
    let (dn, scaled) = common::digital_number_copies(&tmp);
    let mut model = null_mut();
    let status = cm_model_load(c("ukis-6b-l1c").as_ptr(), null(), &mut model);
    assert_eq!(status, cm_status::CM_OK, "{}", last_error());
    let select = |scene: &Path, input_options: *const cm_input_options, list: &Path| {
        let scene = c(scene.to_str().unwrap());
        let inputs = [scene.as_ptr()];
        let options = cm_select_options {
            input_options,
            ..options()
        };
        cm_select_tiles(
            model,
            null(),
            inputs.as_ptr(),
            1,
            &options,
            null(),
            null(),
            c(list.to_str().unwrap()).as_ptr(),
            None,
            null_mut(),
            null_mut(),
        )
    };
    let list = tmp.path("refused.csv");
    let s = select(&dn, null(), &list);
    expect(s, cm_status::CM_ERROR_INPUT, "scaling");
    assert!(!list.exists(), "a refused selection wrote its list");

    let digital = cm_input_options {
        scaling: 2, // CM_SCALING_DN
        ..common::capi::input_options()
    };
    let resampled = cm_input_options {
        resolution: 40.0,
        ..digital
    };
    let s = select(&dn, &resampled, &list);
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "read them at their native resolution",
    );
    let odd = cm_input_options {
        scaling: 7,
        ..digital
    };
    let s = select(&dn, &odd, &list);
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "options->input_options->scaling is 7",
    );
    let bytes = [digital; 2];
    let misaligned = unsafe { bytes.as_ptr().cast::<u8>().add(1) }.cast::<cm_input_options>();
    let s = select(&dn, misaligned, &list);
    expect(
        s,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "options->input_options is not aligned",
    );
    assert!(!list.exists(), "a refused selection wrote its list");

    let rows = |scene: &Path, input_options: *const cm_input_options, name: &str| {
        let list = tmp.path(name);
        expect(select(scene, input_options, &list), cm_status::CM_OK, "");
        let csv = std::fs::read_to_string(&list).unwrap();
        assert_eq!(csv.lines().count(), 5, "{csv}");
        csv.replace(scene.to_str().unwrap(), "SCENE")
    };
    let given = rows(&dn, &digital, "dn.csv");
    assert_eq!(given, rows(&scaled, null(), "scaled.csv"));
    cm_model_free(model);
}
