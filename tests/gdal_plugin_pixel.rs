//! The `cloudmask` VRT pixel function on its own, driven by real GDAL programs (`gdal_translate`,
//! Python `osgeo.gdal` block reads) with the plugin on `GDAL_DRIVER_PATH`.
//!
//! The pixel function only sees the buffer GDAL requests (GDAL 3.6 gives no halo and no window
//! position), so it equals the CLI only for whole-raster requests; block reads are measured and
//! held to a floor. The exact path is the plugin's raster driver (tests/gdal_plugin_exact.rs).

mod common;

use common::output_text as text;

use cloudmask::raster::Dataset;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

const MODEL: &str = "ukis-6b-l1c";
const PYTHON: &str = "/usr/bin/python3";

/// What every test needs: the scene, the plugin folder and ONNX Runtime.
struct Setup {
    scene: String,
    driver_path: String,
    ort: PathBuf,
}

fn setup() -> Setup {
    let scene = common::sample_scene();
    assert!(
        Path::new(&scene).is_file(),
        "{scene} is missing: check out ../shared beside the project"
    );
    let ort = common::ort_library();
    common::require_model(MODEL);
    if Command::new("gdal_translate")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("gdal_translate is not installed: apt-get install gdal-bin");
    }
    let plugin_dir = common::gdal_plugin_dir();
    Setup {
        scene: std::fs::canonicalize(&scene)
            .unwrap()
            .to_string_lossy()
            .into_owned(),
        driver_path: common::gdal_driver_path(&plugin_dir),
        ort,
    }
}

/// A VRT with one derived band over bands `1..=n_sources` of the scene.
fn vrt(
    s: &Setup,
    data_type: &str,
    block: usize,
    arguments: &str,
    transfer: bool,
    n_sources: usize,
) -> String {
    let sources: String = (1..=n_sources)
        .map(|b| {
            format!(
                "    <SimpleSource><SourceFilename relativeToVRT=\"0\">{}</SourceFilename>\
                 <SourceBand>{b}</SourceBand></SimpleSource>\n",
                s.scene
            )
        })
        .collect();
    format!(
        "<VRTDataset rasterXSize=\"512\" rasterYSize=\"512\">\n\
         <VRTRasterBand dataType=\"{data_type}\" band=\"1\" subClass=\"VRTDerivedRasterBand\" \
         blockXSize=\"{block}\" blockYSize=\"{block}\">\n\
         <PixelFunctionType>cloudmask</PixelFunctionType>\n\
         <PixelFunctionArguments {arguments}/>\n{}{sources}</VRTRasterBand>\n</VRTDataset>\n",
        if transfer {
            "<SourceTransferType>Float32</SourceTransferType>\n"
        } else {
            ""
        }
    )
}

/// Runs a GDAL program with the plugin loadable. The working folder is the project, whose
/// `.venv` holds the ukis-csmask models (as after `make demo`).
fn gdal(s: &Setup, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("GDAL_DRIVER_PATH", &s.driver_path)
        .env("CLOUDMASK_ORT_LIB", &s.ort)
        .env_remove("ORT_DYLIB_PATH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The CLI's class map, valid mask and probabilities (class-major) of the whole scene.
struct Reference {
    classes: Vec<u8>,
    valid: Vec<u8>,
    probabilities: Vec<f32>,
}

fn reference(s: &Setup) -> &'static Reference {
    static REF: OnceLock<Reference> = OnceLock::new();
    REF.get_or_init(|| {
        let tmp = common::TempDir::new("pixel-reference");
        let out = tmp.path("mask.tif");
        let o = Command::new(common::cloudmask_exe())
            .args(["mask", &s.scene, "-o", &out.to_string_lossy()])
            .args(["--output", "classes,valid,probabilities", "--threads", "2"])
            .env("CLOUDMASK_ORT_LIB", &s.ort)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let (_, _, classes) = common::read_band_u8(&out.to_string_lossy(), 1);
        let (_, _, valid) = common::read_band_u8(&tmp.path("mask_valid.tif").to_string_lossy(), 1);
        let ds = Dataset::open(&tmp.path("mask_probabilities.tif").to_string_lossy()).unwrap();
        let mut probabilities = vec![0f32; 3 * 512 * 512];
        for (c, plane) in probabilities.chunks_exact_mut(512 * 512).enumerate() {
            ds.read(c + 1, 0, 0, 512, 512, plane).unwrap();
        }
        Reference {
            classes,
            valid,
            probabilities,
        }
    })
}

fn percent_identical(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    100.0 * same as f64 / a.len() as f64
}

/// `gdal_translate` of a VRT to a GeoTIFF, read back: (band values as f32, seconds).
fn translate(s: &Setup, tmp: &common::TempDir, name: &str, vrt_text: &str) -> (Vec<f32>, f64) {
    let vrt_path = tmp.path(&format!("{name}.vrt"));
    std::fs::write(&vrt_path, vrt_text).unwrap();
    let out = tmp.path(&format!("{name}.tif"));
    let t = Instant::now();
    let o = gdal(
        s,
        "gdal_translate",
        &["-q", &vrt_path.to_string_lossy(), &out.to_string_lossy()],
        &[],
    );
    let secs = t.elapsed().as_secs_f64();
    assert!(o.status.success(), "gdal_translate {name}: {}", text(&o));
    let ds = Dataset::open(&out.to_string_lossy()).unwrap();
    let mut values = vec![0f32; 512 * 512];
    ds.read(1, 0, 0, 512, 512, &mut values).unwrap();
    (values, secs)
}

/// Reads a VRT's band block by block through Python `osgeo.gdal` (`ReadRaster` of each
/// block-sized window), which makes GDAL call the pixel function once per block.
const BLOCK_READER: &str = r#"
import sys, time
from osgeo import gdal
gdal.UseExceptions()
path, bs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ds = gdal.Open(path)
band = ds.GetRasterBand(1)
W, H = ds.RasterXSize, ds.RasterYSize
buf = bytearray(W * H)
t = time.time()
for y in range(0, H, bs):
    for x in range(0, W, bs):
        w, h = min(bs, W - x), min(bs, H - y)
        block = band.ReadRaster(x, y, w, h, buf_type=gdal.GDT_Byte)
        for r in range(h):
            buf[(y + r) * W + x:(y + r) * W + x + w] = block[r * w:(r + 1) * w]
open(out, "wb").write(buf)
print("%.3f" % (time.time() - t))
"#;

fn require_python_gdal() {
    let ok = Command::new(PYTHON)
        .args(["-c", "from osgeo import gdal"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{PYTHON} with osgeo.gdal is missing: apt-get install python3-gdal"
    );
}

/// Whole-raster requests (blocks of 512, `gdal_translate`) equal the CLI's class map.
#[test]
fn whole_raster_request_equals_the_cli() {
    let s = setup();
    let tmp = common::TempDir::new("pixel-whole");
    let args = format!("model=\"{MODEL}\" threads=\"2\"");
    let (classes, secs) = translate(&s, &tmp, "class", &vrt(&s, "Byte", 512, &args, true, 6));
    let classes: Vec<u8> = classes.iter().map(|&v| v as u8).collect();
    let parity = percent_identical(&classes, &reference(&s).classes);
    eprintln!("pixel function, block 512 (gdal_translate): {parity:.3} % identical to the CLI, {secs:.2} s");
    assert_eq!(parity, 100.0);
}

/// Block-sized requests (Python reads block by block) differ from the CLI at the block edges;
/// the figures go into docs/gdal-plugin.md.
#[test]
fn block_reads_agree_with_the_cli_above_a_floor() {
    let s = setup();
    require_python_gdal();
    let tmp = common::TempDir::new("pixel-blocks");
    let script = tmp.path("read_blocks.py");
    std::fs::write(&script, BLOCK_READER).unwrap();
    let want = &reference(&s).classes;
    // Floors a little under the parity measured on the 512 x 512 scene (GDAL 3.6.2, ORT 1.31.1).
    for (block, floor) in [(64, 97.0), (128, 98.5), (256, 99.0), (512, 100.0)] {
        let vrt_path = tmp.path(&format!("b{block}.vrt"));
        let args = format!("model=\"{MODEL}\" threads=\"2\"");
        std::fs::write(&vrt_path, vrt(&s, "Byte", block, &args, true, 6)).unwrap();
        let out = tmp.path(&format!("b{block}.raw"));
        let t = Instant::now();
        let o = gdal(
            &s,
            PYTHON,
            &[
                &script.to_string_lossy(),
                &vrt_path.to_string_lossy(),
                &block.to_string(),
                &out.to_string_lossy(),
            ],
            &[],
        );
        let secs = t.elapsed().as_secs_f64();
        assert!(o.status.success(), "block {block}: {}", text(&o));
        let got = std::fs::read(&out).unwrap();
        let parity = percent_identical(&got, want);
        let differ = got.iter().zip(want).filter(|(a, b)| a != b).count();
        eprintln!(
            "pixel function, block {block}: {parity:.3} % identical to the CLI ({differ} of {} pixels differ); \
             reads {} s, process {secs:.2} s",
            got.len(),
            String::from_utf8_lossy(&o.stdout).trim()
        );
        assert!(parity >= floor, "block {block}: {parity:.3} % < {floor} %");
    }
}

/// `output="valid"` is a 0/1 mask equal to the CLI's for a whole-raster request;
/// `output="prob"` gives probabilities in [0, 1] equal to the CLI's.
#[test]
fn valid_and_probability_outputs() {
    let s = setup();
    let tmp = common::TempDir::new("pixel-outputs");
    let r = reference(&s);
    let args = format!("model=\"{MODEL}\" output=\"valid\" buffer=\"4\" threads=\"2\"");
    let (valid, _) = translate(&s, &tmp, "valid", &vrt(&s, "Byte", 512, &args, true, 6));
    let valid: Vec<u8> = valid.iter().map(|&v| v as u8).collect();
    assert!(valid.iter().all(|&v| v <= 1));
    assert!(valid.contains(&0) && valid.contains(&1));
    assert_eq!(percent_identical(&valid, &r.valid), 100.0);

    // Model class 1 is cloud (ukis-csmask: 0 clear, 1 cloud, 2 shadow); by index and by name.
    for (name, class) in [("prob1", "1"), ("probcloud", "cloud")] {
        let args = format!("model=\"{MODEL}\" output=\"prob\" class=\"{class}\" threads=\"2\"");
        let (p, _) = translate(&s, &tmp, name, &vrt(&s, "Float32", 512, &args, true, 6));
        assert!(p.iter().all(|v| (0.0..=1.0).contains(v)), "{name}");
        let want = &r.probabilities[512 * 512..2 * 512 * 512];
        let max_diff = p
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(max_diff < 1e-6, "{name}: max difference {max_diff}");
        // Where the class map says cloud (common code 2), cloud is the most likely class.
        let cloudy = r.classes.iter().zip(&p).filter(|(&c, _)| c == 2);
        assert!(cloudy.clone().count() > 0);
        assert!(cloudy.into_iter().all(|(_, &v)| v >= 1.0 / 3.0 - 1e-6));
    }
}

/// Runs gdal_translate on a VRT that must fail: non-zero exit (not a signal), the message,
/// and no complete output.
fn fails_with(
    s: &Setup,
    tmp: &common::TempDir,
    name: &str,
    vrt_text: &str,
    env: &[(&str, &str)],
    message: &str,
) {
    let vrt_path = tmp.path(&format!("{name}.vrt"));
    std::fs::write(&vrt_path, vrt_text).unwrap();
    let out = tmp.path(&format!("{name}.tif"));
    let o = gdal(
        s,
        "gdal_translate",
        &["-q", &vrt_path.to_string_lossy(), &out.to_string_lossy()],
        env,
    );
    let all = text(&o);
    assert!(
        o.status.code().is_some(),
        "{name}: killed by a signal: {all}"
    );
    assert!(!o.status.success(), "{name}: succeeded: {all}");
    assert!(
        all.contains(message),
        "{name}: expected '{message}' in: {all}"
    );
    assert!(!all.contains("panicked"), "{name}: {all}");
    // gdal_translate (GDAL 3.6.2) deletes the output it created when a read fails.
    assert!(!out.exists(), "{name}: {} was left behind", out.display());
    // The user's VRT is never written to.
    assert_eq!(
        std::fs::read_to_string(&vrt_path).unwrap(),
        vrt_text,
        "{name}: VRT modified"
    );
}

#[test]
fn bad_input_fails_with_a_message_and_no_crash() {
    let s = setup();
    let tmp = common::TempDir::new("pixel-bad");
    let good = format!("model=\"{MODEL}\" threads=\"1\"");
    fails_with(
        &s,
        &tmp,
        "five",
        &vrt(&s, "Byte", 512, &good, true, 5),
        &[],
        "the VRT band has 5 source(s) but model ukis-6b-l1c needs 6",
    );
    fails_with(
        &s,
        &tmp,
        "unknown",
        &vrt(&s, "Byte", 512, "model=\"no-such-model\"", true, 6),
        &[],
        "unknown model 'no-such-model'",
    );
    fails_with(
        &s,
        &tmp,
        "nomodel",
        &vrt(&s, "Byte", 512, "threads=\"1\"", true, 6),
        &[],
        "argument model is missing",
    );
    fails_with(
        &s,
        &tmp,
        "noort",
        &vrt(&s, "Byte", 512, &good, true, 6),
        &[("CLOUDMASK_ORT_LIB", "/nonexistent")],
        "$CLOUDMASK_ORT_LIB: ONNX Runtime library /nonexistent does not exist",
    );
    fails_with(
        &s,
        &tmp,
        "ortarg",
        &vrt(
            &s,
            "Byte",
            512,
            &format!("{good} ort=\"/nonexistent/libonnxruntime.so\""),
            true,
            6,
        ),
        &[],
        "argument ort: a VRT cannot name a library to load",
    );
    fails_with(
        &s,
        &tmp,
        "ortrelative",
        &vrt(
            &s,
            "Byte",
            512,
            &format!("{good} ort=\"libonnxruntime.so\""),
            true,
            6,
        ),
        &[],
        "argument ort: a VRT cannot name a library to load",
    );
    fails_with(
        &s,
        &tmp,
        "noclass",
        &vrt(
            &s,
            "Float32",
            512,
            &format!("{good} output=\"prob\""),
            true,
            6,
        ),
        &[],
        "output=prob needs class=<index>",
    );
    fails_with(
        &s,
        &tmp,
        "badclass",
        &vrt(
            &s,
            "Float32",
            512,
            &format!("{good} output=\"prob\" class=\"7\""),
            true,
            6,
        ),
        &[],
        "class=\"7\" is not a class of model ukis-6b-l1c",
    );
    fails_with(
        &s,
        &tmp,
        "badoutput",
        &vrt(&s, "Byte", 512, &format!("{good} output=\"mask\""), true, 6),
        &[],
        "use classes, valid or probabilities",
    );
}

/// Without `<SourceTransferType>Float32</SourceTransferType>`, GDAL 3.6 hands the float
/// reflectance to the function as Byte (the band's type), rounded to 0 or 1: the mask is wrong
/// and the function warns once.
#[test]
fn missing_source_transfer_type_warns_and_differs() {
    let s = setup();
    let tmp = common::TempDir::new("pixel-transfer");
    let vrt_path = tmp.path("notransfer.vrt");
    let args = format!("model=\"{MODEL}\" threads=\"2\"");
    let text_vrt = vrt(&s, "Byte", 512, &args, false, 6);
    std::fs::write(&vrt_path, &text_vrt).unwrap();
    let out = tmp.path("notransfer.tif");
    let o = gdal(
        &s,
        "gdal_translate",
        &[&vrt_path.to_string_lossy(), &out.to_string_lossy()],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("<SourceTransferType>Float32</SourceTransferType>"),
        "{}",
        text(&o)
    );
    let (_, _, got) = common::read_band_u8(&out.to_string_lossy(), 1);
    let parity = percent_identical(&got, &reference(&s).classes);
    let counts = |v: &[u8]| {
        (0..5)
            .map(|c| v.iter().filter(|&&x| x == c).count())
            .collect::<Vec<_>>()
    };
    eprintln!(
        "pixel function without SourceTransferType: {parity:.3} % identical to the CLI; class counts {:?} (CLI {:?})",
        counts(&got),
        counts(&reference(&s).classes)
    );
    assert!(parity < 100.0);
}

/// Reads the same 256 x 256 blocks sequentially and from four threads at once (each with its own
/// dataset handle, as GDAL requires): the shared model cache and session pool give identical bytes.
const THREADED_READER: &str = r#"
import sys, threading
from osgeo import gdal
gdal.UseExceptions()
path, bs = sys.argv[1], 256
windows = [(x, y) for y in range(0, 512, bs) for x in range(0, 512, bs)]
def read(x, y):
    ds = gdal.Open(path)  # keep the dataset alive: in GDAL 3.6 a band does not
    return ds.GetRasterBand(1).ReadRaster(x, y, bs, bs, buf_type=gdal.GDT_Byte)
sequential = [read(x, y) for x, y in windows]
threaded = [None] * len(windows)
def work(i):
    threaded[i] = read(*windows[i])
threads = [threading.Thread(target=work, args=(i,)) for i in range(len(windows))]
for t in threads: t.start()
for t in threads: t.join()
print("identical" if threaded == sequential else "DIFFERENT")
"#;

#[test]
fn concurrent_block_reads_equal_sequential_ones() {
    let s = setup();
    require_python_gdal();
    let tmp = common::TempDir::new("pixel-threads");
    let script = tmp.path("read_threads.py");
    std::fs::write(&script, THREADED_READER).unwrap();
    let vrt_path = tmp.path("t.vrt");
    let args = format!("model=\"{MODEL}\" threads=\"1\"");
    std::fs::write(&vrt_path, vrt(&s, "Byte", 256, &args, true, 6)).unwrap();
    let o = gdal(
        &s,
        PYTHON,
        &[&script.to_string_lossy(), &vrt_path.to_string_lossy()],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "identical",
        "{}",
        text(&o)
    );
}
