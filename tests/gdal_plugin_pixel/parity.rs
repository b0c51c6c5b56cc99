//! What the pixel function gives against the CLI: whole-raster requests equal it, block reads
//! stay above a floor, valid and probability outputs equal the CLI's, and threads change nothing.

use crate::common::{self, output_text as text};
use crate::{
    gdal, percent_identical, reference, require_python_gdal, setup, translate, vrt, MODEL, PYTHON,
};
use std::time::Instant;

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
