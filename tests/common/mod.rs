//! Shared helpers for the integration tests: where the real data lives, loading models, and
//! reading rasters back.
#![allow(dead_code)]

pub mod capi;
pub mod sentinel2;
pub mod training;

use cloudmask::raster::Dataset;
use cloudmask::{Model, ModelOptions};
use std::path::PathBuf;

/// The repository root (the workspace), whichever package's tests include this module.
pub fn repo_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("include/cloudmask.h").is_file() {
        assert!(
            dir.pop(),
            "the repository root (with include/cloudmask.h) is not above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    dir
}

/// target/<profile>: test binaries are target/<profile>/deps/*; the cdylib and the programs
/// of every workspace package lie one folder up.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(std::path::Path::parent)
        .unwrap()
        .to_path_buf()
}

/// A program of this workspace's build (`cloudmask`, `cloudmask-train`). Fails, saying what to
/// build, when it is missing: `cargo test` builds only the programs of the package under test.
pub fn program(name: &str) -> PathBuf {
    let exe = profile_dir().join(name);
    assert!(
        exe.is_file(),
        "{} is missing: build the workspace first (`cargo build --release --workspace`; make test does)",
        exe.display()
    );
    exe
}

/// The `cloudmask` program of this build.
pub fn cloudmask_exe() -> PathBuf {
    program("cloudmask")
}

/// `../shared/data` beside the project. Its absence fails the test with what to install: a
/// test that needs real imagery never passes without it.
pub fn data_dir() -> PathBuf {
    let dir = repo_root().join("../shared/data");
    assert!(
        dir.is_dir(),
        "{} is absent: this test needs the shared test imagery (check out ../shared beside the project)",
        dir.display()
    );
    dir
}

/// The 6-band Sentinel-2 sample scene of ../shared/data.
pub fn sample_scene() -> String {
    data_dir()
        .join("ukis-s2/s2_6band.tif")
        .to_string_lossy()
        .into_owned()
}

/// Fails with what to install when ONNX Runtime cannot be found as users find it.
pub fn require_runtime() {
    ort_library();
}

/// The ONNX Runtime library as users find it, also for processes (gdal_translate, python) whose
/// working folder or executable does not lead to the project's .venv. Fails with what to
/// install when it is missing.
pub fn ort_library() -> PathBuf {
    cloudmask::runtime::locate().unwrap_or_else(|| {
        panic!("ONNX Runtime is not installed: run `make venv` (installs onnxruntime==1.31.1 into .venv) or set CLOUDMASK_ORT_LIB")
    })
}

/// Loads a model with ONNX Runtime found as users would find it (the project's .venv after
/// `make demo`); fails with what to install when the runtime or the ukis models are missing.
pub fn model(name: &str, threads: usize) -> Model {
    require_runtime();
    let options = ModelOptions {
        threads,
        ..Default::default()
    };
    Model::load(name, &options).unwrap_or_else(|e| {
        panic!("loading {name} (the ukis-csmask models come with `make venv`): {e}")
    })
}

/// Fails with what to install when ONNX Runtime or the model (by name) is missing, for tests
/// whose programs load the model themselves.
pub fn require_model(name: &str) {
    require_runtime();
    if let Err(e) = cloudmask::model::resolve(name) {
        panic!("model {name} is not installed (the ukis-csmask models come with `make venv`): {e}");
    }
}

/// A scene job with the defaults `cloudmask mask` uses: GeoTIFF, bands by name, automatic
/// scaling, the input's nodata and resolution, exact tiling.
pub fn scene_job(
    input: &str,
    outputs: Vec<(cloudmask::raster::writer::Product, PathBuf)>,
) -> cloudmask::scene::SceneJob {
    cloudmask::scene::SceneJob {
        input: cloudmask::raster::Input::path(input),
        outputs,
        format: cloudmask::raster::writer::Format::default(),
        options: cloudmask::MaskOptions::default(),
        quicklook: None,
        output_grid: Default::default(),
    }
}

/// All pixels of one band as bytes.
pub fn read_band_u8(path: &str, band: usize) -> (usize, usize, Vec<u8>) {
    let ds = Dataset::open(path).unwrap();
    let (w, h) = (ds.width(), ds.height());
    let mut buf = vec![0f32; w * h];
    ds.read(band, 0, 0, w, h, &mut buf).unwrap();
    (w, h, buf.into_iter().map(|v| v as u8).collect())
}

/// A scratch folder removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("cloudmask-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Masks a window of a raster file, bands matched by name: what most tests need.
pub fn mask_file(
    model: &Model,
    path: &str,
    window: cloudmask::Region,
    options: &cloudmask::MaskOptions,
    products: cloudmask::Products,
) -> cloudmask::Result<cloudmask::MaskResult> {
    let mut source = cloudmask::raster::Input::path(path).open_for(&model.card.band_names())?;
    cloudmask::mask_window(model, &mut source, window, options, products, &mut |_| true)
}

/// A folder holding this build's cdylib under the name GDAL auto-loads (`gdal_cloudmask.so`),
/// for `GDAL_DRIVER_PATH`. Fails with a message when the cdylib was not built.
pub fn gdal_plugin_dir() -> PathBuf {
    let profile_dir = profile_dir();
    let lib = profile_dir.join("libcloudmask.so");
    assert!(
        lib.is_file(),
        "{} is missing: run `cargo build --release` first (make test does)",
        lib.display()
    );
    let dir = profile_dir.join("gdalplugins");
    std::fs::create_dir_all(&dir).unwrap();
    let plugin = dir.join("gdal_cloudmask.so");
    // A copy, not a link: the test processes may start while cargo rewrites the cdylib.
    let stale = std::fs::metadata(&plugin).and_then(|m| m.modified()).ok()
        < std::fs::metadata(&lib).and_then(|m| m.modified()).ok();
    if stale {
        // Tests of one binary run on several threads: each copy gets its own name, and the
        // renames (atomic, same content) may come in any order.
        static COPIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COPIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = dir.join(format!(".gdal_cloudmask.so.{}.{n}", std::process::id()));
        std::fs::copy(&lib, &tmp).unwrap();
        std::fs::rename(&tmp, &plugin).unwrap();
    }
    dir
}

/// `GDAL_DRIVER_PATH` that keeps GDAL's default plugin folder and adds ours in front: GDAL loads
/// the folders in order and the first cloudmask registered stays, so the build under test wins
/// over a cloudmask Debian package installed in the default folder (docs/packaging.md).
pub fn gdal_driver_path(plugin_dir: &std::path::Path) -> String {
    format!(
        "{}:/usr/lib/x86_64-linux-gnu/gdalplugins",
        plugin_dir.display()
    )
}

/// A one-band byte GeoTIFF holding `values` (row-major), for tiny hand-made fixtures. The
/// dataset is returned open (set nodata or georeferencing on it); the file is complete on drop.
pub fn write_u8_tif(path: &std::path::Path, width: usize, height: usize, values: &[u8]) -> Dataset {
    use cloudmask::raster::gdal::PixelType;
    let ds = Dataset::create(
        "GTiff",
        &path.to_string_lossy(),
        width,
        height,
        1,
        PixelType::U8,
        &[],
    )
    .unwrap();
    ds.write(1, (0, 0, width, height), values).unwrap();
    ds
}

/// WGS 84 / UTM zone 33N as WKT, for hand-made georeferenced fixtures.
pub const UTM33_WKT: &str = r#"PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","32633"]]"#;

/// Serialises the tests of one test binary that train networks: libtorch's CPU threads spin
/// while they wait, so two trainings sharing two cores run far slower than one after the other.
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A finished program's stdout and stderr, for assertion messages.
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The names in a folder, hidden temporaries included, sorted: what a failed run must not add.
pub fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The sample scene as UInt16 digital numbers with nothing saying so (`dn.tif`, reflectance x
/// 10000, no scale, no product metadata) and the same numbers behind a VRT giving them GDAL's
/// scale 0.0001 (`scaled.vrt`), in `dir`: reading the first with digital-number scaling must
/// give exactly what automatic scaling gives for the second.
pub fn digital_number_copies(dir: &TempDir) -> (PathBuf, PathBuf) {
    let (dn, scaled) = (dir.path("dn.tif"), dir.path("scaled.vrt"));
    for (args, from, to) in [
        (
            &["-ot", "UInt16", "-scale", "0", "1", "0", "10000"][..],
            std::path::PathBuf::from(sample_scene()),
            &dn,
        ),
        (
            &["-a_scale", "0.0001", "-a_offset", "0"][..],
            dn.clone(),
            &scaled,
        ),
    ] {
        let o = std::process::Command::new("gdal_translate")
            .arg("-q")
            .args(args)
            .arg(&from)
            .arg(to)
            .output()
            .unwrap_or_else(|e| panic!("gdal_translate could not be run ({e}): install gdal-bin"));
        assert!(o.status.success(), "gdal_translate: {}", output_text(&o));
    }
    (dn, scaled)
}
