//! The exact virtual mask (the GDAL plugin's CLOUDMASK driver, written by `cloudmask vrt`) read
//! by real GDAL programs: gdal_translate, gdalinfo -stats, gdallocationinfo and Python's
//! osgeo.gdal, by blocks, by random windows and from several threads. Every read must equal the
//! class map (and valid mask) that `cloudmask mask` writes for the whole raster.

mod common;

use common::output_text as text;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const PYTHON: &str = "/usr/bin/python3";

/// What every test needs: the plugin folder, ONNX Runtime, the sample scene.
struct Setup {
    driver_path: String,
    ort: PathBuf,
    scene: String,
}

fn setup() -> Setup {
    let scene = common::sample_scene();
    let ort = common::ort_library();
    common::require_model("ukis-6b-l1c");
    let plugin = common::gdal_plugin_dir();
    Setup {
        driver_path: common::gdal_driver_path(&plugin),
        ort,
        scene,
    }
}

impl Setup {
    /// A GDAL program (or python) with the plugin on GDAL_DRIVER_PATH and ONNX Runtime named.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("GDAL_DRIVER_PATH", &self.driver_path)
            .env("CLOUDMASK_ORT_LIB", &self.ort);
        c
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().unwrap()
    }

    fn python(&self, script: &str, args: &[&str]) -> Output {
        let probe = Command::new(PYTHON)
            .args(["-c", "import numpy, osgeo.gdal"])
            .output();
        assert!(
            probe.is_ok_and(|o| o.status.success()),
            "{PYTHON} with numpy and osgeo.gdal is missing: apt-get install python3-gdal python3-numpy"
        );
        let mut all = vec!["-c", script];
        all.extend_from_slice(args);
        self.run(PYTHON, &all)
    }

    /// `cloudmask vrt IMAGE -o OUT ARGS…`, which must succeed.
    fn vrt(&self, image: &str, out: &Path, args: &[&str]) {
        let o = cloudmask(self, image, out, args);
        assert!(o.status.success(), "cloudmask vrt: {}", text(&o));
    }
}

fn cloudmask(s: &Setup, image: &str, out: &Path, args: &[&str]) -> Output {
    let mut all = vec!["vrt", image, "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    // The command finds ONNX Runtime itself; only GDAL programs get it through the environment.
    s.command(common::cloudmask_exe())
        .env_remove("CLOUDMASK_ORT_LIB")
        .args(&all)
        .output()
        .unwrap()
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `cloudmask mask --output classes,valid` of the sample scene, made once per test binary:
/// (folder, class map, valid mask).
fn reference() -> &'static (PathBuf, String, String) {
    static REFERENCE: OnceLock<(PathBuf, String, String)> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gdal_plugin_exact");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let classes = dir.join("cli.tif");
        let o = Command::new(common::cloudmask_exe())
            .args(["mask", &common::sample_scene(), "-o", &path(&classes)])
            .args(["--output", "classes,valid", "-q"])
            .output()
            .unwrap();
        assert!(o.status.success(), "cloudmask mask: {}", text(&o));
        (
            dir.clone(),
            path(&classes),
            path(&dir.join("cli_valid.tif")),
        )
    })
}

/// Equal pixels between two single-band byte rasters, as (equal, total).
fn agreement(a: &str, b: &str) -> (usize, usize) {
    let (w1, h1, x) = common::read_band_u8(a, 1);
    let (w2, h2, y) = common::read_band_u8(b, 1);
    assert_eq!((w1, h1), (w2, h2), "{a} and {b} differ in size");
    (x.iter().zip(&y).filter(|(p, q)| p == q).count(), x.len())
}

#[test]
fn vrt_of_the_sample_scene_equals_the_cli_class_map() {
    let s = setup();
    let (_, cli, _) = reference();
    let tmp = common::TempDir::new("plugin-exact-scene");
    let vrt = tmp.path("mask.vrt");
    s.vrt(&s.scene, &vrt, &[]);
    let xml = std::fs::read_to_string(&vrt).unwrap();
    for want in [
        "<NoDataValue>0</NoDataValue>",
        "<ColorTable>",
        "<Category>cloud shadow</Category>",
        "CLOUDMASK:{",
        "\"bands\":[1,2,3,4,5,6]",
    ] {
        assert!(xml.contains(want), "{want} missing from the VRT:\n{xml}");
    }
    // A virtual mask cannot name the library to load: GDAL programs find it themselves.
    assert!(!xml.contains("\"ort\""), "{xml}");
    // From another working folder: every path in the VRT is absolute.
    let out = tmp.path("translated.tif");
    let o = s
        .command("gdal_translate")
        .current_dir("/")
        .args(["-q", &path(&vrt), &path(&out)])
        .output()
        .unwrap();
    assert!(o.status.success(), "gdal_translate: {}", text(&o));
    let (equal, total) = agreement(cli, &path(&out));
    assert_eq!(equal, total, "{equal} of {total} pixels equal the CLI's");
}

/// Reads a VRT band block by block (blocks of the given size) in Python and compares each block
/// with the same pixels of a reference raster. Prints "equal total".
const READ_BY_BLOCKS: &str = r#"
import sys
from osgeo import gdal
gdal.UseExceptions()
vrt, ref, band, block = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ds = gdal.Open(vrt)
b = ds.GetRasterBand(band)
want = gdal.Open(ref).ReadAsArray()
equal = total = 0
for y in range(0, ds.RasterYSize, block):
    for x in range(0, ds.RasterXSize, block):
        w, h = min(block, ds.RasterXSize - x), min(block, ds.RasterYSize - y)
        got = b.ReadAsArray(x, y, w, h)
        equal += int((got == want[y:y+h, x:x+w]).sum())
        total += w * h
print(equal, total)
"#;

fn counts(o: &Output) -> (usize, usize) {
    assert!(o.status.success(), "python: {}", text(o));
    let out = String::from_utf8_lossy(&o.stdout);
    let mut it = out.split_whitespace().map(|v| v.parse::<usize>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

#[test]
fn every_block_size_gives_the_cli_masks() {
    let s = setup();
    let (_, cli, cli_valid) = reference();
    let tmp = common::TempDir::new("plugin-exact-blocks");
    for block in ["64", "128", "256", "512"] {
        let vrt = tmp.path(&format!("mask{block}.vrt"));
        s.vrt(
            &s.scene,
            &vrt,
            &["--block", block, "--output", "classes,valid"],
        );
        let xml = std::fs::read_to_string(&vrt).unwrap();
        assert!(xml.contains(&format!("\"block\":{block},")), "{xml}");
        for (band, reference) in [("1", cli), ("2", cli_valid)] {
            let o = s.python(READ_BY_BLOCKS, &[&path(&vrt), reference, band, block]);
            let (equal, total) = counts(&o);
            assert_eq!(
                (equal, total),
                (512 * 512, 512 * 512),
                "block {block}, band {band}: {equal} of {total} pixels equal the CLI's"
            );
        }
    }
}

#[test]
fn random_windows_equal_the_crop_of_the_cli_masks() {
    let s = setup();
    let (_, cli, cli_valid) = reference();
    let tmp = common::TempDir::new("plugin-exact-windows");
    let vrt = tmp.path("mask.vrt");
    s.vrt(
        &s.scene,
        &vrt,
        &["--output", "classes,valid", "--block", "128"],
    );
    let script = r#"
import sys, random
from osgeo import gdal
gdal.UseExceptions()
ds = gdal.Open(sys.argv[1])
refs = [gdal.Open(p).ReadAsArray() for p in sys.argv[2:4]]
rng = random.Random(20240611)
equal = total = 0
for _ in range(20):
    w, h = rng.randint(1, 300), rng.randint(1, 300)
    x, y = rng.randint(0, ds.RasterXSize - w), rng.randint(0, ds.RasterYSize - h)
    for band, ref in zip((1, 2), refs):
        got = ds.GetRasterBand(band).ReadAsArray(x, y, w, h)
        equal += int((got == ref[y:y+h, x:x+w]).sum())
        total += w * h
print(equal, total)
"#;
    let o = s.python(script, &[&path(&vrt), cli, cli_valid]);
    let (equal, total) = counts(&o);
    assert!(total > 0);
    assert_eq!(
        equal, total,
        "{equal} of {total} window pixels equal the crop"
    );
}

#[test]
fn gdalinfo_stats_and_gdallocationinfo_match_the_cli() {
    let s = setup();
    let (_, cli, _) = reference();
    let tmp = common::TempDir::new("plugin-exact-info");
    let vrt = tmp.path("mask.vrt");
    s.vrt(&s.scene, &vrt, &[]);
    // gdalinfo -stats writes STATISTICS_* into a writable VRT: run it on a copy.
    let copy = tmp.path("copy.vrt");
    std::fs::copy(&vrt, &copy).unwrap();
    let before = std::fs::read(&vrt).unwrap();
    let o = s.run("gdalinfo", &["-stats", &path(&copy)]);
    assert!(o.status.success(), "gdalinfo: {}", text(&o));
    let (_, _, want) = common::read_band_u8(cli, 1);
    // Nodata (0) pixels are left out of GDAL's statistics.
    let valid: Vec<f64> = want
        .iter()
        .filter(|&&v| v != 0)
        .map(|&v| v as f64)
        .collect();
    let mean = valid.iter().sum::<f64>() / valid.len() as f64;
    let out = text(&o);
    let stat = |key: &str| -> f64 {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("{key} missing:\n{out}"));
        line.split('=').nth(1).unwrap().trim().parse().unwrap()
    };
    assert!((stat("STATISTICS_MEAN=") - mean).abs() < 1e-9, "{out}");
    let min = valid.iter().cloned().fold(f64::MAX, f64::min);
    let max = valid.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(
        (stat("STATISTICS_MINIMUM="), stat("STATISTICS_MAXIMUM=")),
        (min, max)
    );
    assert_eq!(
        std::fs::read(&vrt).unwrap(),
        before,
        "the user's VRT changed"
    );

    let points = [(0, 0), (511, 511), (100, 300), (257, 255), (400, 17)];
    let input: String = points.iter().map(|(x, y)| format!("{x} {y}\n")).collect();
    let mut child = s
        .command("gdallocationinfo")
        .args(["-valonly", &path(&vrt)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "gdallocationinfo: {}", text(&o));
    let got: Vec<u8> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let expected: Vec<u8> = points.iter().map(|&(x, y)| want[y * 512 + x]).collect();
    assert_eq!(got, expected);
}

#[test]
fn reads_from_several_threads_equal_a_single_threaded_read() {
    let s = setup();
    let (_, cli, _) = reference();
    let tmp = common::TempDir::new("plugin-exact-threads");
    let vrt = tmp.path("mask.vrt");
    s.vrt(&s.scene, &vrt, &["--block", "128", "--threads", "1"]);
    // Four threads, each with its own handle, read every block in a different order, at once.
    let script = r#"
import sys, random, threading
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
vrt, ref = sys.argv[1], sys.argv[2]
single = gdal.Open(vrt).ReadAsArray()
want = gdal.Open(ref).ReadAsArray()
blocks = [(x, y) for y in range(0, 512, 128) for x in range(0, 512, 128)]
results, errors = {}, []
start = threading.Barrier(4)
def read(i):
    try:
        ds = gdal.Open(vrt)
        order = blocks[:]
        random.Random(i).shuffle(order)
        out = np.zeros((512, 512), np.uint8)
        start.wait()
        for x, y in order:
            out[y:y+128, x:x+128] = ds.GetRasterBand(1).ReadAsArray(x, y, 128, 128)
        results[i] = out
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=read, args=(i,)) for i in range(4)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors
same = sum(int((r == single).all()) for r in results.values())
print(same, len(results), int((single == want).sum()))
"#;
    let o = s.python(script, &[&path(&vrt), cli]);
    assert!(o.status.success(), "python: {}", text(&o));
    let v: Vec<usize> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(
        v,
        vec![4, 4, 512 * 512],
        "threads equal to the single read, of 4; CLI pixels equal"
    );
}

#[test]
fn bad_input_fails_with_a_message_and_leaves_the_vrt_alone() {
    let s = setup();
    let tmp = common::TempDir::new("plugin-exact-bad");
    // The command refuses what it can check before writing anything.
    let unwritten = tmp.path("never.vrt");
    let o = cloudmask(&s, &s.scene, &unwritten, &["--model", "no-such-model"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains("unknown model 'no-such-model'"),
        "{}",
        text(&o)
    );
    let o = cloudmask(&s, &s.scene, &unwritten, &["--bands", "1,2,3"]);
    assert!(
        !o.status.success() && text(&o).contains("model needs 6 bands"),
        "{}",
        text(&o)
    );
    let o = cloudmask(&s, "/nonexistent/scene.tif", &unwritten, &[]);
    assert!(
        !o.status.success() && text(&o).contains("does not exist"),
        "{}",
        text(&o)
    );
    assert!(!unwritten.exists());

    // A VRT whose image, model or runtime went missing after it was written.
    let image = tmp.path("scene.tif");
    std::fs::copy(&s.scene, &image).unwrap();
    let vrt = tmp.path("mask.vrt");
    s.vrt(&path(&image), &vrt, &[]);
    let xml = std::fs::read_to_string(&vrt).unwrap();
    let model_path = xml
        .split("\"model\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let bad_model = tmp.path("bad_model.vrt");
    std::fs::write(
        &bad_model,
        xml.replace(&model_path, "/nonexistent/model.onnx"),
    )
    .unwrap();
    let no_image = tmp.path("no_image.vrt");
    std::fs::write(
        &no_image,
        xml.replace(&path(&image), "/nonexistent/scene.tif"),
    )
    .unwrap();
    let unknown = tmp.path("unknown_model.vrt");
    std::fs::write(&unknown, xml.replace(&model_path, "no-such-model")).unwrap();
    let cases: [(&Path, Option<&str>, &str); 4] = [
        (
            &bad_model,
            None,
            "model file /nonexistent/model.onnx does not exist",
        ),
        (&unknown, None, "unknown model 'no-such-model'"),
        (
            &no_image,
            None,
            "input raster /nonexistent/scene.tif does not exist",
        ),
        (
            &vrt,
            Some("/nonexistent/libonnxruntime.so"),
            "ONNX Runtime library /nonexistent/libonnxruntime.so does not exist",
        ),
    ];
    for (file, ort, message) in cases {
        let before = std::fs::read(file).unwrap();
        let out = tmp.path("out.tif");
        let mut c = s.command("gdal_translate");
        if let Some(ort) = ort {
            c.env("CLOUDMASK_ORT_LIB", ort);
        }
        let o = c.args([&path(file), &path(&out)]).output().unwrap();
        assert!(
            o.status.code().is_some_and(|c| c != 0),
            "{}: expected a failure without a crash: {:?} {}",
            file.display(),
            o.status,
            text(&o)
        );
        assert!(
            text(&o).contains(message),
            "{}: {}",
            file.display(),
            text(&o)
        );
        assert_eq!(
            std::fs::read(file).unwrap(),
            before,
            "{} changed",
            file.display()
        );
    }
    // A connection string without an image, straight to gdalinfo.
    let o = s.run("gdalinfo", &["CLOUDMASK:{\"model\":\"ukis-6b-l1c\"}"]);
    assert!(o.status.code().is_some_and(|c| c != 0), "{}", text(&o));
    assert!(text(&o).contains("names no image"), "{}", text(&o));
    // Nothing but our own files in the folder (no .aux.xml beside the user's files).
    let mut names: Vec<String> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("out.tif"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bad_model.vrt",
            "mask.vrt",
            "no_image.vrt",
            "scene.tif",
            "unknown_model.vrt"
        ]
    );
}

#[test]
fn mosaic_2048_equals_the_cli_class_map() {
    let s = setup();
    let tmp = common::TempDir::new("plugin-exact-mosaic");
    let mosaic = tmp.path("mosaic.tif");
    cloudmask::raster::mosaic::write_mirrored_mosaic(&s.scene, &mosaic, 2048, 2048).unwrap();
    let cli = tmp.path("cli.tif");
    let o = Command::new(common::cloudmask_exe())
        .args(["mask", &path(&mosaic), "-o", &path(&cli), "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "cloudmask mask: {}", text(&o));
    let vrt = tmp.path("mask.vrt");
    s.vrt(&path(&mosaic), &vrt, &[]);
    let out = tmp.path("translated.tif");
    let started = std::time::Instant::now();
    let o = s.run("gdal_translate", &["-q", &path(&vrt), &path(&out)]);
    assert!(o.status.success(), "gdal_translate: {}", text(&o));
    eprintln!(
        "gdal_translate of the 2048 x 2048 virtual mask: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (equal, total) = agreement(&path(&cli), &path(&out));
    assert_eq!(equal, total, "{equal} of {total} pixels equal the CLI's");
}

#[test]
fn the_c_api_writes_the_same_virtual_mask() {
    use cloudmask::ffi::{cm_status, cm_write_virtual_mask};
    use std::ffi::CString;
    let s = setup();
    let (dir, cli, _) = reference();
    let c = |t: &str| CString::new(t).unwrap();
    let vrt = dir.join("c_api.vrt");
    let (image, model, outputs, out) =
        (c(&s.scene), c("ukis-6b-l1c"), c("classes"), c(&path(&vrt)));
    let status = cm_write_virtual_mask(
        image.as_ptr(),
        model.as_ptr(),
        std::ptr::null(),
        std::ptr::null(),
        outputs.as_ptr(),
        out.as_ptr(),
    );
    assert_eq!(status, cm_status::CM_OK);
    let tif = dir.join("c_api.tif");
    let o = s.run("gdal_translate", &["-q", &path(&vrt), &path(&tif)]);
    assert!(o.status.success(), "gdal_translate: {}", text(&o));
    assert_eq!(agreement(&path(&tif), cli), (512 * 512, 512 * 512));

    // Georeferencing is carried into the virtual mask.
    let geo = dir.join("geo.tif");
    let o = s.run(
        "gdal_translate",
        &[
            "-q",
            "-a_srs",
            "EPSG:32632",
            "-a_ullr",
            "500000",
            "5015360",
            "515360",
            "5000000",
            &s.scene,
            &path(&geo),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (geo_image, geo_out) = (c(&path(&geo)), c(&path(&dir.join("geo_mask.vrt"))));
    let status = cm_write_virtual_mask(
        geo_image.as_ptr(),
        model.as_ptr(),
        std::ptr::null(),
        std::ptr::null(),
        outputs.as_ptr(),
        geo_out.as_ptr(),
    );
    assert_eq!(status, cm_status::CM_OK);
    let ds = cloudmask::raster::Dataset::open(&path(&dir.join("geo_mask.vrt"))).unwrap();
    assert_eq!(
        ds.geo_transform(),
        Some([500000.0, 30.0, 0.0, 5015360.0, 0.0, -30.0])
    );
    assert!(ds.projection().contains("32632"), "{}", ds.projection());

    let bad = dir.join("c_api_bad.vrt");
    let (nope, bad_out) = (c("no-such-model"), c(&path(&bad)));
    let status = cm_write_virtual_mask(
        image.as_ptr(),
        nope.as_ptr(),
        std::ptr::null(),
        std::ptr::null(),
        std::ptr::null(),
        bad_out.as_ptr(),
    );
    assert_eq!(status, cm_status::CM_ERROR_MODEL);
    assert!(!bad.exists());
}
