//! Reads of the virtual mask of the sample scene (and of a 2048 x 2048 mosaic of it) by
//! gdal_translate, Python by blocks, random windows and threads, gdalinfo -stats and
//! gdallocationinfo: each equals the CLI's class map and valid mask.

use crate::common::{self, output_text as text};
use crate::{agreement, path, reference, setup};
use std::process::{Command, Output};

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
