//! Exact tiling: masking a window gives exactly the crop of the whole-raster result, and on a
//! whole raster exact and ukis tiling give the same pixels.

mod common;

use cloudmask::engine::{MaskOptions, MaskResult, Pipeline, Products, Region, Tiling};
use cloudmask::raster::{BandSelection, Dataset, GdalSource, Scaling};
use cloudmask::Model;

fn run(model: &Model, path: &str, window: Region, tiling: Tiling) -> MaskResult {
    let options = MaskOptions {
        tiling,
        ..Default::default()
    };
    let products = Products {
        valid: true,
        probabilities: true,
    };
    common::mask_file(model, path, window, &options, products).unwrap()
}

fn crop<T: Copy>(full: &[T], full_w: usize, full_h: usize, r: Region) -> Vec<T> {
    let planes = full.len() / (full_w * full_h);
    let mut out = Vec::new();
    for p in 0..planes {
        for y in r.y..r.y + r.h {
            let start = p * full_w * full_h + y * full_w + r.x;
            out.extend_from_slice(&full[start..start + r.w]);
        }
    }
    out
}

#[test]
fn windows_are_crops_of_the_whole_raster_result() {
    let scene = common::sample_scene();
    let model = common::model("ukis-6b-l1c", 2);
    let whole = Region {
        x: 0,
        y: 0,
        w: 512,
        h: 512,
    };
    let full = run(&model, &scene, whole, Tiling::Exact);
    let ukis = run(&model, &scene, whole, Tiling::Ukis);
    assert_eq!(
        full.classes, ukis.classes,
        "exact and ukis tiling differ on the whole raster"
    );
    assert_eq!(full.valid, ukis.valid);
    let windows = [
        Region {
            x: 0,
            y: 0,
            w: 1,
            h: 1,
        },
        Region {
            x: 511,
            y: 511,
            w: 1,
            h: 1,
        },
        Region {
            x: 153,
            y: 357,
            w: 1,
            h: 1,
        },
        Region {
            x: 0,
            y: 200,
            w: 512,
            h: 7,
        },
        Region {
            x: 300,
            y: 0,
            w: 212,
            h: 512,
        },
        Region {
            x: 100,
            y: 120,
            w: 200,
            h: 150,
        },
        Region {
            x: 203,
            y: 203,
            w: 3,
            h: 3,
        },
    ];
    for win in windows {
        let part = run(&model, &scene, win, Tiling::Exact);
        assert_eq!(
            part.classes,
            crop(&full.classes, 512, 512, win),
            "classes differ in {win:?}"
        );
        assert_eq!(
            part.valid.unwrap(),
            crop(full.valid.as_ref().unwrap(), 512, 512, win),
            "valid differs in {win:?}"
        );
        let p = part.probabilities.unwrap();
        let want = crop(full.probabilities.as_ref().unwrap(), 512, 512, win);
        assert!(
            p.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
            "probabilities differ in {win:?}"
        );
    }
}

#[test]
fn one_model_serves_several_threads_with_identical_results() {
    let scene = common::sample_scene();
    let model = common::model("ukis-6b-l1c", 1);
    let windows = [
        Region {
            x: 0,
            y: 0,
            w: 300,
            h: 200,
        },
        Region {
            x: 200,
            y: 250,
            w: 312,
            h: 262,
        },
        Region {
            x: 50,
            y: 400,
            w: 100,
            h: 112,
        },
    ];
    let alone: Vec<MaskResult> = windows
        .iter()
        .map(|&w| run(&model, &scene, w, Tiling::Exact))
        .collect();
    let together: Vec<MaskResult> = std::thread::scope(|s| {
        let handles: Vec<_> = windows
            .iter()
            .map(|&w| {
                s.spawn({
                    let model = &model;
                    let scene = &scene;
                    move || run(model, scene, w, Tiling::Exact)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (a, b) in alone.iter().zip(&together) {
        assert_eq!(a.classes, b.classes);
        assert_eq!(a.valid, b.valid);
    }
}

#[test]
fn a_shared_tile_cache_gives_the_same_pixels_with_less_work() {
    let scene = common::sample_scene();
    let model = common::model("ukis-6b-l1c", 2);
    let whole = run(
        &model,
        &scene,
        Region {
            x: 0,
            y: 0,
            w: 512,
            h: 512,
        },
        Tiling::Exact,
    );
    let cache = std::sync::Arc::new(cloudmask::tiling::TileCache::new(64 << 20));
    let options = MaskOptions {
        cache: Some(cache.clone()),
        ..Default::default()
    };
    let products = Products {
        valid: true,
        probabilities: false,
    };
    // GDAL-style 128 x 128 blocks, each masked on its own.
    for by in 0..4 {
        for bx in 0..4 {
            let block = Region {
                x: bx * 128,
                y: by * 128,
                w: 128,
                h: 128,
            };
            let r = common::mask_file(&model, &scene, block, &options, products).unwrap();
            assert_eq!(
                r.classes,
                crop(&whole.classes, 512, 512, block),
                "block {bx},{by}"
            );
            assert_eq!(
                r.valid.unwrap(),
                crop(whole.valid.as_ref().unwrap(), 512, 512, block),
                "block {bx},{by}"
            );
        }
    }
    // 3 x 3 tiles cover the raster; the 16 blocks (grown by the buffer) ask for 36 or more.
    let (hits, misses) = cache.stats();
    assert_eq!(misses, 9, "each tile computed once");
    assert!(hits + misses >= 36, "{hits} hits");
}

#[test]
fn streamed_strips_and_rows_are_the_collected_window() {
    let scene = common::sample_scene();
    let model = common::model("ukis-6b-l1c", 2);
    let names = model.card.band_names();
    let ds = Dataset::open(&scene).unwrap();
    let mut src = GdalSource::new(ds, &names, &BandSelection::Auto, Scaling::Auto, None).unwrap();
    let window = Region {
        x: 130,
        y: 200,
        w: 90,
        h: 70,
    };
    let products = Products {
        valid: false,
        probabilities: true,
    };
    for tiling in [Tiling::Exact, Tiling::Ukis] {
        let options = MaskOptions {
            tiling,
            ..Default::default()
        };
        let mut pipeline = Pipeline::new(&model, &mut src, window, &options, products).unwrap();
        let collected = pipeline.collect(&mut |_| true).unwrap();
        let (mut classes, mut next) = (Vec::new(), window.y);
        pipeline
            .stream(
                &mut |s| {
                    assert_eq!((s.y, s.width), (next, window.w), "{tiling:?}");
                    next += s.rows;
                    classes.extend_from_slice(&s.classes);
                    Ok(())
                },
                &mut |_| true,
            )
            .unwrap();
        assert_eq!(next, window.y + window.h, "{tiling:?}");
        assert_eq!(classes, collected.classes, "{tiling:?}");
        if tiling == Tiling::Exact {
            let rows = pipeline
                .collect_rows(window.y + 20, 30, &mut |_| true)
                .unwrap();
            let part = Region {
                x: 0,
                y: 20,
                w: window.w,
                h: 30,
            };
            assert_eq!(
                rows.classes,
                crop(&collected.classes, window.w, window.h, part)
            );
            assert_eq!(
                rows.probabilities.unwrap(),
                crop(
                    collected.probabilities.as_ref().unwrap(),
                    window.w,
                    window.h,
                    part
                )
            );
        }
    }
}
