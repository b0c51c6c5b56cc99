//! The `cloudmask` VRT pixel function on its own, driven by real GDAL programs (`gdal_translate`,
//! Python `osgeo.gdal` block reads) with the plugin on `GDAL_DRIVER_PATH`.
//!
//! The pixel function only sees the buffer GDAL requests (GDAL 3.6 gives no halo and no window
//! position), so it equals the CLI only for whole-raster requests; block reads are measured and
//! held to a floor. The exact path is the plugin's raster driver (tests/gdal_plugin_exact/).
//! One test binary sharing one CLI reference; a module per topic, the setup here.

#[path = "../common/mod.rs"]
mod common;

mod errors;
mod parity;

use common::output_text as text;

use cloudmask::raster::Dataset;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

pub const MODEL: &str = "ukis-6b-l1c";
pub const PYTHON: &str = "/usr/bin/python3";

/// What every test needs: the scene, the plugin folder and ONNX Runtime.
pub struct Setup {
    pub scene: String,
    pub driver_path: String,
    pub ort: PathBuf,
}

pub fn setup() -> Setup {
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
pub fn vrt(
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
pub fn gdal(s: &Setup, program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
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
pub struct Reference {
    pub classes: Vec<u8>,
    pub valid: Vec<u8>,
    pub probabilities: Vec<f32>,
}

pub fn reference(s: &Setup) -> &'static Reference {
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

pub fn percent_identical(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    100.0 * same as f64 / a.len() as f64
}

/// `gdal_translate` of a VRT to a GeoTIFF, read back: (band values as f32, seconds).
pub fn translate(s: &Setup, tmp: &common::TempDir, name: &str, vrt_text: &str) -> (Vec<f32>, f64) {
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

pub fn require_python_gdal() {
    let ok = Command::new(PYTHON)
        .args(["-c", "from osgeo import gdal"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{PYTHON} with osgeo.gdal is missing: apt-get install python3-gdal"
    );
}
