//! Bad input gets a status and a message that says what to fix, and leaves no output behind.

mod common;

use cloudmask::engine::{mask_window, MaskOptions, Pipeline, Products, Region, Tiling};
use cloudmask::raster::mosaic::write_float_raster;
use cloudmask::raster::writer::Product;
use cloudmask::raster::{BandSelection, Dataset, Input, MemorySource};
use cloudmask::scene::{mask_scene, SceneJob};
use cloudmask::{ErrorKind, Model, ModelOptions};
use std::path::Path;

const NAMES: [&str; 6] = ["B02", "B03", "B04", "B08", "B11", "B12"];

fn job(input: &str, output: &Path) -> SceneJob {
    let outputs = vec![
        (Product::Classes, output.to_path_buf()),
        (Product::Valid, output.with_extension("valid.tif")),
    ];
    common::scene_job(input, outputs)
}

/// The first `n` bands of the sample scene as planes.
fn sample_planes(scene: &str, n: usize) -> (usize, usize, Vec<Vec<f32>>) {
    let ds = Dataset::open(scene).unwrap();
    let (w, h) = (ds.width(), ds.height());
    let planes = (1..=n)
        .map(|b| {
            let mut p = vec![0f32; w * h];
            ds.read(b, 0, 0, w, h, &mut p).unwrap();
            p
        })
        .collect();
    (w, h, planes)
}

#[test]
fn input_problems_are_reported_before_any_work() {
    let scene = common::sample_scene();
    let model = common::model("ukis-6b-l1c", 2);
    let tmp = common::TempDir::new("bad-input");
    let out = tmp.path("mask.tif");
    let none = |_: f64, _: &str| true;

    let e = mask_scene(&model, job("/no/such/scene.tif", &out), &mut { none }).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Input);
    assert!(
        e.message.contains("/no/such/scene.tif") && e.message.contains("does not exist"),
        "{e}"
    );

    let text = tmp.path("notes.tif");
    std::fs::write(&text, "not a raster").unwrap();
    let e = mask_scene(&model, job(&text.to_string_lossy(), &out), &mut { none }).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Input);
    assert!(e.message.contains("cannot open"), "{e}");

    let (w, h, planes) = sample_planes(&scene, 3);
    let three = tmp.path("three.tif");
    write_float_raster(&three, &planes, w, h, &NAMES[..3], None).unwrap();
    let e = mask_scene(&model, job(&three.to_string_lossy(), &out), &mut { none }).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BandMapping);
    assert!(
        e.message.contains("has 3 bands but the model needs 6"),
        "{e}"
    );

    let (_, _, planes) = sample_planes(&scene, 6);
    let unnamed = tmp.path("unnamed.tif");
    write_float_raster(&unnamed, &planes, w, h, &[], None).unwrap();
    let e = mask_scene(&model, job(&unnamed.to_string_lossy(), &out), &mut { none }).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BandMapping);
    assert!(
        e.message.contains("--bands"),
        "the message should say how to fix it: {e}"
    );
    // ... and naming the bands by number fixes it, with the same result as by name.
    let by_index_out = tmp.path("by-index.tif");
    let mut by_index = job(&unnamed.to_string_lossy(), &by_index_out);
    by_index.input.bands = BandSelection::Indices(vec![1, 2, 3, 4, 5, 6]);
    let report = mask_scene(&model, by_index, &mut { none }).unwrap();
    assert_eq!(report.class_counts[1..].iter().sum::<u64>(), (w * h) as u64);

    let e = mask_scene(
        &model,
        job(&scene, Path::new("/no/such/folder/mask.tif")),
        &mut { none },
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Output);
    assert!(
        e.message.contains("folder /no/such/folder does not exist"),
        "{e}"
    );

    let mut bad_index = job(&scene, &out);
    bad_index.input.bands = BandSelection::Indices(vec![1, 2, 3, 4, 5, 9]);
    let e = mask_scene(&model, bad_index, &mut { none }).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BandMapping);
    assert!(e.message.contains("band 9 does not exist"), "{e}");

    assert!(!out.exists());
    assert!(
        common::file_names(&tmp.0)
            .iter()
            .all(|f| !f.starts_with('.')),
        "temporary files left: {:?}",
        common::file_names(&tmp.0)
    );
}

#[test]
fn cancelling_midway_leaves_no_file() {
    let scene = common::sample_scene();
    let model = common::model("ukis-6b-l1c", 2);
    let tmp = common::TempDir::new("cancel");
    let out = tmp.path("mask.tif");
    let mut calls = 0;
    let e = mask_scene(&model, job(&scene, &out), &mut |f, _| {
        calls += 1;
        f < 0.4
    })
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Cancelled);
    assert!(calls >= 2, "progress was reported {calls} times");
    assert_eq!(
        common::file_names(&tmp.0),
        Vec::<String>::new(),
        "cancel left files behind"
    );
}

#[test]
fn windows_outside_the_raster_are_refused() {
    let scene = common::sample_scene();
    let model = common::model("ukis-6b-l1c", 2);
    let mut src = Input::path(&scene)
        .open_for(&model.card.band_names())
        .unwrap();
    for (x, y, w, h, says) in [
        (500, 0, 20, 10, "outside the raster"),
        (0, 0, 0, 5, "is empty"),
        (0, 511, 1, 2, "outside the raster"),
    ] {
        let e = mask_window(
            &model,
            &mut src,
            Region { x, y, w, h },
            &MaskOptions::default(),
            Products::default(),
            &mut |_| true,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Window);
        assert!(e.message.contains(says), "{e}");
    }
}

#[test]
fn requests_are_checked_before_any_tile_is_read() {
    let model = common::model("ukis-6b-l1c", 1);
    let (w, h) = (64, 48);
    let data = vec![0.1f32; 6 * w * h];
    let window = Region { x: 0, y: 0, w, h };
    let mut reads = 0;
    let mut count = |_: f64| {
        reads += 1;
        true
    };
    let refused = |options: MaskOptions, bands: usize| {
        let mut src = MemorySource::new(&data[..bands * w * h], bands, w, h, None).unwrap();
        Pipeline::new(&model, &mut src, window, &options, Products::default())
            .err()
            .expect("the request was accepted")
    };
    for (options, bands, kind, says) in [
        (
            MaskOptions::default(),
            4,
            ErrorKind::BandMapping,
            "needs 6 (",
        ),
        (
            MaskOptions {
                tile: Some(100),
                ..Default::default()
            },
            6,
            ErrorKind::InvalidArgument,
            "multiple of 32",
        ),
        (
            MaskOptions {
                overlap: 0.7,
                ..Default::default()
            },
            6,
            ErrorKind::InvalidArgument,
            "overlap 0.7",
        ),
        (
            MaskOptions {
                batch: 0,
                ..Default::default()
            },
            6,
            ErrorKind::InvalidArgument,
            "batch 0",
        ),
    ] {
        let e = refused(options, bands);
        assert_eq!(e.kind, kind, "{e}");
        assert!(e.message.contains(says), "{e}");
    }
    // Rows outside the window, or rows of a window that ukis tiling masks as one image.
    let mut src = MemorySource::new(&data, 6, w, h, None).unwrap();
    let part = Region {
        y: 8,
        h: 32,
        ..window
    };
    let options = MaskOptions::default();
    let mut pipeline =
        Pipeline::new(&model, &mut src, part, &options, Products::default()).unwrap();
    for (y, rows) in [(0, 8), (30, 16), (8, 0)] {
        let e = pipeline.collect_rows(y, rows, &mut count).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Window, "{e}");
    }
    let ukis = MaskOptions {
        tiling: Tiling::Ukis,
        ..Default::default()
    };
    let mut src = MemorySource::new(&data, 6, w, h, None).unwrap();
    let mut pipeline = Pipeline::new(&model, &mut src, window, &ukis, Products::default()).unwrap();
    let e = pipeline.collect_rows(0, 8, &mut count).err().unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");
    assert_eq!(reads, 0, "a refused request ran tiles");
}

#[test]
fn nan_and_nodata_pixels_become_nodata_in_every_output() {
    let scene = common::sample_scene();
    let model = common::model("ukis-6b-l1c", 2);
    let (w, h, mut planes) = sample_planes(&scene, 6);
    // A NaN block, an infinite pixel, and a block at the declared nodata value in one band.
    for y in 100..140 {
        for x in 200..260 {
            planes[2][y * w + x] = f32::NAN;
        }
    }
    planes[0][5 * w + 5] = f32::INFINITY;
    for y in 300..310 {
        for x in 0..512 {
            planes[4][y * w + x] = -9999.0;
        }
    }
    let bad_pixels = 40 * 60 + 1 + 10 * 512;
    let data: Vec<f32> = planes.concat();
    let mut src = MemorySource::new(&data, 6, w, h, Some(-9999.0)).unwrap();
    let products = Products {
        valid: true,
        probabilities: true,
    };
    let r = mask_window(
        &model,
        &mut src,
        Region { x: 0, y: 0, w, h },
        &MaskOptions::default(),
        products,
        &mut |_| true,
    )
    .unwrap();
    let nodata = r.classes.iter().filter(|&&c| c == 0).count();
    assert_eq!(nodata, bad_pixels);
    assert_eq!(r.classes[120 * w + 230], 0);
    assert_eq!(r.valid.as_ref().unwrap()[120 * w + 230], 0);
    let p = r.probabilities.unwrap();
    assert!(p[120 * w + 230].is_nan());
    // Every other pixel still gets a real class and finite probabilities: NaN did not spread.
    let finite = (0..w * h)
        .filter(|&i| r.classes[i] != 0)
        .all(|i| p[i].is_finite());
    assert!(finite);
    // Far from the damaged areas the mask is what it is on the clean image.
    let clean_data: Vec<f32> = sample_planes(&scene, 6).2.concat();
    let mut clean = MemorySource::new(&clean_data, 6, w, h, None).unwrap();
    let c = mask_window(
        &model,
        &mut clean,
        Region { x: 0, y: 0, w, h },
        &MaskOptions::default(),
        Products::default(),
        &mut |_| true,
    )
    .unwrap();
    assert_eq!(r.classes[450 * w + 450], c.classes[450 * w + 450]);
}

#[test]
fn broken_models_and_cards_are_refused_with_the_reason() {
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("bad-model");
    let options = ModelOptions {
        threads: 1,
        ..Default::default()
    };

    let not_onnx = tmp.path("text.onnx");
    std::fs::write(&not_onnx, "hello").unwrap();
    let e = Model::load(&not_onnx.to_string_lossy(), &options)
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::Model);
    assert!(e.message.contains("not a usable ONNX model"), "{e}");

    let real = cloudmask::model::resolve("ukis-6b-l1c").unwrap();
    let bare = tmp.path("bare.onnx");
    std::fs::copy(&real.onnx, &bare).unwrap();
    let e = Model::load(&bare.to_string_lossy(), &options)
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::Model);
    assert!(e.message.contains("has no card"), "{e}");

    // A 4-band card beside a 6-band network.
    let four = cloudmask::model::resolve("ukis-4b-l1c").unwrap();
    std::fs::copy(four.sidecar.unwrap(), tmp.path("bare.json")).unwrap();
    let e = Model::load(&bare.to_string_lossy(), &options)
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::Model);
    assert!(
        e.message
            .contains("lists 4 bands but the network takes 6 input channels"),
        "{e}"
    );

    let e = Model::load("no-such-model", &options).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Model);
    assert!(
        e.message.contains("unknown model 'no-such-model'") && e.message.contains("ukis-6b-l1c"),
        "{e}"
    );
}
