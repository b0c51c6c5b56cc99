//! The examples: examples/mask_window.c compiled with strict flags and run, its counts the
//! library's; examples/mask_window.py run with each Python.

use crate::common;
use crate::common::capi::{compile_example, lib_dir, root};
use crate::model;
use cloudmask::engine::{mask_window, MaskOptions, Products, Region};
use cloudmask::raster::{BandSelection, Dataset, GdalSource, Scaling};
use std::path::PathBuf;
use std::process::Command;

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
