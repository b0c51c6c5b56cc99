//! `cm_mask_chunk` and `cm_model_context`: a buffer masked as the part of a larger raster it is
//! gives exactly the crop of the whole-raster result (classes, valid mask, probabilities), and
//! every bad argument is refused with its status and a message, outputs untouched. Also
//! `cm_model_card`, the other call the Python package (docs/python.md) added.

mod common;

use cloudmask::ffi::*;
use cloudmask::raster::Dataset;
use common::capi::{expect, load_model, mask_options};
use std::ptr::{null, null_mut};

const SIDE: usize = 512;
const BANDS: usize = 6;
const CLASSES: usize = 3;

/// The sample scene as one band-major reflectance buffer.
fn scene() -> Vec<f32> {
    let ds = Dataset::open(&common::sample_scene()).unwrap();
    assert_eq!((ds.width(), ds.height()), (SIDE, SIDE));
    let mut data = vec![0f32; BANDS * SIDE * SIDE];
    for b in 0..BANDS {
        let plane = &mut data[b * SIDE * SIDE..(b + 1) * SIDE * SIDE];
        ds.read(b + 1, 0, 0, SIDE, SIDE, plane).unwrap();
    }
    data
}

/// Classes, valid mask and probabilities of a chunk's core.
struct Out {
    classes: Vec<u8>,
    valid: Vec<u8>,
    probabilities: Vec<f32>,
}

fn mask(m: *const cm_model, data: &[f32], w: usize, h: usize, chunk: Option<&cm_chunk>) -> Out {
    let (cw, ch) = chunk.map_or((w, h), |c| {
        (
            w - c.halo_left - c.halo_right,
            h - c.halo_top - c.halo_bottom,
        )
    });
    let n = cw * ch;
    let mut out = Out {
        classes: vec![0xAB; n],
        valid: vec![0xAB; n],
        probabilities: vec![-1.0; CLASSES * n],
    };
    let status = cm_mask_chunk(
        m,
        data.as_ptr(),
        BANDS,
        w,
        h,
        null(),
        chunk.map_or(null(), |c| c as *const cm_chunk),
        &mask_options(),
        out.classes.as_mut_ptr(),
        n,
        out.valid.as_mut_ptr(),
        n,
        out.probabilities.as_mut_ptr(),
        CLASSES * n,
    );
    expect(status, cm_status::CM_OK, "");
    out
}

/// Rows `y0..y1`, columns `x0..x1` of each `side`-wide plane of `planes`.
fn crop<T: Copy>(
    planes: &[T],
    side: usize,
    (x0, x1, y0, y1): (usize, usize, usize, usize),
) -> Vec<T> {
    let plane = side * side;
    (0..planes.len() / plane)
        .flat_map(|p| (y0..y1).flat_map(move |r| (x0..x1).map(move |c| p * plane + r * side + c)))
        .map(|i| planes[i])
        .collect()
}

#[test]
fn chunks_with_their_halo_equal_crops_of_the_whole_raster() {
    let m = load_model("ukis-6b-l1c", 2);
    let data = scene();
    let mut context = 0usize;
    expect(
        cm_model_context(m, null(), &mut context),
        cm_status::CM_OK,
        "",
    );
    // A 256-pixel tile less one pixel, plus the default 4-pixel buffer.
    assert_eq!(context, 259);

    let whole = mask(m, &data, SIDE, SIDE, None);
    // NULL chunk is cm_mask_buffer.
    let mut by_buffer = vec![0u8; SIDE * SIDE];
    expect(
        cm_mask_buffer(
            m,
            data.as_ptr(),
            BANDS,
            SIDE,
            SIDE,
            null(),
            null(),
            by_buffer.as_mut_ptr(),
            SIDE * SIDE,
            null_mut(),
            0,
        ),
        cm_status::CM_OK,
        "",
    );
    assert!(whole.classes == by_buffer);
    let counts: Vec<usize> = (0..5)
        .map(|k| whole.classes.iter().filter(|&&c| c == k).count())
        .collect();
    assert!(
        counts[1] > 100_000 && counts[2] > 30_000 && counts[4] > 10_000,
        "{counts:?}"
    );
    assert!(whole.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));

    // Ragged cores, not aligned to the 204-pixel tile step; each buffer carries the context
    // where the raster goes on (clipped at its edges), as Dask's map_overlap hands it.
    let cuts = [0, 199, 380, SIDE];
    let rows = [0, 301, SIDE];
    for ys in rows.windows(2) {
        for xs in cuts.windows(2) {
            let (x0, x1, y0, y1) = (xs[0], xs[1], ys[0], ys[1]);
            let (bx0, bx1) = (x0.saturating_sub(context), (x1 + context).min(SIDE));
            let (by0, by1) = (y0.saturating_sub(context), (y1 + context).min(SIDE));
            let (bw, bh) = (bx1 - bx0, by1 - by0);
            let part: Vec<f32> = crop(&data, SIDE, (bx0, bx1, by0, by1));
            let chunk = cm_chunk {
                raster_width: SIDE,
                raster_height: SIDE,
                x: bx0,
                y: by0,
                halo_left: x0 - bx0,
                halo_top: y0 - by0,
                halo_right: bx1 - x1,
                halo_bottom: by1 - y1,
            };
            let got = mask(m, &part, bw, bh, Some(&chunk));
            let window = (x0, x1, y0, y1);
            assert!(
                got.classes == crop(&whole.classes, SIDE, window),
                "classes of {window:?}"
            );
            assert!(
                got.valid == crop(&whole.valid, SIDE, window),
                "valid of {window:?}"
            );
            let want = crop(&whole.probabilities, SIDE, window);
            assert!(
                got.probabilities
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "probabilities of {window:?}"
            );
        }
    }
    cm_model_free(m);
}

/// One `cm_mask_chunk` call with no options, nodata or valid mask: the arguments the
/// bad-argument cases change, as raw parts so a case is the good call with one field changed.
#[derive(Clone, Copy)]
struct Call<'a> {
    model: *const cm_model,
    bands: *const f32,
    n_bands: usize,
    width: usize,
    height: usize,
    chunk: &'a cm_chunk,
    classes: (*mut u8, usize),
    probabilities: (*mut f32, usize),
}

impl Call<'_> {
    fn run(&self) -> cm_status {
        cm_mask_chunk(
            self.model,
            self.bands,
            self.n_bands,
            self.width,
            self.height,
            null(),
            self.chunk,
            null(),
            self.classes.0,
            self.classes.1,
            null_mut(),
            0,
            self.probabilities.0,
            self.probabilities.1,
        )
    }
}

#[test]
fn bad_chunks_are_refused_with_what_to_fix_and_outputs_untouched() {
    let m = load_model("ukis-6b-l1c", 2);
    let data = vec![0.2f32; BANDS * 300 * 300];
    let mut classes = vec![0xAB_u8; 300 * 300];
    let mut probabilities = vec![-1.0f32; 10];
    let win = cm_status::CM_ERROR_WINDOW;
    let run = |chunk: &cm_chunk, classes: &mut [u8], options: &cm_mask_options| {
        cm_mask_chunk(
            m,
            data.as_ptr(),
            BANDS,
            300,
            300,
            null(),
            chunk,
            options,
            classes.as_mut_ptr(),
            classes.len(),
            null_mut(),
            0,
            null_mut(),
            0,
        )
    };
    let good = cm_chunk {
        raster_width: 1000,
        raster_height: 1000,
        x: 100,
        y: 0,
        halo_left: 100,
        halo_top: 0,
        halo_right: 100,
        halo_bottom: 100,
    };
    // Too little halo where the raster goes on, and on the raster's edge side.
    expect(
        run(&good, &mut classes, &mask_options()),
        win,
        "chunk halo_left is 100 pixels but exact masking needs 200",
    );
    let short = cm_chunk {
        x: 0,
        halo_left: 0,
        halo_right: 10,
        ..good
    };
    expect(
        run(&short, &mut classes, &mask_options()),
        win,
        "halo_right is 10 pixels but exact masking needs 259",
    );
    // Outside the raster; a halo that leaves no core.
    let outside = cm_chunk { x: 800, ..good };
    expect(
        run(&outside, &mut classes, &mask_options()),
        win,
        "does not fit inside the 1000 x 1000 raster",
    );
    let hollow = cm_chunk {
        halo_left: 150,
        halo_right: 150,
        ..good
    };
    expect(
        run(&hollow, &mut classes, &mask_options()),
        win,
        "leaves nothing of its 300 columns",
    );
    let overflow = cm_chunk {
        halo_left: usize::MAX,
        ..good
    };
    expect(
        run(&overflow, &mut classes, &mask_options()),
        win,
        "leaves nothing",
    );
    // ukis tiling masks a part as an image of its own: refused but for the whole raster.
    let mut ukis = mask_options();
    ukis.tiling = cm_tiling::Ukis as i32;
    let whole = cm_chunk {
        raster_width: 300,
        raster_height: 300,
        x: 0,
        y: 0,
        halo_left: 0,
        halo_top: 0,
        halo_right: 0,
        halo_bottom: 0,
    };
    let edge = cm_chunk {
        raster_width: 300,
        raster_height: 400,
        ..whole
    };
    expect(
        run(&edge, &mut classes, &ukis),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "only exact tiling",
    );
    assert!(
        classes.iter().all(|&c| c == 0xAB),
        "a refused call wrote its output"
    );
    // A probabilities buffer too small; NULL pointers; sizes that overflow or do not fit.
    let good_call = Call {
        model: m,
        bands: data.as_ptr(),
        n_bands: BANDS,
        width: 300,
        height: 300,
        chunk: &whole,
        classes: (classes.as_mut_ptr(), classes.len()),
        probabilities: (null_mut(), 0),
    };
    let cases = [
        (
            Call {
                probabilities: (probabilities.as_mut_ptr(), probabilities.len()),
                ..good_call
            },
            cm_status::CM_ERROR_BUFFER_TOO_SMALL,
            "270000 are needed",
        ),
        (
            Call {
                model: null(),
                ..good_call
            },
            cm_status::CM_ERROR_INVALID_ARGUMENT,
            "model is NULL",
        ),
        (
            Call {
                bands: null(),
                ..good_call
            },
            cm_status::CM_ERROR_INVALID_ARGUMENT,
            "bands is NULL",
        ),
        (
            Call {
                n_bands: usize::MAX,
                ..good_call
            },
            cm_status::CM_ERROR_INVALID_ARGUMENT,
            "overflow",
        ),
        (
            Call {
                n_bands: 3,
                height: 600,
                ..good_call
            },
            win,
            "does not fit inside the 300 x 300 raster",
        ),
    ];
    for (call, status, message) in cases {
        expect(call.run(), status, message);
        assert!(
            probabilities.iter().all(|&p| p == -1.0) && classes.iter().all(|&c| c == 0xAB),
            "a refused call ({message}) wrote its output"
        );
    }
    // The whole raster under ukis tiling runs (and ukis needs no context).
    expect(run(&whole, &mut classes, &ukis), cm_status::CM_OK, "");
    assert!(classes.iter().all(|&c| c <= 4));
    // cm_model_context: NULL output, ukis tiling, a bad option.
    expect(
        cm_model_context(m, null(), null_mut()),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "out_context is NULL",
    );
    let mut context = 7usize;
    expect(
        cm_model_context(m, &ukis, &mut context),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "only exact tiling",
    );
    let mut big = mask_options();
    big.tile = 512;
    big.buffer = 10;
    expect(
        cm_model_context(m, &big, &mut context),
        cm_status::CM_OK,
        "",
    );
    assert_eq!(context, 521);
    expect(
        cm_model_context(null(), null(), &mut context),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "model is NULL",
    );
    assert_eq!(context, 521);
    cm_model_free(m);
}

#[test]
fn the_model_card_as_json() {
    let m = load_model("ukis-6b-l1c", 2);
    let needed = cm_model_card(m, null_mut(), 0);
    assert!(needed > 100, "{needed}");
    let mut buf = vec![0 as std::os::raw::c_char; needed];
    assert_eq!(cm_model_card(m, buf.as_mut_ptr(), needed), needed);
    // SAFETY: NUL-terminated within `needed` bytes.
    let text = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .unwrap()
        .to_string();
    let card: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(card["tile_size"], 256);
    assert_eq!(card["bands"].as_array().unwrap().len(), BANDS);
    assert_eq!(card["classes"].as_array().unwrap().len(), CLASSES);
    // Cut to fit, NUL-terminated, same size asked.
    let mut small = [0x7f as std::os::raw::c_char; 8];
    assert_eq!(cm_model_card(m, small.as_mut_ptr(), 8), needed);
    assert_eq!(small[7], 0);
    assert_eq!(cm_model_card(null(), null_mut(), 0), 0);
    expect(
        cm_last_error_code_status(),
        cm_status::CM_ERROR_INVALID_ARGUMENT,
        "model is NULL",
    );
    cm_model_free(m);
}

/// The status of the last call, for calls that return something else.
fn cm_last_error_code_status() -> cm_status {
    match cm_last_error_code() {
        1 => cm_status::CM_ERROR_INVALID_ARGUMENT,
        0 => cm_status::CM_OK,
        other => panic!("unexpected last error code {other}"),
    }
}
