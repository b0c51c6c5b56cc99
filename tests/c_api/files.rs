//! Masking files (cm_mask_dataset, cm_mask_to_files): bad inputs and outputs and a cancel
//! leave no file; every product and band numbers written.

use crate::common;
use crate::common::capi::{c, expect, last_error, path_c};
use crate::model;
use cloudmask::ffi::*;
use cloudmask::raster::Dataset;
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::ptr::{null, null_mut};

#[test]
fn missing_inputs_and_unwritable_outputs_fail_without_leaving_files() {
    let model = model();
    let scene = common::sample_scene();
    let tmp = common::TempDir::new("c-api-errors");
    let out = tmp.path("classes.tif");
    expect(
        cm_mask_dataset(
            model,
            c("/no/such/input.tif").as_ptr(),
            path_c(&out).as_ptr(),
            null(),
            null(),
            None,
            null_mut(),
        ),
        cm_status::CM_ERROR_INPUT,
        "/no/such/input.tif does not exist",
    );
    assert!(
        common::file_names(&tmp.0).is_empty(),
        "{:?}",
        common::file_names(&tmp.0)
    );

    let unwritable = tmp.path("no-such-folder").join("classes.tif");
    expect(
        cm_mask_dataset(
            model,
            c(&scene).as_ptr(),
            path_c(&unwritable).as_ptr(),
            null(),
            null(),
            None,
            null_mut(),
        ),
        cm_status::CM_ERROR_OUTPUT,
        "does not exist",
    );
    assert!(!unwritable.exists() && !tmp.path("no-such-folder").exists());
    // The valid mask's path is checked before any work too.
    expect(
        cm_mask_dataset(
            model,
            c(&scene).as_ptr(),
            path_c(&out).as_ptr(),
            path_c(&unwritable).as_ptr(),
            null(),
            None,
            null_mut(),
        ),
        cm_status::CM_ERROR_OUTPUT,
        "does not exist",
    );
    assert!(
        common::file_names(&tmp.0).is_empty(),
        "{:?}",
        common::file_names(&tmp.0)
    );
}

/// Progress user data: the stages seen, and the stage at which to cancel.
struct Cancel {
    at_stage: &'static str,
    seen: Vec<String>,
}

unsafe extern "C" fn cancel_at(_fraction: f64, stage: *const c_char, user: *mut c_void) -> bool {
    // SAFETY: `user` is the &mut Cancel the test passed; `stage` a C string valid for the call.
    let cancel = unsafe { &mut *(user as *mut Cancel) };
    let stage = unsafe { CStr::from_ptr(stage) }
        .to_string_lossy()
        .into_owned();
    let go_on = stage != cancel.at_stage;
    cancel.seen.push(stage);
    go_on
}

#[test]
fn a_cancel_from_the_progress_callback_leaves_no_file() {
    let model = model();
    let scene = common::sample_scene();
    let tmp = common::TempDir::new("c-api-cancel");
    let (out, valid) = (tmp.path("classes.tif"), tmp.path("valid.tif"));
    for stage in ["masking", "valid mask"] {
        let mut cancel = Cancel {
            at_stage: stage,
            seen: Vec::new(),
        };
        expect(
            cm_mask_dataset(
                model,
                c(&scene).as_ptr(),
                path_c(&out).as_ptr(),
                path_c(&valid).as_ptr(),
                null(),
                Some(cancel_at),
                (&mut cancel as *mut Cancel).cast(),
            ),
            cm_status::CM_ERROR_CANCELLED,
            "cancelled",
        );
        assert_eq!(cancel.seen.last().map(String::as_str), Some(stage));
        assert!(
            common::file_names(&tmp.0).is_empty(),
            "after a cancel at {stage:?}: {:?}",
            common::file_names(&tmp.0)
        );
    }
    // Without a cancel the same call writes both files (and their category sidecars).
    let mut all = Cancel {
        at_stage: "never",
        seen: Vec::new(),
    };
    expect(
        cm_mask_dataset(
            model,
            c(&scene).as_ptr(),
            path_c(&out).as_ptr(),
            path_c(&valid).as_ptr(),
            null(),
            Some(cancel_at),
            (&mut all as *mut Cancel).cast(),
        ),
        cm_status::CM_OK,
        "",
    );
    assert_eq!(all.seen.first().map(String::as_str), Some("masking"));
    assert_eq!(all.seen.last().map(String::as_str), Some("done"));
    assert!(all.seen.iter().any(|s| s == "valid mask"));
    assert!(out.is_file() && valid.is_file());
    assert!(
        common::file_names(&tmp.0)
            .iter()
            .all(|f| !f.starts_with('.')),
        "hidden temporary files left: {:?}",
        common::file_names(&tmp.0)
    );
}

#[test]
fn all_products_and_band_numbers_through_cm_mask_to_files() {
    let model = model();
    let scene = common::sample_scene();
    let tmp = common::TempDir::new("c-api-to-files");
    let (classes, valid, probs, by_name) = (
        tmp.path("c.tif"),
        tmp.path("v.tif"),
        tmp.path("p.tif"),
        tmp.path("n.tif"),
    );
    let (c_classes, c_valid, c_probs, c_by_name) = (
        path_c(&classes),
        path_c(&valid),
        path_c(&probs),
        path_c(&by_name),
    );
    let all = cm_output_paths {
        classes: c_classes.as_ptr(),
        valid: c_valid.as_ptr(),
        probabilities: c_probs.as_ptr(),
    };
    let bands = [1i32, 2, 3, 4, 5, 6];
    let status = cm_mask_to_files(
        model,
        c(&scene).as_ptr(),
        &all,
        bands.as_ptr(),
        bands.len(),
        null(),
        None,
        null_mut(),
    );
    assert_eq!(status, cm_status::CM_OK, "{}", last_error());
    // The same classes as bands found by name through cm_mask_dataset.
    let status = cm_mask_dataset(
        model,
        c(&scene).as_ptr(),
        c_by_name.as_ptr(),
        null(),
        null(),
        None,
        null_mut(),
    );
    assert_eq!(status, cm_status::CM_OK, "{}", last_error());
    let (_, _, a) = common::read_band_u8(&classes.to_string_lossy(), 1);
    let (_, _, b) = common::read_band_u8(&by_name.to_string_lossy(), 1);
    assert_eq!(a, b);
    let (_, _, v) = common::read_band_u8(&valid.to_string_lossy(), 1);
    assert!(v.iter().all(|&x| x <= 1) && v.contains(&0) && v.contains(&1));
    let p = Dataset::open(&probs.to_string_lossy()).unwrap();
    assert_eq!(p.band_count(), 3);
    let mut cloud = vec![0f32; 512 * 512];
    p.read(2, 0, 0, 512, 512, &mut cloud).unwrap();
    assert!(cloud.iter().all(|x| (0.0..=1.0).contains(x)));
    // Where the class map says cloud (2), the cloud probability is the largest of three.
    assert!(a
        .iter()
        .zip(&cloud)
        .filter(|(c, _)| **c == 2)
        .all(|(_, p)| *p >= 1.0 / 3.0));

    let none = cm_output_paths {
        classes: null(),
        valid: null(),
        probabilities: null(),
    };
    let status = cm_mask_to_files(
        model,
        c(&scene).as_ptr(),
        &none,
        null(),
        0,
        null(),
        None,
        null_mut(),
    );
    expect(
        status,
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "names no output",
    );
    let wrong = [1i32, 2, 3];
    let status = cm_mask_to_files(
        model,
        c(&scene).as_ptr(),
        &all,
        wrong.as_ptr(),
        wrong.len(),
        null(),
        None,
        null_mut(),
    );
    expect(
        status,
        cm_status::CM_ERROR_BAND_MAPPING,
        "3 band numbers given but the model needs 6",
    );
}
