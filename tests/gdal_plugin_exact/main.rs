//! The exact virtual mask (the GDAL plugin's CLOUDMASK driver, written by `cloudmask vrt`) read
//! by real GDAL programs: gdal_translate, gdalinfo -stats, gdallocationinfo and Python's
//! osgeo.gdal, by blocks, by random windows and from several threads. Every read must equal the
//! class map (and valid mask) that `cloudmask mask` writes for the whole raster.
//! One test binary sharing one reference mask; a module per topic, the setup here.

#[path = "../common/mod.rs"]
mod common;

mod c_api;
mod errors;
mod reads;

use common::output_text as text;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const PYTHON: &str = "/usr/bin/python3";

/// What every test needs: the plugin folder, ONNX Runtime, the sample scene.
pub struct Setup {
    pub driver_path: String,
    pub ort: PathBuf,
    pub scene: String,
}

pub fn setup() -> Setup {
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
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        c.env("GDAL_DRIVER_PATH", &self.driver_path)
            .env("CLOUDMASK_ORT_LIB", &self.ort);
        c
    }

    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).output().unwrap()
    }

    pub fn python(&self, script: &str, args: &[&str]) -> Output {
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
    pub fn vrt(&self, image: &str, out: &Path, args: &[&str]) {
        let o = cloudmask(self, image, out, args);
        assert!(o.status.success(), "cloudmask vrt: {}", text(&o));
    }
}

pub fn cloudmask(s: &Setup, image: &str, out: &Path, args: &[&str]) -> Output {
    let mut all = vec!["vrt", image, "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    // The command finds ONNX Runtime itself; only GDAL programs get it through the environment.
    s.command(common::cloudmask_exe())
        .env_remove("CLOUDMASK_ORT_LIB")
        .args(&all)
        .output()
        .unwrap()
}

pub fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `cloudmask mask --output classes,valid` of the sample scene, made once per test binary:
/// (folder, class map, valid mask).
pub fn reference() -> &'static (PathBuf, String, String) {
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
pub fn agreement(a: &str, b: &str) -> (usize, usize) {
    let (w1, h1, x) = common::read_band_u8(a, 1);
    let (w2, h2, y) = common::read_band_u8(b, 1);
    assert_eq!((w1, h1), (w2, h2), "{a} and {b} differ in size");
    (x.iter().zip(&y).filter(|(p, q)| p == q).count(), x.len())
}
