//! `--device openvino` and `--precision` (docs/engine.md, "Execution providers and precision").
//!
//! A process holds one ONNX Runtime: this test program loads the OpenVINO-enabled one
//! (onnxruntime-openvino, `make openvino-venv`) explicitly, and the references of the exact
//! path come from the `cloudmask` program run as a child with its default runtime (1.31.1).

mod common;

use cloudmask::engine::{MaskOptions, Products, Region};
use cloudmask::model::{precision, CpuBf16, Precision};
use cloudmask::raster::Dataset;
use cloudmask::{Device, Model, ModelOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const MODEL: &str = "ukis-6b-l1c";

/// The OpenVINO-enabled runtime as `--device openvino` finds it; fails with what to install.
fn openvino_lib() -> PathBuf {
    cloudmask::runtime::openvino_runtime().unwrap_or_else(|| {
        panic!("no ONNX Runtime with the OpenVINO provider: run `make openvino-venv` (onnxruntime-openvino==1.24.1 into .venv-openvino)")
    })
}

fn options(device: Device) -> ModelOptions {
    ModelOptions {
        threads: 2,
        device,
        precision: Precision::F32,
        ort_lib: Some(openvino_lib()),
    }
}

/// The model on OpenVINO in f32, loaded once for the whole program.
fn openvino_model() -> &'static Model {
    static MODEL_OV: OnceLock<Model> = OnceLock::new();
    MODEL_OV.get_or_init(|| {
        common::require_model(MODEL);
        let model = Model::load(MODEL, &options(Device::OpenVino)).unwrap();
        assert_eq!(model.provider, "OpenVINO");
        assert_eq!(model.precision(), "f32");
        assert_eq!(
            model.notes().count(),
            0,
            "{:?}",
            model.notes().collect::<Vec<_>>()
        );
        model
    })
}

/// Runs `cloudmask mask` on the sample scene into `out` with extra flags and environment.
fn cli_mask(out: &Path, flags: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(common::cloudmask_exe());
    cmd.arg("mask")
        .arg(common::sample_scene())
        .arg("-o")
        .arg(out)
        .args(["--threads", "2", "--overwrite"])
        .args(flags);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The exact path's classes of the sample scene, by the CLI with its default runtime.
fn exact_classes() -> &'static Vec<u8> {
    static EXACT: OnceLock<Vec<u8>> = OnceLock::new();
    EXACT.get_or_init(|| {
        let tmp = common::TempDir::new("openvino-exact");
        let out = tmp.path("exact.tif");
        let o = cli_mask(&out, &[], &[]);
        assert!(o.status.success(), "{}", common::output_text(&o));
        assert_eq!(
            provenance(&out),
            ["cpu", "CPU", "f32"],
            "the default path records cpu, CPU, f32"
        );
        common::read_band_u8(&out.to_string_lossy(), 1).2
    })
}

/// CLOUDMASK_DEVICE, CLOUDMASK_PROVIDER and CLOUDMASK_PRECISION of a written mask.
fn provenance(path: &Path) -> [String; 3] {
    let ds = Dataset::open(&path.to_string_lossy()).unwrap();
    ["DEVICE", "PROVIDER", "PRECISION"].map(|k| {
        ds.metadata_item(&format!("CLOUDMASK_{k}"), "")
            .unwrap_or_default()
    })
}

fn agreement(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

fn whole(side: usize) -> Region {
    Region {
        x: 0,
        y: 0,
        w: side,
        h: side,
    }
}

fn classes_of(path: &str, window: Region) -> Vec<u8> {
    let products = Products {
        valid: false,
        probabilities: false,
    };
    common::mask_file(
        openvino_model(),
        path,
        window,
        &MaskOptions::default(),
        products,
    )
    .unwrap()
    .classes
}

/// OpenVINO f32 agrees with the exact path on at least 99.9 % of the sample scene's pixels, and
/// `cloudmask mask --device openvino` finds the OpenVINO runtime itself and computes the same.
#[test]
fn openvino_f32_agrees_with_the_exact_path() {
    let _one = common::exclusive();
    let exact = exact_classes();
    let ov = classes_of(&common::sample_scene(), whole(512));
    let agree = agreement(&ov, exact);
    eprintln!(
        "OpenVINO f32 agrees with the exact path on {:.4} % of 512 x 512 pixels",
        agree * 100.0
    );
    assert!(agree >= 0.999, "agreement {agree}");

    // The CLI: precision auto is bf16 only on a CPU with native bf16.
    let tmp = common::TempDir::new("openvino-cli");
    let out = tmp.path("ov.tif");
    let o = cli_mask(&out, &["--device", "openvino", "--precision", "auto"], &[]);
    assert!(o.status.success(), "{}", common::output_text(&o));
    let cli = common::read_band_u8(&out.to_string_lossy(), 1).2;
    if CpuBf16::detect().native() {
        assert_eq!(provenance(&out), ["openvino", "OpenVINO", "bf16"]);
        let agree = agreement(&cli, exact);
        eprintln!("OpenVINO bf16 agrees on {:.4} %", agree * 100.0);
        assert!(agree >= 0.995, "bf16 agreement {agree}");
    } else {
        assert_eq!(provenance(&out), ["openvino", "OpenVINO", "f32"]);
        assert_eq!(
            cli, ov,
            "the CLI's OpenVINO f32 differs from this process's"
        );
    }
}

/// (x, y, w, h) windows, from a fixed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// Window invariance on OpenVINO f32: 20 random windows of the 2048 x 2048 mosaic are crops of
/// the whole mosaic masked the same way (one model, the whole masked once).
#[test]
fn openvino_windows_are_crops_of_the_whole_mosaic() {
    const SIDE: usize = 2048;
    let _one = common::exclusive();
    let tmp = common::TempDir::new("openvino-windows");
    let mosaic = tmp.path("mosaic.tif");
    cloudmask::raster::mosaic::write_mirrored_mosaic(&common::sample_scene(), &mosaic, SIDE, SIDE)
        .unwrap();
    let mosaic = mosaic.to_string_lossy().into_owned();
    let t = std::time::Instant::now();
    let full = classes_of(&mosaic, whole(SIDE));
    eprintln!(
        "{SIDE} x {SIDE} masked whole on OpenVINO in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert!(
        full.contains(&1) && full.contains(&2),
        "clear and cloud expected"
    );
    let mut rng = Rng(0x0be7_1e55_0000_0015);
    let t = std::time::Instant::now();
    for _ in 0..20 {
        let (w, h) = (1 + rng.below(300), 1 + rng.below(300));
        let win = Region {
            x: rng.below(SIDE - w + 1),
            y: rng.below(SIDE - h + 1),
            w,
            h,
        };
        let part = classes_of(&mosaic, win);
        let crop: Vec<u8> = (win.y..win.y + h)
            .flat_map(|row| {
                full[row * SIDE + win.x..row * SIDE + win.x + w]
                    .iter()
                    .copied()
            })
            .collect();
        assert!(
            part == crop,
            "OpenVINO classes of {win:?} differ from the whole mosaic's crop"
        );
    }
    eprintln!("20 windows in {:.1} s", t.elapsed().as_secs_f64());
}

/// bf16 where the CPU has no native bf16 is refused before any output, with what to use; where
/// it has, it runs on OpenVINO in bf16. bf16 on the cpu device is refused everywhere.
#[test]
fn bf16_is_refused_without_native_bf16_and_off_openvino() {
    let _one = common::exclusive();
    common::require_model(MODEL);
    let tmp = common::TempDir::new("openvino-bf16");
    let out = tmp.path("bf16.tif");
    let o = cli_mask(&out, &["--device", "openvino", "--precision", "bf16"], &[]);
    if CpuBf16::detect().native() {
        assert!(o.status.success(), "{}", common::output_text(&o));
        assert_eq!(provenance(&out), ["openvino", "OpenVINO", "bf16"]);
    } else {
        assert_eq!(o.status.code(), Some(1), "{}", common::output_text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("cloudmask: error: precision bf16 is refused: this CPU has no native bf16 (neither AVX512_BF16 nor AMX-BF16)")
                && err.contains("use precision f32, or auto"),
            "{err}"
        );
        assert!(!out.exists(), "a refused run wrote {}", out.display());
    }
    let o = cli_mask(&out, &["--precision", "bf16"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", common::output_text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains(
            "precision bf16 runs only with device openvino: ONNX Runtime's cpu provider computes in f32"
        ),
        "{}",
        common::output_text(&o)
    );
    // The library refuses it too, before loading anything.
    let bf16 = ModelOptions {
        precision: Precision::Bf16,
        ..options(Device::Cpu)
    };
    let e = Model::load(MODEL, &bf16).err().unwrap();
    assert_eq!(e.kind, cloudmask::ErrorKind::InvalidArgument);
}

/// `--device openvino` where the runtime loaded has no OpenVINO provider (named by
/// CLOUDMASK_ORT_LIB, as a host such as QGIS may have loaded it) runs on CPU, says so, records
/// it, and gives the exact path's pixels; `auto` here chooses OpenVINO and says so.
#[test]
fn openvino_falls_back_to_cpu_with_a_note_and_auto_says_what_it_chose() {
    let _one = common::exclusive();
    let exact = exact_classes();
    let default_lib = common::ort_library();
    assert!(!default_lib
        .parent()
        .unwrap()
        .join("libonnxruntime_providers_openvino.so")
        .exists());
    let tmp = common::TempDir::new("openvino-fallback");
    let out = tmp.path("fallback.tif");
    let lib = default_lib.to_string_lossy();
    let o = cli_mask(
        &out,
        &["--device", "openvino"],
        &[("CLOUDMASK_ORT_LIB", &lib)],
    );
    assert!(o.status.success(), "{}", common::output_text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let note = format!("cloudmask: note: OpenVINO is not available (the ONNX Runtime loaded in this process, 1.31.1 at {lib}, has no OpenVINOExecutionProvider; install onnxruntime-openvino==1.24.1");
    assert!(err.contains(&note), "{err}");
    assert!(err.contains("); running on CPU"), "{err}");
    assert_eq!(provenance(&out), ["openvino", "CPU", "f32"]);
    assert!(
        common::read_band_u8(&out.to_string_lossy(), 1).2 == *exact,
        "the fallback differs from the exact path"
    );

    let auto = Model::load(MODEL, &options(Device::Auto)).unwrap();
    assert_eq!(
        (auto.provider.as_str(), auto.precision()),
        ("OpenVINO", "f32")
    );
    // It says what it chose, and why not CUDA (this build has no `cuda` feature, or the
    // OpenVINO runtime has no CUDA provider).
    let notes: Vec<&str> = auto.notes().collect();
    assert!(
        notes
            .iter()
            .any(|n| n
                .starts_with("device auto: running on OpenVINO (f32); CUDA is not available (")),
        "{notes:?}"
    );
}

/// `cloudmask doctor` names the OpenVINO runtime, the CPU's bf16 and what auto chooses.
#[test]
fn doctor_shows_openvino_and_the_cpu_bf16() {
    let o = Command::new(common::cloudmask_exe())
        .arg("doctor")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let cpu = CpuBf16::detect();
    for line in [
        format!(
            "OpenVINO: runtime with the OpenVINO provider at {}",
            openvino_lib().display()
        ),
        format!("CPU bf16: {}", cpu.describe()),
        format!("--precision auto: {}", precision::auto_choice(cpu)),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    let expected = if cpu.native() {
        "native ("
    } else {
        "none (no AVX512_BF16, no AMX-BF16)"
    };
    assert!(text.contains(&format!("CPU bf16: {expected}")), "{text}");
}
