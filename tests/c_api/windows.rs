//! Windows and buffers (cm_mask_window, cm_mask_buffer): bad windows, bands, options and
//! buffer sizes refused before any write, and any window equal to the crop of the whole mosaic.

use crate::common;
use crate::common::capi::{expect, mask_options, path_c};
use crate::{model, shared_model};
use cloudmask::ffi::*;
use cloudmask::raster::Dataset;
use std::ptr::{null, null_mut};

#[test]
fn windows_out_of_bounds_bad_bands_and_small_buffers_are_refused_before_any_write() {
    let model = model();
    let scene = common::sample_scene();
    let ds = Dataset::open(&scene).unwrap();
    let h = ds.handle();
    let mut classes = vec![0xAB_u8; 64 * 64];
    let mut valid = vec![0xAB_u8; 64 * 64];
    let opts = mask_options();
    refused_windows_write_nothing(model, h, &opts, &mut classes, &mut valid);
    // Band numbers in the model's order give what finding bands by name gives.
    band_numbers_give_what_band_names_give(model, h, &opts, &mut classes);
    // Buffers: wrong band count, empty raster, too small outputs.
    let data = vec![0.2f32; 6 * 8 * 8];
    let mut out = [0xAB_u8; 128];
    bad_buffers_are_refused(model, &data, &mut out);
    an_all_nodata_buffer_gives_nodata(model, &data, &mut out);
}

/// Windows outside the raster or empty, output buffers too small, band numbers that do not fit
/// the model and bad options: each has its status and message, and nothing is written.
fn refused_windows_write_nothing(
    model: *const cm_model,
    h: cm_gdal_dataset,
    opts: &cm_mask_options,
    classes: &mut [u8],
    valid: &mut [u8],
) {
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
        window(&[], opts, 500, 0, 20, 10, 4096, 4096),
        win,
        "lies outside the raster (512 x 512)",
    );
    expect(window(&[], opts, 0, 505, 8, 8, 4096, 4096), win, "outside");
    expect(window(&[], opts, -1, 0, 8, 8, 4096, 4096), win, "outside");
    expect(window(&[], opts, 0, 0, 0, 8, 4096, 4096), win, "empty");
    expect(window(&[], opts, 0, 0, 8, -3, 4096, 4096), win, "empty");
    let small = cm_status::CM_ERROR_BUFFER_TOO_SMALL;
    expect(
        window(&[], opts, 0, 0, 64, 64, 4095, 4096),
        small,
        "classes_out holds 4095 bytes but 4096 are needed",
    );
    expect(
        window(&[], opts, 0, 0, 64, 64, 4096, 100),
        small,
        "valid_out holds 100 bytes but 4096 are needed",
    );
    let bands = cm_status::CM_ERROR_BAND_MAPPING;
    expect(
        window(&[1, 2, 3], opts, 0, 0, 8, 8, 4096, 4096),
        bands,
        "3 band numbers given but the model needs 6",
    );
    expect(
        window(&[1, 2, 3, 4, 5, 0], opts, 0, 0, 8, 8, 4096, 4096),
        bands,
        "band number 0 is invalid",
    );
    expect(
        window(&[1, 2, 3, 4, 5, 9], opts, 0, 0, 8, 8, 4096, 4096),
        bands,
        "band 9 does not exist",
    );
    let bad_tiling = cm_mask_options { tiling: 5, ..*opts };
    expect(
        window(&[], &bad_tiling, 0, 0, 8, 8, 4096, 4096),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "options->tiling is 5",
    );
    let bad_tile = cm_mask_options { tile: 100, ..*opts };
    expect(
        window(&[], &bad_tile, 0, 0, 8, 8, 4096, 4096),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "tile size 100 must be a positive multiple of 32",
    );
    let bad_overlap = cm_mask_options {
        overlap: 0.9,
        ..*opts
    };
    expect(
        window(&[], &bad_overlap, 0, 0, 8, 8, 4096, 4096),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "overlap 0.9",
    );
    assert!(
        classes.iter().chain(valid.iter()).all(|&b| b == 0xAB),
        "a failed call wrote output"
    );
}

/// The window at (40, 50), 16 x 16, with band numbers 1-6 and with the bands found by name
/// (no band numbers, default options): the same classes, and nothing written past 16 x 16.
fn band_numbers_give_what_band_names_give(
    model: *const cm_model,
    h: cm_gdal_dataset,
    opts: &cm_mask_options,
    classes: &mut [u8],
) {
    let mut by_number = vec![0u8; 16 * 16];
    expect(
        cm_mask_window(
            model,
            h,
            [1, 2, 3, 4, 5, 6].as_ptr(),
            6,
            opts,
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
}

/// cm_mask_buffer with the wrong band count, an empty raster, too small an output and a size
/// that overflows: each has its status and message.
fn bad_buffers_are_refused(model: *const cm_model, data: &[f32], out: &mut [u8]) {
    let bands = cm_status::CM_ERROR_BAND_MAPPING;
    let win = cm_status::CM_ERROR_WINDOW;
    let small = cm_status::CM_ERROR_BUFFER_TOO_SMALL;
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
}

/// A buffer whose every pixel is nodata gives nodata everywhere, and nothing past width x
/// height (nor anything from the refused calls before) is written.
fn an_all_nodata_buffer_gives_nodata(model: *const cm_model, data: &[f32], out: &mut [u8]) {
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
