//! `cloudmask mask` as a batch: many inputs with one model load, resumable runs, refusals before
//! any work, the JSON summary, exit codes (crates/cli/src/exit.rs, docs/cli.md).

mod common;

use cloudmask::raster::Dataset;
use common::output_text as text;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

const USAGE: i32 = 64;
const SCENES_FAILED: i32 = 65;
const OUTPUT: i32 = 8;

fn cloudmask(args: &[&str]) -> Output {
    Command::new(common::cloudmask_exe())
        .args(args)
        .output()
        .unwrap()
}

fn cloudmask_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(common::cloudmask_exe())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A `side` x `side` crop of the sample scene at (x, y).
fn crop(out: &Path, x: usize, y: usize, side: usize) {
    let o = Command::new("gdal_translate")
        .args(["-q", "-srcwin"])
        .args([x, y, side, side].map(|v| v.to_string()))
        .arg(common::sample_scene())
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "gdal_translate: {}", text(&o));
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

/// Fractions of the class map's pixels per code 0..=4, read back from the file.
fn pixel_fractions(path: &Path) -> [f64; 5] {
    let (_, _, v) = common::read_band_u8(&s(path), 1);
    let mut f = [0.0; 5];
    for c in &v {
        f[*c as usize] += 1.0 / v.len() as f64;
    }
    f
}

#[test]
fn a_batch_masks_resumes_and_overwrites_with_one_model_load() {
    common::require_model("ukis-6b-l1c");
    let tmp = common::TempDir::new("batch-run");
    let scenes = tmp.path("scenes");
    let masks = tmp.path("masks");
    std::fs::create_dir_all(&scenes).unwrap();
    // 18 crops at different places of the sample (different cloud cover), 2 unreadable files.
    for i in 0..18 {
        let (x, y) = ((i % 6) * 76, (i / 6) * 190);
        crop(&scenes.join(format!("s{i:02}.tif")), x, y, 128);
    }
    std::fs::write(scenes.join("broken.tif"), b"not a raster").unwrap();
    std::fs::write(scenes.join("empty.tif"), b"").unwrap();
    std::fs::write(scenes.join("notes.txt"), b"not an input").unwrap();

    let dir = s(&scenes);
    let out = s(&masks);
    let o = cloudmask(&[
        "mask",
        &dir,
        "--output-dir",
        &out,
        "--json",
        "--threads",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(SCENES_FAILED), "{}", text(&o));
    let summary = json(&o);
    let totals = &summary["totals"];
    assert_eq!(
        (&totals["scenes"], &totals["ok"], &totals["failed"]),
        (&Value::from(20), &Value::from(18), &Value::from(2)),
        "{summary}"
    );
    assert_eq!(totals["models_loaded"], 1, "{summary}");
    assert_eq!(summary["exit_code"], SCENES_FAILED);
    let all = summary["scenes"].as_array().unwrap();
    // Each masked scene says how many tiles the network ran and how long it took; the totals
    // add them up; a failed scene ran none.
    let tiles: Vec<u64> = all.iter().filter_map(|s| s["tiles_run"].as_u64()).collect();
    assert_eq!(tiles.len(), 18, "{summary}");
    assert!(tiles.iter().all(|&t| t > 0), "{tiles:?}");
    assert_eq!(totals["tiles_run"], tiles.iter().sum::<u64>(), "{summary}");
    let inference = totals["inference_seconds"].as_f64().unwrap();
    assert!(
        inference > 0.0 && inference < totals["seconds"].as_f64().unwrap(),
        "{summary}"
    );
    let failed: Vec<&Value> = all.iter().filter(|s| s["status"] == "failed").collect();
    for f in &failed {
        assert_eq!(f["error"]["kind"], "input", "{f}");
        assert_eq!(f["error"]["code"], 2, "{f}");
        assert!(f["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot open"));
    }
    let failed_inputs: Vec<&str> = failed
        .iter()
        .map(|f| f["input"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed_inputs,
        [format!("{dir}/broken.tif"), format!("{dir}/empty.tif")]
    );
    // Per-scene stderr summary, each failure named.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("[20/20]"), "{err}");
    assert!(
        err.contains("20 scenes: 18 ok, 0 skipped, 2 failed"),
        "{err}"
    );
    assert!(
        err.contains("failed   ") && err.contains("empty.tif"),
        "{err}"
    );

    let mut names: Vec<String> = common::file_names(&masks)
        .into_iter()
        .filter(|n| n.ends_with("_mask.tif"))
        .collect();
    names.sort();
    let want: Vec<String> = (0..18).map(|i| format!("s{i:02}_mask.tif")).collect();
    assert_eq!(names, want);

    // The class fractions: the summary's equal the output's metadata and the pixels.
    let mut cloud_covers = Vec::new();
    for scene in all.iter().filter(|s| s["status"] == "ok") {
        let output = PathBuf::from(scene["outputs"][0].as_str().unwrap());
        let ds = Dataset::open(&s(&output)).unwrap();
        let pixels = pixel_fractions(&output);
        let keys = ["nodata", "clear", "cloud", "thin_cloud", "shadow"];
        for (code, key) in keys.iter().enumerate() {
            let in_json = scene["fractions"][key].as_f64().unwrap();
            let md_key = format!("CLOUDMASK_FRACTION_{}", key.to_uppercase());
            let in_file: f64 = ds.metadata_item(&md_key, "").unwrap().parse().unwrap();
            assert_eq!(in_json, in_file, "{md_key} of {}", output.display());
            assert!(
                (in_json - pixels[code]).abs() < 1e-9,
                "{key}: {in_json} vs {}",
                pixels[code]
            );
        }
        let cloud = scene["cloud_percent"].as_f64().unwrap();
        assert!((cloud - 100.0 * (pixels[2] + pixels[3]) / (1.0 - pixels[0])).abs() < 1e-9);
        cloud_covers.push(cloud);
    }
    // The crops differ: the fractions are each scene's own.
    cloud_covers.sort_by(f64::total_cmp);
    assert!(cloud_covers[17] - cloud_covers[0] > 5.0, "{cloud_covers:?}");

    // Without --overwrite or --skip-existing, the outputs refuse the run before any work.
    let before: Vec<SystemTime> = want.iter().map(|n| mtime(&masks.join(n))).collect();
    let o = cloudmask(&["mask", &dir, "--output-dir", &out]);
    assert_eq!(o.status.code(), Some(OUTPUT), "{}", text(&o));
    assert!(
        text(&o).contains("exists (and 17 more): nothing was masked"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("--overwrite") && !text(&o).contains("[1/20]"));

    // --skip-existing: nothing new is computed, the two bad ones still fail.
    let o = cloudmask(&[
        "mask",
        &dir,
        "--output-dir",
        &out,
        "--skip-existing",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(SCENES_FAILED), "{}", text(&o));
    let summary = json(&o);
    assert_eq!(summary["totals"]["skipped"], 18, "{summary}");
    assert_eq!(summary["totals"]["failed"], 2, "{summary}");
    assert_eq!(summary["totals"]["ok"], 0, "{summary}");
    let after: Vec<SystemTime> = want.iter().map(|n| mtime(&masks.join(n))).collect();
    assert_eq!(before, after);

    // --overwrite replaces (two scenes, listed on stdin with a comment); -q prints nothing.
    let list = format!("# two scenes\n{dir}/s03.tif\n\n{dir}/s04.tif\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let o = cloudmask_stdin(
        &[
            "mask",
            "--from-list",
            "-",
            "--output-dir",
            &out,
            "--overwrite",
            "-q",
        ],
        &list,
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(text(&o), "", "-q prints nothing on success");
    let after: Vec<SystemTime> = want.iter().map(|n| mtime(&masks.join(n))).collect();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b != a, i == 3 || i == 4, "{}", want[i]);
    }
}

#[test]
fn outputs_over_inputs_and_bad_usage_are_refused_before_any_work() {
    let tmp = common::TempDir::new("batch-refusals");
    let a = tmp.path("a.tif");
    let b = tmp.path("b.tif");
    crop(&a, 0, 0, 64);
    crop(&b, 64, 64, 64);
    let original = std::fs::read(&a).unwrap();
    let unchanged = |why: &str| assert!(std::fs::read(&a).unwrap() == original, "{why}");

    // -o is the input, or a link to it.
    let o = cloudmask(&["mask", &s(&a), "-o", &s(&a)]);
    assert_eq!(o.status.code(), Some(OUTPUT), "{}", text(&o));
    assert!(text(&o).contains("would destroy the input"), "{}", text(&o));
    unchanged("-o input");
    let link = tmp.path("link.tif");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    let o = cloudmask(&["mask", &s(&a), "-o", &s(&link), "--overwrite"]);
    assert_eq!(o.status.code(), Some(OUTPUT), "{}", text(&o));
    assert!(text(&o).contains("(which resolves to"), "{}", text(&o));
    unchanged("-o a link to the input");
    // An output that is its own input, named by the pattern.
    let o = cloudmask(&[
        "mask",
        &s(&a),
        &s(&b),
        "--output-dir",
        &s(&tmp.0),
        "--name-pattern",
        "{stem}.tif",
        "--overwrite",
    ]);
    assert_eq!(o.status.code(), Some(OUTPUT), "{}", text(&o));
    unchanged("--name-pattern {stem}.tif");
    // In a batch: b's output (b_mask.tif) is a link to the batch's other input.
    let masks = tmp.path("m");
    std::fs::create_dir_all(&masks).unwrap();
    std::os::unix::fs::symlink(&a, masks.join("b_mask.tif")).unwrap();
    let o = cloudmask(&[
        "mask",
        &s(&a),
        &s(&b),
        "--output-dir",
        &s(&masks),
        "--overwrite",
    ]);
    assert_eq!(o.status.code(), Some(OUTPUT), "{}", text(&o));
    assert!(text(&o).contains("is the input"), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("(which resolves to {})", s(&a))),
        "{}",
        text(&o)
    );
    unchanged("an output linked to another input of the batch");

    // Two inputs with one output name.
    let other = tmp.path("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::copy(&a, other.join("a.tif")).unwrap();
    let o = cloudmask(&[
        "mask",
        &s(&a),
        &s(&other.join("a.tif")),
        "--output-dir",
        &s(&tmp.path("n")),
    ]);
    assert_eq!(o.status.code(), Some(OUTPUT), "{}", text(&o));
    assert!(text(&o).contains("are the same file"), "{}", text(&o));
    assert!(!tmp.path("n/a_mask.tif").exists());

    // Usage errors: 64, distinct from every library code.
    let o = cloudmask(&["mask", &s(&a), "-o", "-"]);
    assert_eq!(o.status.code(), Some(USAGE), "{}", text(&o));
    assert!(
        text(&o).contains("a GeoTIFF cannot be streamed"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("-o mask.tif"), "{}", text(&o));
    assert!(!tmp.path("-").exists());
    let o = cloudmask(&["mask", &s(&a), "--outptu", "x.tif"]);
    assert_eq!(o.status.code(), Some(USAGE), "{}", text(&o));
    let o = cloudmask(&["mask", &s(&a), &s(&b), "-o", &s(&tmp.path("x.tif"))]);
    assert_eq!(o.status.code(), Some(USAGE), "{}", text(&o));
    assert!(text(&o).contains("use --output-dir"), "{}", text(&o));
    let o = cloudmask(&[
        "mask",
        &s(&a),
        "--output-dir",
        "d",
        "--name-pattern",
        "{name}.tif",
    ]);
    assert_eq!(o.status.code(), Some(USAGE), "{}", text(&o));
    let o = cloudmask(&[
        "mask",
        &s(&a),
        "-o",
        "x.tif",
        "--overwrite",
        "--skip-existing",
    ]);
    assert_eq!(o.status.code(), Some(USAGE), "{}", text(&o));
    let o = cloudmask(&["mask", &format!("{}/*.jp2", s(&tmp.0)), "-o", "x.tif"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no file matches"), "{}", text(&o));
    // --help and --version still succeed.
    for args in [&["mask", "--help"][..], &["--version"]] {
        let o = cloudmask(args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    assert!(text(&cloudmask(&["mask", "--help"])).contains("64 usage error"));
}

/// A STAC item over single-band crops of the sample (georeferenced, as stacking needs), in
/// `collection` (which gives its level).
fn stac_item(dir: &Path, name: &str, collection: &str) -> PathBuf {
    let bands = [
        ("B02", "blue"),
        ("B03", "green"),
        ("B04", "red"),
        ("B08", "nir"),
        ("B11", "swir16"),
        ("B12", "swir22"),
    ];
    let mut assets = Vec::new();
    for (i, (id, common)) in bands.iter().enumerate() {
        let file = dir.join(format!("{id}.tif"));
        if !file.exists() {
            let o = Command::new("gdal_translate")
                .args(["-q", "-a_srs", "EPSG:32632", "-a_ullr", "500000", "5001280"])
                .args(["501280", "5000000", "-srcwin", "0", "0", "128", "128", "-b"])
                .arg((i + 1).to_string())
                .arg(common::sample_scene())
                .arg(&file)
                .output()
                .unwrap();
            assert!(o.status.success(), "gdal_translate: {}", text(&o));
        }
        assets.push(format!(
            r#""{id}": {{"href": "{id}.tif", "type": "image/tiff; application=geotiff", "eo:bands": [{{"name": "{id}", "common_name": "{common}"}}]}}"#
        ));
    }
    let item = dir.join(format!("{name}.json"));
    std::fs::write(
        &item,
        format!(
            r#"{{"type": "Feature", "stac_version": "1.0.0", "id": "{name}", "collection": "{collection}", "geometry": null, "properties": {{"datetime": "2024-01-01T00:00:00Z"}}, "assets": {{{}}}}}"#,
            assets.join(", ")
        ),
    )
    .unwrap();
    item
}

#[test]
fn each_input_gets_the_model_of_its_level_and_each_model_loads_once() {
    common::require_model("ukis-6b-l1c");
    common::require_model("ukis-6b-l2a");
    let tmp = common::TempDir::new("batch-levels");
    let toa = stac_item(&tmp.0, "toa", "sentinel-2-l1c");
    let sr = stac_item(&tmp.0, "sr", "sentinel-2-l2a");
    let sr2 = stac_item(&tmp.0, "sr2", "sentinel-2-l2a");
    let out = s(&tmp.path("masks"));
    let o = cloudmask(&[
        "mask",
        &s(&toa),
        &s(&sr),
        &s(&sr2),
        "--output-dir",
        &out,
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let summary = json(&o);
    assert_eq!(summary["totals"]["models_loaded"], 2, "{summary}");
    let models: Vec<&str> = summary["scenes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["ukis-6b-l1c", "ukis-6b-l2a", "ukis-6b-l2a"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("so model ukis-6b-l2a masks it"), "{err}");
    assert!(tmp.path("masks/sr2_mask.tif").is_file());

    // A model of the other level: a warning, or refused under --strict (exit 4, nothing written).
    let one = s(&tmp.path("one.tif"));
    let o = cloudmask(&[
        "mask",
        &s(&sr),
        "-o",
        &one,
        "--model",
        "ukis-6b-l1c",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let warning = json(&o)["scenes"][0]["warnings"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(warning.contains("its masks may be wrong"), "{warning}");
    assert!(text(&o).contains(&format!("cloudmask: warning: {warning}")));
    let strict = s(&tmp.path("strict.tif"));
    let o = cloudmask(&[
        "mask",
        &s(&sr),
        "-o",
        &strict,
        "-m",
        "ukis-6b-l1c",
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains("(refused under --strict)"),
        "{}",
        text(&o)
    );
    assert!(!Path::new(&strict).exists());
}
