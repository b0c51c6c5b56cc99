//! Model handles: unknown models and runtimes refused, a model describing itself (bands,
//! classes) and freed, and the model list as the CLI gives it.

use crate::common::capi::{c, expect, model_options};
use crate::model;
use cloudmask::ffi::*;
use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr::{null, null_mut};

#[test]
fn unknown_models_and_missing_runtimes_are_reported_and_outputs_stay_untouched() {
    let sentinel = std::ptr::NonNull::<cm_model>::dangling().as_ptr();
    let mut m = sentinel;
    expect(
        cm_model_load(c("no-such-model").as_ptr(), null(), &mut m),
        cm_status::CM_ERROR_MODEL,
        "unknown model 'no-such-model'",
    );
    assert_eq!(m, sentinel, "out_model must be written only on success");
    expect(
        cm_model_load(c("/no/such/model.onnx").as_ptr(), null(), &mut m),
        cm_status::CM_ERROR_MODEL,
        "does not exist",
    );
    let mut options = model_options();
    options.device = 7;
    expect(
        cm_model_load(c("ukis-6b-l1c").as_ptr(), &options, &mut m),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "options->device is 7",
    );
    assert_eq!(m, sentinel);
    expect(
        cm_runtime_init(c("/no/such/libonnxruntime.so").as_ptr()),
        cm_status::CM_ERROR_RUNTIME_NOT_FOUND,
        "/no/such/libonnxruntime.so",
    );
}

#[test]
fn a_model_loads_describes_itself_and_frees() {
    model();
    let mut m = null_mut();
    let status = cm_model_load(c("ukis-4b-l1c").as_ptr(), null(), &mut m);
    expect(status, cm_status::CM_OK, "");
    let mut info = cm_model_info {
        n_bands: 0,
        n_classes: 0,
        tile_size: 0,
        size_multiple: 0,
    };
    expect(cm_model_get_info(m, &mut info), cm_status::CM_OK, "");
    assert_eq!((info.n_bands, info.n_classes, info.tile_size), (4, 3, 256));
    let mut name = [0 as c_char; 32];
    let mut names = Vec::new();
    for i in 0..info.n_bands {
        expect(
            cm_model_band_name(m, i, name.as_mut_ptr(), name.len()),
            cm_status::CM_OK,
            "",
        );
        // SAFETY: NUL-terminated on success.
        names.push(
            unsafe { CStr::from_ptr(name.as_ptr()) }
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(names, ["blue", "green", "red", "nir"]);
    let mut codes = Vec::new();
    for i in 0..info.n_classes {
        let mut code = 99u8;
        expect(cm_model_class_code(m, i, &mut code), cm_status::CM_OK, "");
        codes.push(code);
    }
    assert_eq!(
        codes,
        [
            cm_class::Clear as u8,
            cm_class::Cloud as u8,
            cm_class::CloudShadow as u8
        ]
    );
    expect(
        cm_model_class_name(m, 2, name.as_mut_ptr(), name.len()),
        cm_status::CM_OK,
        "",
    );
    // SAFETY: NUL-terminated on success.
    assert_eq!(
        unsafe { CStr::from_ptr(name.as_ptr()) }.to_str(),
        Ok("cloud shadow")
    );
    // Too small: nothing written, the size needed in the message.
    let mut small = [0x55 as c_char; 4];
    expect(
        cm_model_class_name(m, 2, small.as_mut_ptr(), small.len()),
        cm_status::CM_ERROR_BUFFER_TOO_SMALL,
        "13 are needed",
    );
    assert_eq!(small, [0x55; 4]);
    cm_model_free(m);
}

#[test]
fn models_are_listed_like_the_cli_lists_them() {
    model();
    let needed = cm_list_models(null_mut(), 0);
    let mut buf = vec![0u8; needed];
    assert_eq!(cm_list_models(buf.as_mut_ptr().cast(), buf.len()), needed);
    let text = CStr::from_bytes_with_nul(&buf).unwrap().to_str().unwrap();
    let names: Vec<&str> = text.lines().collect();
    let want: Vec<String> = cloudmask::model::list_models()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, want);
    assert!(names.contains(&"ukis-6b-l1c"));
    // Cut like snprintf when the buffer is short.
    let mut small = [0x7fu8; 5];
    assert_eq!(
        cm_list_models(small.as_mut_ptr().cast(), small.len()),
        needed
    );
    assert_eq!(&small[..4], &buf[..4]);
    assert_eq!(small[4], 0);
}
