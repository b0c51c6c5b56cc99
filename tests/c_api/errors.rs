//! Error reporting at the boundary: NULL arguments named in the message, and the last error
//! cut like snprintf and kept per thread.

use crate::common;
use crate::common::capi::{c, expect, last_error};
use crate::model;
use cloudmask::ffi::*;
use cloudmask::raster::Dataset;
use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr::{null, null_mut};

#[test]
fn null_pointers_are_invalid_arguments_that_name_the_parameter() {
    let mut classes = [0u8; 4];
    null_models_and_outputs_are_named(&mut classes);
    let model = model();
    null_arguments_beside_a_model_are_named(model, &mut classes);
}

/// Without a model: NULL names, outputs and models are named, "default" functions with a NULL
/// output write nothing and say why, and freeing NULL is a no-op.
fn null_models_and_outputs_are_named(classes: &mut [u8]) {
    let mut m = null_mut();
    expect(
        cm_model_load(null(), null(), &mut m),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "name_or_path is NULL",
    );
    expect(
        cm_model_load(c("ukis-6b-l1c").as_ptr(), null(), null_mut()),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "out_model is NULL",
    );
    assert!(m.is_null());
    let mut info = cm_model_info {
        n_bands: 0,
        n_classes: 0,
        tile_size: 0,
        size_multiple: 0,
    };
    expect(
        cm_model_get_info(null(), &mut info),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "model is NULL",
    );
    expect(
        cm_mask_window(
            null(),
            null_mut(),
            null(),
            0,
            null(),
            0,
            0,
            2,
            2,
            classes.as_mut_ptr(),
            4,
            null_mut(),
            0,
        ),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "model is NULL",
    );
    expect(
        cm_mask_dataset(null(), null(), null(), null(), null(), None, null_mut()),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "is NULL",
    );
    // NULL outputs of the "default" functions write nothing and say why.
    cm_mask_options_default(null_mut());
    assert!(last_error().contains("out_options is NULL"));
    // Freeing NULL is a no-op.
    cm_model_free(null_mut());
}

/// With a model: a NULL dataset, output, band buffer, output path or name buffer is named, and
/// a band index out of range is refused.
fn null_arguments_beside_a_model_are_named(model: *const cm_model, classes: &mut [u8]) {
    let scene = common::sample_scene();
    let ds = Dataset::open(&scene).unwrap();
    expect(
        cm_mask_window(
            model,
            null_mut(),
            null(),
            0,
            null(),
            0,
            0,
            2,
            2,
            classes.as_mut_ptr(),
            4,
            null_mut(),
            0,
        ),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "dataset is NULL",
    );
    expect(
        cm_mask_window(
            model,
            ds.handle(),
            null(),
            0,
            null(),
            0,
            0,
            2,
            2,
            null_mut(),
            4,
            null_mut(),
            0,
        ),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "classes_out is NULL",
    );
    expect(
        cm_mask_buffer(
            model,
            null(),
            6,
            2,
            2,
            null(),
            null(),
            classes.as_mut_ptr(),
            4,
            null_mut(),
            0,
        ),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "bands is NULL",
    );
    expect(
        cm_mask_dataset(
            model,
            c(&scene).as_ptr(),
            null(),
            null(),
            null(),
            None,
            null_mut(),
        ),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "output_path is NULL",
    );
    let mut name = [0 as c_char; 16];
    expect(
        cm_model_band_name(model, 0, null_mut(), 16),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "buf is NULL",
    );
    expect(
        cm_model_band_name(model, 6, name.as_mut_ptr(), 16),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "band index 6 is out of range",
    );
}

#[test]
fn the_last_error_is_cut_like_snprintf_and_kept_per_thread() {
    let status = cm_model_load(c("no-such-model").as_ptr(), null(), &mut null_mut());
    assert_eq!(status, cm_status::CM_ERROR_MODEL);
    let full = last_error();
    assert!(full.starts_with("unknown model 'no-such-model'"), "{full}");
    let needed = full.len() + 1;
    assert_eq!(cm_last_error(null_mut(), 0), needed);
    // A buffer of 0 bytes is not written even when not NULL.
    let mut untouched = [0x55 as c_char; 1];
    assert_eq!(cm_last_error(untouched.as_mut_ptr(), 0), needed);
    assert_eq!(untouched[0], 0x55);
    // Cut: len - 1 bytes and a NUL; the return value still says what the whole message needs.
    let mut buf = [0x55 as c_char; 9];
    assert_eq!(cm_last_error(buf.as_mut_ptr(), 8), needed);
    // SAFETY: NUL-terminated by cm_last_error.
    assert_eq!(
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_bytes(),
        &full.as_bytes()[..7]
    );
    assert_eq!(buf[8], 0x55, "wrote past len");
    // Exactly big enough.
    let mut exact = vec![0 as c_char; needed];
    assert_eq!(cm_last_error(exact.as_mut_ptr(), needed), needed);
    // SAFETY: NUL-terminated by cm_last_error.
    assert_eq!(
        unsafe { CStr::from_ptr(exact.as_ptr()) }.to_str(),
        Ok(full.as_str())
    );

    // Another thread's errors and successes do not touch this thread's last error.
    std::thread::spawn(|| {
        assert_eq!(cm_last_error_code(), 0);
        assert_eq!(last_error(), "");
        let status = cm_model_get_info(null(), null_mut());
        assert_eq!(status, cm_status::CM_ERROR_INVALID_ARGUMENT);
    })
    .join()
    .unwrap();
    assert_eq!(cm_last_error_code(), cm_status::CM_ERROR_MODEL as i32);
    assert_eq!(last_error(), full);

    // A success clears it.
    assert_eq!(cm_runtime_init(null()), {
        if cloudmask::runtime::locate().is_some() {
            cm_status::CM_OK
        } else {
            cm_status::CM_ERROR_RUNTIME_NOT_FOUND
        }
    });
    if cm_last_error_code() == 0 {
        assert_eq!(last_error(), "");
        assert_eq!(cm_last_error(null_mut(), 0), 1);
    }
}
