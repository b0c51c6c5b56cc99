//! The engine (window in, mask out) on generated rasters and generated networks whose outputs
//! are known: exact class maps, probabilities, nodata, buffered valid masks, window invariance,
//! and the errors a bad window, band set or tile size gets.

mod common;
#[path = "common/tiny.rs"]
mod tiny;

use cloudmask::postprocess::Buffers;
use cloudmask::raster::{BandSelection, Dataset, GdalSource, MemorySource, Scaling};
use cloudmask::{mask_window, ErrorKind, MaskOptions, MaskResult, Model, Products, Region, Tiling};
use common::TempDir;
use tiny::{class_counts, valid_by_distance, TinyNet, TinyRaster};

const ALL: Products = Products {
    probabilities: true,
    valid: true,
};

fn whole(w: usize, h: usize) -> Region {
    Region { x: 0, y: 0, w, h }
}

/// Masks a window of a raster file, bands matched by name.
fn mask(model: &Model, path: &str, window: Region, options: &MaskOptions) -> MaskResult {
    common::mask_file(model, path, window, options, ALL).unwrap()
}

#[test]
fn the_class_map_is_the_argmax_of_the_network_pixel_by_pixel() {
    let tmp = TempDir::new("core-engine-argmax");
    let model = TinyNet::threshold().load(&tmp, "tiny");
    // 60 x 40 is no multiple of the 32-pixel tile: edge tiles are mirrored.
    let raster = TinyRaster::halves(60, 40);
    let path = raster.write(&tmp.path("halves.tif"));
    let got = mask(&model, &path, whole(60, 40), &MaskOptions::default());
    assert_eq!((got.width, got.height), (60, 40));
    assert_eq!(got.classes, raster.threshold_classes("B04", "B08"));
    // Left half cloud, a 4 x 5 shadow block in the clear right half.
    assert_eq!(class_counts(&got.classes), [0, 1180, 1200, 0, 20]);
    // Probabilities: (class, row, column), the softmax of the logits (0.3, red, nir).
    let probabilities = got.probabilities.unwrap();
    let n = 60 * 40;
    assert_eq!(probabilities.len(), 3 * n);
    let (red, nir) = (raster.band("B04"), raster.band("B08"));
    for i in 0..n {
        let logits = [tiny::CLEAR_BELOW, red[i], nir[i]];
        let total: f32 = logits.iter().map(|l| l.exp()).sum();
        for (c, l) in logits.iter().enumerate() {
            let (want, p) = (l.exp() / total, probabilities[c * n + i]);
            assert!(
                (p - want).abs() < 1e-6,
                "pixel {i} class {c}: {p} != {want}"
            );
        }
    }
}

#[test]
fn the_valid_mask_buffers_each_class_by_its_own_radius() {
    let tmp = TempDir::new("core-engine-buffers");
    let model = TinyNet::threshold().load(&tmp, "tiny");
    // One cloud pixel at (10, 10) and one shadow pixel at (30, 12) in a clear 41 x 25 raster.
    let red = |x: usize, y: usize| if (x, y) == (10, 10) { 0.9 } else { 0.1 };
    let nir = |x: usize, y: usize| if (x, y) == (30, 12) { 0.9 } else { 0.1 };
    let raster = TinyRaster::float(41, 25, &[("red", &red), ("nir", &nir)]);
    let path = raster.write(&tmp.path("dots.tif"));
    let radius = [0, 0, 3, 0, 1];
    let options = MaskOptions {
        buffers: Buffers { radius },
        ..Default::default()
    };
    let got = mask(&model, &path, whole(41, 25), &options);
    assert_eq!(class_counts(&got.classes), [0, 1023, 1, 0, 1]);
    let valid = got.valid.unwrap();
    // City-block diamonds: 2r² + 2r + 1 pixels, 25 around the cloud and 5 around the shadow.
    assert_eq!(valid.iter().filter(|&&v| v == 0).count(), 25 + 5);
    assert_eq!(valid, valid_by_distance(&got.classes, 41, 25, &radius));
    assert_eq!(valid[10 * 41 + 13], 0, "3 pixels right of the cloud");
    assert_eq!(valid[10 * 41 + 14], 1, "4 pixels right of the cloud");
    assert_eq!(valid[11 * 41 + 12], 0, "one down, two right of the cloud");
    assert_eq!(valid[13 * 41 + 31], 1, "diagonal neighbour of the shadow");
}

#[test]
fn nodata_and_non_finite_pixels_are_class_0_invalid_and_nan() {
    let tmp = TempDir::new("core-engine-nodata");
    let model = TinyNet::threshold().load(&tmp, "tiny");
    let mut raster = TinyRaster::halves(50, 30);
    raster.nodata = Some(-9999.0);
    // The declared nodata value in red on a 3 x 2 block, NaN in nir on one pixel, +inf on one.
    let at = |x: usize, y: usize| y * 50 + x;
    for (x, y) in [(5, 5), (6, 5), (7, 5), (5, 6), (6, 6), (7, 6)] {
        raster.bands[0].1[at(x, y)] = -9999.0;
    }
    raster.bands[1].1[at(40, 20)] = f32::NAN;
    raster.bands[1].1[at(0, 29)] = f32::INFINITY;
    let path = raster.write(&tmp.path("holes.tif"));
    let options = MaskOptions {
        buffers: Buffers::uniform(0),
        ..Default::default()
    };
    let got = mask(&model, &path, whole(50, 30), &options);
    let holes = [at(5, 5), at(6, 5), at(7, 5), at(5, 6), at(6, 6), at(7, 6)];
    let holes = [&holes[..], &[at(40, 20), at(0, 29)]].concat();
    let mut want = raster.threshold_classes("B04", "B08");
    for &i in &holes {
        want[i] = 0;
    }
    assert_eq!(got.classes, want);
    assert_eq!(class_counts(&got.classes)[0], 8);
    let valid = got.valid.unwrap();
    let probabilities = got.probabilities.unwrap();
    let n = 50 * 30;
    for i in 0..n {
        let hole = holes.contains(&i);
        // With no buffers, exactly the clear pixels are valid.
        assert_eq!(valid[i] == 1, want[i] == 1, "pixel {i}");
        for c in 0..3 {
            assert_eq!(
                probabilities[c * n + i].is_nan(),
                hole,
                "pixel {i} class {c}"
            );
        }
    }
    // A nodata override replaces the declared value: the shadow block (nir 0.75) becomes nodata
    // and the -9999 pixels clear (red below 0.3); non-finite pixels stay nodata.
    let ds = Dataset::open(&path).unwrap();
    let names = model.card.band_names();
    let mut source =
        GdalSource::new(ds, &names, &BandSelection::Auto, Scaling::Auto, Some(0.75)).unwrap();
    let window = whole(50, 30);
    let products = Products::default();
    let got = mask_window(&model, &mut source, window, &options, products, &mut |_| {
        true
    })
    .unwrap();
    assert_eq!(class_counts(&got.classes), [22, 735, 743, 0, 0]);
}

/// Windows at the raster's corners and edges, inside it, and one pixel.
fn windows(w: usize, h: usize) -> Vec<Region> {
    let r = |x, y, w, h| Region { x, y, w, h };
    vec![
        r(0, 0, 37, 29),
        r(w - 45, h - 33, 45, 33),
        r(61, 47, 100, 80),
        r(0, 90, w, 40),
        r(150, 0, 30, h),
        r(123, 77, 1, 1),
    ]
}

/// Bit-exact crop of a whole-raster result.
fn crop(all: &MaskResult, r: Region) -> MaskResult {
    let (w, n) = (all.width, all.width * all.height);
    let rows = |plane: &[u8]| -> Vec<u8> {
        (r.y..r.y + r.h)
            .flat_map(|y| plane[y * w + r.x..y * w + r.x + r.w].to_vec())
            .collect()
    };
    let probabilities = all.probabilities.as_ref().map(|p| {
        (0..p.len() / n)
            .flat_map(|c| {
                (r.y..r.y + r.h).flat_map(move |y| {
                    let row = c * n + y * w;
                    p[row + r.x..row + r.x + r.w].to_vec()
                })
            })
            .collect()
    });
    MaskResult {
        width: r.w,
        height: r.h,
        classes: rows(&all.classes),
        probabilities,
        valid: all.valid.as_deref().map(rows),
    }
}

fn assert_same(got: &MaskResult, want: &MaskResult, what: &str) {
    assert_eq!(got.classes, want.classes, "{what}: classes");
    assert_eq!(got.valid, want.valid, "{what}: valid");
    let bits = |p: &Option<Vec<f32>>| p.as_ref().map(|v| v.iter().map(|f| f.to_bits()).collect());
    let (g, w): (Option<Vec<u32>>, Option<Vec<u32>>) =
        (bits(&got.probabilities), bits(&want.probabilities));
    assert!(g == w, "{what}: probabilities differ");
}

/// A 220 x 170 texture for the spatial network: cloud, shadow and clear patches of every size.
fn texture() -> TinyRaster {
    let hash = |x: usize, y: usize, k: usize| {
        let v = (x / 7 * 73856093) ^ (y / 5 * 19349663) ^ (k * 83492791);
        (v % 1000) as f32 / 1000.0
    };
    let red = move |x: usize, y: usize| hash(x, y, 1) * 0.6 + (x % 3) as f32 * 0.01;
    let nir = move |x: usize, y: usize| hash(x + 3, y, 2) * 0.6;
    TinyRaster::float(220, 170, &[("red", &red), ("nir", &nir)])
}

#[test]
fn a_window_is_the_bit_exact_crop_of_the_whole_raster_result() {
    let tmp = TempDir::new("core-engine-windows");
    let model = TinyNet::spatial().load(&tmp, "spatial");
    let path = texture().write(&tmp.path("texture.tif"));
    let options = MaskOptions {
        buffers: Buffers::uniform(3),
        ..Default::default()
    };
    let all = mask(&model, &path, whole(220, 170), &options);
    let counts = class_counts(&all.classes);
    assert!(
        counts[1] > 1000 && counts[2] > 1000 && counts[4] > 1000,
        "the texture should give every class: {counts:?}"
    );
    for r in windows(220, 170) {
        let got = mask(&model, &path, r, &options);
        assert_same(&got, &crop(&all, r), &format!("window {r:?}"));
    }
    // Tiles per call do not change a pixel.
    let batched = MaskOptions {
        batch: 5,
        ..options.clone()
    };
    assert_same(
        &mask(&model, &path, whole(220, 170), &batched),
        &all,
        "batch 5",
    );
    // ukis mode masks the whole raster as exact mode does with its default overlap ...
    let ukis = MaskOptions {
        tiling: Tiling::Ukis,
        ..options.clone()
    };
    assert_same(
        &mask(&model, &path, whole(220, 170), &ukis),
        &all,
        "ukis, whole raster",
    );
    // ... but masks a window as an image of its own, so the network (which sees its neighbours)
    // gives other values near the window's edges: the comparisons above are not vacuous.
    let r = windows(220, 170)[2];
    let own = mask(&model, &path, r, &ukis);
    assert_ne!(own.probabilities, crop(&all, r).probabilities);
}

#[test]
fn a_memory_buffer_masks_like_the_raster_file_it_holds() {
    let tmp = TempDir::new("core-engine-memory");
    let model = TinyNet::spatial().load(&tmp, "spatial");
    let raster = texture();
    let path = raster.write(&tmp.path("texture.tif"));
    let options = MaskOptions::default();
    let data = [raster.band("red"), raster.band("nir")].concat();
    let mut source = MemorySource::new(&data, 2, 220, 170, None).unwrap();
    let r = Region {
        x: 30,
        y: 40,
        w: 90,
        h: 70,
    };
    let got = mask_window(&model, &mut source, r, &options, ALL, &mut |_| true).unwrap();
    assert_same(&got, &mask(&model, &path, r, &options), "memory vs file");
}

#[test]
fn bad_windows_band_sets_tile_sizes_and_cancels_are_errors() {
    let tmp = TempDir::new("core-engine-errors");
    let model = TinyNet::threshold().load(&tmp, "tiny");
    let raster = TinyRaster::halves(40, 30);
    let path = raster.write(&tmp.path("halves.tif"));
    let run = |window: Region, options: &MaskOptions| {
        common::mask_file(&model, &path, window, options, ALL).unwrap_err()
    };
    let defaults = MaskOptions::default();
    for (window, says) in [
        (
            Region {
                x: 30,
                y: 0,
                w: 11,
                h: 5,
            },
            "outside the raster (40 x 30)",
        ),
        (
            Region {
                x: 0,
                y: 0,
                w: 0,
                h: 5,
            },
            "is empty",
        ),
    ] {
        let e = run(window, &defaults);
        assert_eq!(e.kind, ErrorKind::Window, "{}", e.message);
        assert!(e.message.contains(says), "{}", e.message);
    }
    let odd_tile = MaskOptions {
        tile: Some(40),
        ..Default::default()
    };
    let e = run(whole(40, 30), &odd_tile);
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(e.message.contains("multiple of 16"), "{}", e.message);
    // A raster with only red: the network needs red and nir.
    let red_only = TinyRaster::float(40, 30, &[("red", &|_, _| 0.5)]);
    let red_path = red_only.write(&tmp.path("red.tif"));
    let e = common::mask_file(&model, &red_path, whole(40, 30), &defaults, ALL).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BandMapping);
    assert!(e.message.contains("needs 2 (red, nir)"), "{}", e.message);
    // Returning false from the progress callback stops the work.
    let ds = Dataset::open(&path).unwrap();
    let names = model.card.band_names();
    let mut source =
        GdalSource::new(ds, &names, &BandSelection::Auto, Scaling::Auto, None).unwrap();
    let mut calls = 0;
    let e = mask_window(
        &model,
        &mut source,
        whole(40, 30),
        &defaults,
        ALL,
        &mut |_| {
            calls += 1;
            false
        },
    )
    .unwrap_err();
    assert_eq!((e.kind, calls), (ErrorKind::Cancelled, 1));
}

#[test]
fn tiles_of_nodata_only_are_never_run_and_change_no_pixel() {
    let tmp = TempDir::new("core-engine-skip");
    // A pixel-by-pixel network (cloud on the left half: a tile with data wrongly left out turns
    // its pixels clear) and one whose classes depend on neighbours and tile borders (a tile fed
    // differently changes pixels next to the nodata).
    let threshold = TinyNet::threshold().load(&tmp, "threshold");
    let spatial = TinyNet::spatial().load(&tmp, "spatial");
    let (w, h, gap) = (150, 100, 45);
    let with_holes = {
        let mut r = TinyRaster::halves(w, h);
        r.nodata = Some(-9999.0);
        for (_, values) in &mut r.bands {
            for (i, v) in values.iter_mut().enumerate() {
                if i % w < gap {
                    *v = -9999.0;
                }
            }
        }
        r
    };
    // The reference: the same raster with the nodata columns holding what the network is fed
    // for nodata (the band mean, 0 here) as data, so every tile runs.
    let mut reference = with_holes.clone();
    reference.nodata = None;
    for (_, values) in &mut reference.bands {
        for v in values.iter_mut().filter(|v| **v == -9999.0) {
            *v = 0.0;
        }
    }
    let holes_path = with_holes.write(&tmp.path("holes.tif"));
    let reference_path = reference.write(&tmp.path("reference.tif"));
    for (model, tiling) in [
        (&threshold, Tiling::Exact),
        (&spatial, Tiling::Exact),
        (&spatial, Tiling::Ukis),
    ] {
        let options = MaskOptions {
            tiling,
            batch: 3,
            ..Default::default()
        };
        let before = model.stats();
        let want = mask(model, &reference_path, whole(w, h), &options);
        let all_tiles = model.stats().since(before).tiles;
        let before = model.stats();
        let got = mask(model, &holes_path, whole(w, h), &options);
        let run = model.stats().since(before).tiles;
        assert!(
            run > 0 && run < all_tiles,
            "{tiling:?}: {run} of {all_tiles} tiles run"
        );
        for i in 0..w * h {
            let want = if i % w < gap { 0 } else { want.classes[i] };
            assert_eq!(got.classes[i], want, "{tiling:?}: pixel {i}");
        }
    }
    // A raster of nodata only runs no tile and is nodata everywhere.
    let mut empty = with_holes.clone();
    for (_, values) in &mut empty.bands {
        values.fill(-9999.0);
    }
    let empty_path = empty.write(&tmp.path("empty.tif"));
    let before = spatial.stats();
    let got = mask(&spatial, &empty_path, whole(w, h), &MaskOptions::default());
    assert_eq!(spatial.stats().since(before).tiles, 0);
    assert_eq!(class_counts(&got.classes), [(w * h) as u64, 0, 0, 0, 0]);
    assert!(got.probabilities.unwrap().iter().all(|p| p.is_nan()));
    assert!(got.valid.unwrap().iter().all(|&v| v == 0));
}
