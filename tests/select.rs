//! `cloudmask select` on the Sentinel-2 sample with the default model: the chosen tiles are more
//! uncertain than the average tile (checked against entropy computed here from the engine's
//! probabilities), never overlap and keep their distance; the outputs are georeferenced; bad
//! input is refused with a message that says what to change, and leaves no file.

mod common;

use common::output_text as text;

use cloudmask::select::{select_tiles, Measure, Models, SelectJob, SelectOptions, Selection};
use cloudmask::{ErrorKind, MaskOptions, Model, Products, Region};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TILE: usize = 128;
const STRIDE: usize = 64;

fn options(measure: Measure, count: usize) -> SelectOptions {
    SelectOptions {
        measure,
        tile: TILE,
        stride: Some(STRIDE),
        count,
        ..SelectOptions::default()
    }
}

fn select(model: &Model, scene: &str, options: &SelectOptions) -> cloudmask::Result<Selection> {
    let models = Models {
        first: model,
        second: None,
    };
    select_tiles(models, &[scene.to_string()], options, &mut |_, _| true)
}

/// Mean entropy (natural log, over ln 3) of every candidate window, from the whole raster's
/// probabilities: (x, y) → mean.
fn entropy_of_windows(model: &Model, scene: &str) -> Vec<((usize, usize), f64)> {
    let whole = Region {
        x: 0,
        y: 0,
        w: 512,
        h: 512,
    };
    let products = Products {
        probabilities: true,
        valid: false,
    };
    let r = common::mask_file(model, scene, whole, &MaskOptions::default(), products).unwrap();
    let p = r.probabilities.unwrap();
    let k = model.n_classes();
    let n = 512 * 512;
    let h: Vec<f64> = (0..n)
        .map(|i| {
            -(0..k)
                .map(|c| p[c * n + i] as f64)
                .filter(|&v| v > 0.0)
                .map(|v| v * v.ln())
                .sum::<f64>()
                / (k as f64).ln()
        })
        .collect();
    let mut out = Vec::new();
    for y in (0..=512 - TILE).step_by(STRIDE) {
        for x in (0..=512 - TILE).step_by(STRIDE) {
            let sum: f64 = (y..y + TILE)
                .flat_map(|row| h[row * 512 + x..row * 512 + x + TILE].iter())
                .sum();
            out.push(((x, y), sum / (TILE * TILE) as f64));
        }
    }
    out
}

fn overlap(a: (usize, usize), b: (usize, usize), size: usize) -> bool {
    a.0 < b.0 + size && b.0 < a.0 + size && a.1 < b.1 + size && b.1 < a.1 + size
}

fn windows(s: &Selection) -> Vec<(usize, usize)> {
    s.selected
        .iter()
        .map(|&i| (s.candidates[i].x, s.candidates[i].y))
        .collect()
}

#[test]
fn selected_tiles_are_more_uncertain_than_average_and_never_overlap() {
    let scene = common::sample_scene();
    let model = common::model(cloudmask::model::DEFAULT_MODEL, 2);
    let sel = select(&model, &scene, &options(Measure::Entropy, 4)).unwrap();
    let truth = entropy_of_windows(&model, &scene);
    assert_eq!(sel.candidates.len(), truth.len());
    assert_eq!(sel.candidates.len(), 49);

    // The scores are the tiles' mean entropy.
    for c in &sel.candidates {
        let (_, want) = truth.iter().find(|(w, _)| *w == (c.x, c.y)).unwrap();
        assert!(
            (c.score - want).abs() < 1e-5,
            "({}, {}): {} vs {want}",
            c.x,
            c.y,
            c.score
        );
    }
    let chosen = windows(&sel);
    assert_eq!(chosen.len(), 4, "{:?}", sel.warnings);
    let mean_all = truth.iter().map(|(_, h)| h).sum::<f64>() / truth.len() as f64;
    let mean_chosen = chosen
        .iter()
        .map(|w| truth.iter().find(|(t, _)| t == w).unwrap().1)
        .sum::<f64>()
        / chosen.len() as f64;
    assert!(
        mean_chosen > mean_all,
        "chosen {mean_chosen:.4} vs all {mean_all:.4}"
    );
    // The most uncertain tile of the scene comes first.
    let best = truth.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap().0;
    assert_eq!(chosen[0], best);
    // No two overlap; with the default gap (one tile) none are neighbours either.
    for (i, a) in chosen.iter().enumerate() {
        for b in &chosen[i + 1..] {
            assert!(!overlap(*a, *b, TILE), "{a:?} and {b:?} overlap");
            let gap = (a.0.abs_diff(b.0).max(a.1.abs_diff(b.1))) as i64 - TILE as i64;
            assert!(gap >= TILE as i64, "{a:?} and {b:?} are {gap} apart");
        }
    }
    // Same input, same selection.
    let again = select(&model, &scene, &options(Measure::Entropy, 4)).unwrap();
    assert_eq!(windows(&again), chosen);

    // Margin ranks by the top-two gap and is also above average.
    let margin = select(&model, &scene, &options(Measure::Margin, 4)).unwrap();
    assert!(margin.mean_selected() > margin.mean_all());
    assert!(margin
        .candidates
        .iter()
        .all(|c| (0.0..=1.0).contains(&c.score)));
}

#[test]
fn disagreement_between_two_models() {
    let scene = common::sample_scene();
    let (a, b) = (
        common::model("ukis-6b-l1c", 2),
        common::model("ukis-4b-l1c", 2),
    );
    let models = Models {
        first: &a,
        second: Some(&b),
    };
    let o = options(Measure::Disagreement, 3);
    let sel = select_tiles(models, std::slice::from_ref(&scene), &o, &mut |_, _| true).unwrap();
    assert!(sel
        .candidates
        .iter()
        .all(|c| (0.0..=1.0).contains(&c.score)));
    assert!(
        sel.mean_all() > 0.0,
        "two different models agree everywhere?"
    );
    assert!(sel.mean_selected() > sel.mean_all());
    // A model does not disagree with itself.
    let same = Models {
        first: &a,
        second: Some(&a),
    };
    let sel = select_tiles(same, &[scene], &o, &mut |_, _| true).unwrap();
    assert!(sel.candidates.iter().all(|c| c.score == 0.0));
}

/// The sample scene behind a VRT that gives it a UTM geotransform and CRS.
fn georeferenced(dir: &common::TempDir, scene: &str) -> PathBuf {
    let bands: String = ["B02", "B03", "B04", "B08", "B11", "B12"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            format!(
                r#"<VRTRasterBand dataType="Float32" band="{b}"><Description>{name}</Description>
<SimpleSource><SourceFilename relativeToVRT="0">{scene}</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>
"#,
                b = i + 1
            )
        })
        .collect();
    let vrt = format!(
        r#"<VRTDataset rasterXSize="512" rasterYSize="512"><SRS>EPSG:32633</SRS>
<GeoTransform>500000, 30, 0, 6000000, 0, -30</GeoTransform>
{bands}</VRTDataset>"#
    );
    let path = dir.path("utm.vrt");
    std::fs::write(&path, vrt).unwrap();
    path
}

fn cloudmask(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .output()
        .unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_command_writes_georeferenced_geojson_and_a_list() {
    let scene = common::sample_scene();
    let model = common::model(cloudmask::model::DEFAULT_MODEL, 2);
    let tmp = common::TempDir::new("select-cli");
    let vrt = georeferenced(&tmp, &scene);
    let (geojson, list) = (tmp.path("sel.geojson"), tmp.path("sel.csv"));
    let o = cloudmask(&[
        "select",
        &vrt.to_string_lossy(),
        "--tile",
        "128",
        "--stride",
        "64",
        "-k",
        "4",
        "--geojson",
        &geojson.to_string_lossy(),
        "--list",
        &list.to_string_lossy(),
        "--threads",
        "2",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("mean entropy"), "{}", text(&o));

    // The same windows as the library picks on the plain GeoTIFF (georeferencing changes no pixel).
    let want = windows(&select(&model, &scene, &options(Measure::Entropy, 4)).unwrap());
    let csv = std::fs::read_to_string(&list).unwrap();
    let mut rows = csv.lines();
    assert_eq!(rows.next(), Some("scene,xoff,yoff,width,height,score"));
    let got: Vec<(usize, usize)> = rows
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f[0], vrt.to_string_lossy());
            assert_eq!((f[3], f[4]), ("128", "128"));
            (f[1].parse().unwrap(), f[2].parse().unwrap())
        })
        .collect();
    assert_eq!(got, want);

    let doc = read_json(&geojson);
    assert_eq!(doc["type"], "FeatureCollection");
    assert_eq!(
        doc["crs"]["properties"]["name"],
        "urn:ogc:def:crs:EPSG::32633"
    );
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), 4);
    for (f, (x, y)) in features.iter().zip(&want) {
        let p = &f["properties"];
        assert_eq!(
            (p["xoff"].as_u64(), p["yoff"].as_u64()),
            (Some(*x as u64), Some(*y as u64))
        );
        let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.len(), 5);
        assert_eq!(ring[0], ring[4]);
        let xs: Vec<f64> = ring.iter().map(|pt| pt[0].as_f64().unwrap()).collect();
        let ys: Vec<f64> = ring.iter().map(|pt| pt[1].as_f64().unwrap()).collect();
        let min = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = |v: &[f64]| v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(min(&xs), 500000.0 + 30.0 * *x as f64);
        assert_eq!(max(&xs), 500000.0 + 30.0 * (*x + TILE) as f64);
        assert_eq!(max(&ys), 6000000.0 - 30.0 * *y as f64);
        assert_eq!(min(&ys), 6000000.0 - 30.0 * (*y + TILE) as f64);
    }

    // GDAL reads it back in that CRS.
    if let Ok(info) = Command::new("ogrinfo")
        .args(["-al", "-so"])
        .arg(&geojson)
        .output()
    {
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains("Feature Count: 4"), "{info}");
        assert!(info.contains("32633"), "{info}");
    }
}

#[test]
fn bad_input_is_refused_with_what_to_change_and_leaves_no_file() {
    let (dir, scene) = (common::data_dir(), common::sample_scene());
    let model = common::model(cloudmask::model::DEFAULT_MODEL, 2);
    let tmp = common::TempDir::new("select-bad");
    let one_band = dir.join("38-cloud/red.tif").to_string_lossy().into_owned();
    let run = |inputs: &[&str], options: SelectOptions, second: Option<&Model>| {
        let job = SelectJob {
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            options,
            geojson: Some(tmp.path("x.geojson")),
            list: Some(tmp.path("x.csv")),
        };
        let models = Models {
            first: &model,
            second,
        };
        cloudmask::select::run(models, &job, &mut |_, _| true).unwrap_err()
    };
    let o = || options(Measure::Entropy, 4);
    let cases: Vec<(cloudmask::Error, ErrorKind, &[&str])> = vec![
        // A raster the model cannot run on: one band for a six-band model.
        (
            run(&[&one_band], o(), None),
            ErrorKind::BandMapping,
            &["red.tif has 1 bands", "(model ukis-6b-l1c)"],
        ),
        (
            run(&[&scene], SelectOptions { tile: 1024, ..o() }, None),
            ErrorKind::Window,
            &["512 x 512", "smaller than the 1024-pixel candidate tile"],
        ),
        (
            run(
                &[&scene],
                SelectOptions {
                    stride: Some(48),
                    ..o()
                },
                None,
            ),
            ErrorKind::InvalidArgument,
            &["stride 48 must divide the tile size 128"],
        ),
        (
            run(&[&scene], SelectOptions { count: 0, ..o() }, None),
            ErrorKind::InvalidArgument,
            &["at least 1"],
        ),
        (
            run(&[&scene], options(Measure::Disagreement, 4), None),
            ErrorKind::InvalidArgument,
            &["disagreement", "second model"],
        ),
        (
            run(&[&scene], o(), Some(&model)),
            ErrorKind::InvalidArgument,
            &["only used by the disagreement measure"],
        ),
        (
            run(&["/nonexistent/scene.tif"], o(), None),
            ErrorKind::Input,
            &["/nonexistent/scene.tif"],
        ),
        (
            run(&[], o(), None),
            ErrorKind::InvalidArgument,
            &["no scene"],
        ),
    ];
    for (e, kind, needles) in cases {
        assert_eq!(e.kind, kind, "{e}");
        for n in needles {
            assert!(e.message.contains(n), "{e}\nlacks {n:?}");
        }
    }
    // A GeoJSON cannot mix a UTM scene with an ungeoreferenced one.
    let vrt = georeferenced(&tmp, &scene);
    let e = run(&[&vrt.to_string_lossy(), &scene], o(), None);
    assert!(
        e.message.contains("one CRS") && e.message.contains("EPSG:32633"),
        "{e}"
    );
    // Nothing was written by any of these.
    let left: Vec<String> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "utm.vrt")
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // An unwritable output fails before any model runs; a cancel leaves no file.
    let job = SelectJob {
        inputs: vec![scene.clone()],
        options: o(),
        geojson: Some(PathBuf::from("/nonexistent/dir/x.geojson")),
        list: Some(tmp.path("x.csv")),
    };
    let models = Models {
        first: &model,
        second: None,
    };
    let mut called = false;
    let e = cloudmask::select::run(models, &job, &mut |_, _| {
        called = true;
        true
    })
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Output, "{e}");
    assert!(!called, "the model ran before the output was checked");
    let job = SelectJob {
        geojson: Some(tmp.path("x.geojson")),
        ..job
    };
    let e = cloudmask::select::run(models, &job, &mut |f, _| f < 0.5).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Cancelled, "{e}");
    assert!(!tmp.path("x.geojson").exists() && !tmp.path("x.csv").exists());

    // Through the command: the exit code is the error kind and the message says what to change.
    let o = cloudmask(&[
        "select",
        &one_band,
        "--list",
        &tmp.path("y.csv").to_string_lossy(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(ErrorKind::BandMapping as i32),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("ukis-6b-l1c"), "{}", text(&o));
    let o = cloudmask(&["select", &scene]);
    assert_eq!(
        o.status.code(),
        Some(ErrorKind::InvalidArgument as i32),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("no output requested"), "{}", text(&o));
}
