//! The C API as C programs and Python see it: the C example compiled with strict flags and run,
//! the Python ctypes example run, every error path through the exported functions, and window
//! invariance (any window equals the crop of the whole-raster result) through the C API.

mod common;

use common::capi::{
    c, compile_example, expect, last_error, lib_dir, load_model, mask_options, model_options,
    path_c, root,
};

use cloudmask::engine::{mask_window, MaskOptions, Products, Region};
use cloudmask::ffi::*;
use cloudmask::raster::{BandSelection, Dataset, GdalSource, Scaling};
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::path::PathBuf;
use std::process::Command;
use std::ptr::{null, null_mut};
use std::sync::OnceLock;

/// A model handle shared by every test of this binary, so also used from several threads at once.
struct Shared(*mut cm_model);
// SAFETY: the header promises a cm_model may be used from several threads at once.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

/// The ukis-csmask 6-band model through the C API, 2 ONNX Runtime threads; fails with what to
/// install when ONNX Runtime or the model is not installed.
fn model() -> *const cm_model {
    shared_model().0.cast_const()
}

fn shared_model() -> &'static Shared {
    static MODEL: OnceLock<Shared> = OnceLock::new();
    MODEL.get_or_init(|| Shared(load_model("ukis-6b-l1c", 2)))
}

// ---------------------------------------------------------------------------------------------
// (1) and (2): the examples

fn counts(line: &str) -> Vec<(String, usize)> {
    line.split_whitespace()
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect()
}

#[test]
fn the_c_example_compiles_strictly_runs_and_agrees_with_the_library() {
    let scene = common::sample_scene();
    let model = common::model("ukis-6b-l1c", 0);
    let tmp = common::TempDir::new("c-example");
    let exe = tmp.path("mask_window");
    let lib = lib_dir();
    compile_example("mask_window.c", &exe, &["-I/usr/include/gdal", "-lgdal"]);

    let output = tmp.path("classes.tif");
    let run = Command::new(&exe)
        .arg(&scene)
        .arg(&output)
        .env("LD_LIBRARY_PATH", &lib)
        .current_dir(root())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the C example failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(output.is_file(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("window 200x150 at (100,120):"))
        .unwrap_or_else(|| panic!("no window line in:\n{stdout}"));

    // The same window through the Rust library.
    let ds = Dataset::open(&scene).unwrap();
    let mut source = GdalSource::new(
        ds,
        &model.card.band_names(),
        &BandSelection::Auto,
        Scaling::Auto,
        None,
    )
    .unwrap();
    let window = Region {
        x: 100,
        y: 120,
        w: 200,
        h: 150,
    };
    let products = Products {
        valid: true,
        probabilities: false,
    };
    let want = mask_window(
        &model,
        &mut source,
        window,
        &MaskOptions::default(),
        products,
        &mut |_| true,
    )
    .unwrap();
    let count = |code: u8| want.classes.iter().filter(|&&c| c == code).count();
    let valid = want.valid.unwrap().iter().map(|&v| v as usize).sum();
    let expected: Vec<(String, usize)> = [
        ("nodata", count(0)),
        ("clear", count(1)),
        ("cloud", count(2)),
        ("thin_cloud", count(3)),
        ("shadow", count(4)),
        ("valid", valid),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts(line), expected, "C: {line}");
    assert!(
        count(2) > 0 && count(1) > 0,
        "the window should hold clouds and clear land"
    );
}

#[test]
fn the_python_example_runs_with_each_python() {
    let scene = common::sample_scene();
    model();
    let pythons: Vec<PathBuf> = [root().join(".venv/bin/python"), "/usr/bin/python3".into()]
        .into_iter()
        .filter(|p| p.is_file())
        .collect();
    assert!(
        !pythons.is_empty(),
        "neither .venv/bin/python nor /usr/bin/python3 exists: run `make venv`"
    );
    let tmp = common::TempDir::new("py-example");
    for python in pythons {
        let output = tmp.path("classes.tif");
        let run = Command::new(&python)
            .arg("examples/mask_window.py")
            .arg(&scene)
            .arg(&output)
            .arg("--lib")
            .arg(lib_dir().join("libcloudmask.so"))
            .current_dir(root())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{} examples/mask_window.py failed:\n{stdout}\n{}",
            python.display(),
            String::from_utf8_lossy(&run.stderr)
        );
        assert!(stdout.contains("bright 64x64 buffer"), "{stdout}");
        assert!(output.is_file());
        std::fs::remove_file(&output).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// (3) error paths

#[test]
fn null_pointers_are_invalid_arguments_that_name_the_parameter() {
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
    let mut classes = [0u8; 4];
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

    let model = model();
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
fn windows_out_of_bounds_bad_bands_and_small_buffers_are_refused_before_any_write() {
    let model = model();
    let scene = common::sample_scene();
    let ds = Dataset::open(&scene).unwrap();
    let h = ds.handle();
    let mut classes = vec![0xAB_u8; 64 * 64];
    let mut valid = vec![0xAB_u8; 64 * 64];
    let opts = mask_options();
    let mut window = |bands: &[i32], opts: &cm_mask_options, x, y, w, hh, cl: usize, vl: usize| {
        cm_mask_window(
            model,
            h,
            if bands.is_empty() {
                null()
            } else {
                bands.as_ptr()
            },
            bands.len(),
            opts,
            x,
            y,
            w,
            hh,
            classes.as_mut_ptr(),
            cl,
            valid.as_mut_ptr(),
            vl,
        )
    };
    let win = cm_status::CM_ERROR_WINDOW;
    expect(
        window(&[], &opts, 500, 0, 20, 10, 4096, 4096),
        win,
        "lies outside the raster (512 x 512)",
    );
    expect(window(&[], &opts, 0, 505, 8, 8, 4096, 4096), win, "outside");
    expect(window(&[], &opts, -1, 0, 8, 8, 4096, 4096), win, "outside");
    expect(window(&[], &opts, 0, 0, 0, 8, 4096, 4096), win, "empty");
    expect(window(&[], &opts, 0, 0, 8, -3, 4096, 4096), win, "empty");
    let small = cm_status::CM_ERROR_BUFFER_TOO_SMALL;
    expect(
        window(&[], &opts, 0, 0, 64, 64, 4095, 4096),
        small,
        "classes_out holds 4095 bytes but 4096 are needed",
    );
    expect(
        window(&[], &opts, 0, 0, 64, 64, 4096, 100),
        small,
        "valid_out holds 100 bytes but 4096 are needed",
    );
    let bands = cm_status::CM_ERROR_BAND_MAPPING;
    expect(
        window(&[1, 2, 3], &opts, 0, 0, 8, 8, 4096, 4096),
        bands,
        "3 band numbers given but the model needs 6",
    );
    expect(
        window(&[1, 2, 3, 4, 5, 0], &opts, 0, 0, 8, 8, 4096, 4096),
        bands,
        "band number 0 is invalid",
    );
    expect(
        window(&[1, 2, 3, 4, 5, 9], &opts, 0, 0, 8, 8, 4096, 4096),
        bands,
        "band 9 does not exist",
    );
    let bad_tiling = cm_mask_options { tiling: 5, ..opts };
    expect(
        window(&[], &bad_tiling, 0, 0, 8, 8, 4096, 4096),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "options->tiling is 5",
    );
    let bad_tile = cm_mask_options { tile: 100, ..opts };
    expect(
        window(&[], &bad_tile, 0, 0, 8, 8, 4096, 4096),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "tile size 100 must be a positive multiple of 32",
    );
    let bad_overlap = cm_mask_options {
        overlap: 0.9,
        ..opts
    };
    expect(
        window(&[], &bad_overlap, 0, 0, 8, 8, 4096, 4096),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "overlap 0.9",
    );
    assert!(
        classes.iter().chain(&valid).all(|&b| b == 0xAB),
        "a failed call wrote output"
    );

    // Band numbers in the model's order give what finding bands by name gives.
    let mut by_number = vec![0u8; 16 * 16];
    expect(
        cm_mask_window(
            model,
            h,
            [1, 2, 3, 4, 5, 6].as_ptr(),
            6,
            &opts,
            40,
            50,
            16,
            16,
            by_number.as_mut_ptr(),
            256,
            null_mut(),
            0,
        ),
        cm_status::CM_OK,
        "",
    );
    expect(
        cm_mask_window(
            model,
            h,
            null(),
            0,
            null(),
            40,
            50,
            16,
            16,
            classes.as_mut_ptr(),
            classes.len(),
            null_mut(),
            0,
        ),
        cm_status::CM_OK,
        "",
    );
    assert_eq!(by_number[..], classes[..256]);
    assert!(
        classes[256..].iter().all(|&b| b == 0xAB),
        "wrote past width x height"
    );

    // Buffers: wrong band count, empty raster, too small outputs.
    let data = vec![0.2f32; 6 * 8 * 8];
    let mut out = [0xAB_u8; 128];
    expect(
        cm_mask_buffer(
            model,
            data.as_ptr(),
            3,
            16,
            8,
            null(),
            null(),
            out.as_mut_ptr(),
            128,
            null_mut(),
            0,
        ),
        bands,
        "the input gives 3 bands but model ukis-6b-l1c needs 6",
    );
    expect(
        cm_mask_buffer(
            model,
            data.as_ptr(),
            6,
            0,
            8,
            null(),
            null(),
            out.as_mut_ptr(),
            64,
            null_mut(),
            0,
        ),
        win,
        "empty",
    );
    expect(
        cm_mask_buffer(
            model,
            data.as_ptr(),
            6,
            8,
            8,
            null(),
            null(),
            out.as_mut_ptr(),
            63,
            null_mut(),
            0,
        ),
        small,
        "64 are needed",
    );
    expect(
        cm_mask_buffer(
            model,
            data.as_ptr(),
            usize::MAX,
            8,
            8,
            null(),
            null(),
            out.as_mut_ptr(),
            64,
            null_mut(),
            0,
        ),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "overflow",
    );
    // A buffer whose every pixel is nodata gives nodata everywhere.
    let nodata = 0.2f32;
    expect(
        cm_mask_buffer(
            model,
            data.as_ptr(),
            6,
            8,
            8,
            &nodata,
            null(),
            out.as_mut_ptr(),
            64,
            null_mut(),
            0,
        ),
        cm_status::CM_OK,
        "",
    );
    assert!(
        out[..64].iter().all(|&c| c == cm_class::Nodata as u8),
        "{out:?}"
    );
    assert!(
        out[64..].iter().all(|&c| c == 0xAB),
        "wrote past width x height"
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

// ---------------------------------------------------------------------------------------------
// (4) window invariance through the C API

/// xorshift64*: a fixed, dependency-free sequence.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: i32) -> i32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as i32 % n
    }
    /// A size in 1..=max.
    fn size(&mut self, max: i32) -> i32 {
        1 + self.below(max)
    }
}

/// (x, y, w, h) windows of a `side` x `side` raster: every corner and edge, 1 x 1 pixels, long
/// strips, and random windows.
fn windows(side: i32) -> Vec<(i32, i32, i32, i32)> {
    let mut r = Rng(0x5eed_c10d_0000_0001);
    let mut v = Vec::new();
    for (cx, cy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
        let (w, h) = (r.size(300), r.size(300));
        v.push((cx * (side - w), cy * (side - h), w, h));
    }
    let (w, h) = (r.size(300), r.size(300));
    v.push((r.below(side - w), 0, w, h)); // top edge
    let (w, h) = (r.size(300), r.size(300));
    v.push((r.below(side - w), side - h, w, h)); // bottom edge
    let (w, h) = (r.size(300), r.size(300));
    v.push((0, r.below(side - h), w, h)); // left edge
    let (w, h) = (r.size(300), r.size(300));
    v.push((side - w, r.below(side - h), w, h)); // right edge
    for (x, y) in [(0, 0), (side - 1, side - 1), (side - 1, 0), (0, side - 1)] {
        v.push((x, y, 1, 1));
    }
    for _ in 0..3 {
        v.push((r.below(side), r.below(side), 1, 1));
    }
    v.push((0, r.below(side - 3), side, 3)); // full-width strip
    v.push((r.below(side - 2), 0, 2, side)); // full-height strip
    for _ in 0..12 {
        let (w, h) = (r.size(400), r.size(400));
        v.push((r.below(side - w + 1), r.below(side - h + 1), w, h));
    }
    v
}

fn crop(full: &[u8], side: usize, (x, y, w, h): (i32, i32, i32, i32)) -> Vec<u8> {
    let (x, y, w, h) = (x as usize, y as usize, w as usize, h as usize);
    (y..y + h)
        .flat_map(|row| full[row * side + x..row * side + x + w].iter().copied())
        .collect()
}

#[test]
fn windows_through_the_c_api_are_crops_of_the_whole_mosaic() {
    let shared = shared_model();
    let model = shared.0.cast_const();
    let scene = common::sample_scene();
    const SIDE: i32 = 2048;
    let tmp = common::TempDir::new("c-api-windows");
    let mosaic = tmp.path("mosaic.tif");
    let t = std::time::Instant::now();
    cloudmask::raster::mosaic::write_mirrored_mosaic(&scene, &mosaic, SIDE as usize, SIDE as usize)
        .unwrap();
    let (classes_path, valid_path) = (tmp.path("classes.tif"), tmp.path("valid.tif"));
    expect(
        cm_mask_dataset(
            model,
            path_c(&mosaic).as_ptr(),
            path_c(&classes_path).as_ptr(),
            path_c(&valid_path).as_ptr(),
            &mask_options(),
            None,
            null_mut(),
        ),
        cm_status::CM_OK,
        "",
    );
    eprintln!(
        "mosaic {SIDE}x{SIDE} built and masked whole in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let (_, _, full_classes) = common::read_band_u8(classes_path.to_str().unwrap(), 1);
    let (_, _, full_valid) = common::read_band_u8(valid_path.to_str().unwrap(), 1);
    assert!(full_classes.contains(&2) && full_classes.contains(&1));

    let all = windows(SIDE);
    assert!(all.len() >= 20);
    let t = std::time::Instant::now();
    // Two threads share the model, each with its own GDAL dataset (GDAL's rule).
    std::thread::scope(|s| {
        for part in all.chunks(all.len().div_ceil(2)) {
            let (mosaic, full_classes, full_valid) = (&mosaic, &full_classes, &full_valid);
            s.spawn(move || {
                let model = shared.0.cast_const();
                let ds = Dataset::open(mosaic.to_str().unwrap()).unwrap();
                for &win in part {
                    let n = (win.2 * win.3) as usize;
                    let (mut classes, mut valid) = (vec![0xAB; n], vec![0xAB; n]);
                    expect(
                        cm_mask_window(
                            model,
                            ds.handle(),
                            null(),
                            0,
                            &mask_options(),
                            win.0,
                            win.1,
                            win.2,
                            win.3,
                            classes.as_mut_ptr(),
                            n,
                            valid.as_mut_ptr(),
                            n,
                        ),
                        cm_status::CM_OK,
                        "",
                    );
                    assert!(
                        classes == crop(full_classes, SIDE as usize, win),
                        "classes differ in window {win:?}"
                    );
                    assert!(
                        valid == crop(full_valid, SIDE as usize, win),
                        "valid differs in window {win:?}"
                    );
                }
            });
        }
    });
    eprintln!(
        "{} windows checked in {:.1} s",
        all.len(),
        t.elapsed().as_secs_f64()
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
