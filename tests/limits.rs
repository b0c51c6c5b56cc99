//! Sizes beyond the documented limits (src/limits.rs, docs/engine.md "Limits") are errors with
//! the allowed range, never an abort, a hang or a wrapped number. Each case that crashed or hung
//! before runs in its own process (the `cloudmask` program, GDAL's programs with the plugin, or
//! this test binary re-run on one C API case), and each asserts: an error exit status (not a
//! signal), the message, no file left in the output folder, and the inputs unchanged.

mod common;
#[path = "common/tiny.rs"]
mod tiny;

use cloudmask::ffi::*;
use common::capi::{c, input_options, last_error, mask_options, model_options, path_c};
use common::{output_text as text, TempDir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};
use tiny::{TinyNet, TinyRaster};

/// A tiny network and raster, and ONNX Runtime for the processes.
struct Fixture {
    tmp: TempDir,
    model: String,
    raster: String,
    ort: PathBuf,
}

fn fixture(tag: &str) -> Fixture {
    let ort = common::ort_library();
    let tmp = TempDir::new(tag);
    let model = TinyNet::threshold().write(&tmp, "tiny");
    let raster = TinyRaster::halves(40, 30).write(&tmp.path("scene.tif"));
    Fixture {
        model: model.to_string_lossy().into_owned(),
        raster,
        ort,
        tmp,
    }
}

impl Fixture {
    /// A VRT declaring `width` x `height` pixels over the tiny raster's two bands.
    fn huge_vrt(&self, width: u64, height: u64) -> String {
        let bands: String = [(1, "B04"), (2, "B08")]
            .iter()
            .map(|(b, name)| {
                format!(
                    "<VRTRasterBand dataType=\"Float32\" band=\"{b}\"><Description>{name}</Description>\
                     <SimpleSource><SourceFilename relativeToVRT=\"0\">{}</SourceFilename>\
                     <SourceBand>{b}</SourceBand></SimpleSource></VRTRasterBand>\n",
                    self.raster
                )
            })
            .collect();
        let path = self.tmp.path("huge.vrt");
        std::fs::write(
            &path,
            format!("<VRTDataset rasterXSize=\"{width}\" rasterYSize=\"{height}\">\n{bands}</VRTDataset>\n"),
        )
        .unwrap();
        path.to_string_lossy().into_owned()
    }

    /// Every file of the fixture folder and its content: what must be the same after a refusal.
    fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(&self.tmp.0)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let content = std::fs::read(e.path()).unwrap_or_default();
                (e.file_name().to_string_lossy().into_owned(), content)
            })
            .collect()
    }

    fn cloudmask(&self, args: &[&str]) -> Output {
        Command::new(common::cloudmask_exe())
            .args(args)
            .env("CLOUDMASK_ORT_LIB", &self.ort)
            .output()
            .unwrap()
    }

    /// `cloudmask mask <input> -o out.tif -m tiny.onnx <extra>` (one thread unless `extra` says) must fail with
    /// `code` and `message`, leaving the folder as it was.
    fn mask_refused(&self, input: &str, extra: &[&str], code: i32, message: &str) {
        let before = self.snapshot();
        let out = self.tmp.path("out.tif").to_string_lossy().into_owned();
        let mut args = vec!["mask", input, "-o", &out, "-m", &self.model];
        if !extra.contains(&"--threads") {
            args.extend(["--threads", "1"]);
        }
        args.extend_from_slice(extra);
        let o = self.cloudmask(&args);
        refused(&o, code, message, &format!("cloudmask {}", extra.join(" ")));
        assert_eq!(
            self.snapshot(),
            before,
            "{extra:?}: files were added, removed or changed"
        );
    }
}

/// An exit with `code` (not a signal) and `message` in the output, and no panic.
#[track_caller]
fn refused(o: &Output, code: i32, message: &str, what: &str) {
    let all = text(o);
    assert_eq!(o.status.code(), Some(code), "{what}: {all}");
    assert!(
        all.contains(message),
        "{what}: expected {message:?} in: {all}"
    );
    assert!(!all.contains("panicked"), "{what}: {all}");
}

#[test]
fn a_vrt_declaring_a_million_pixels_a_side_is_refused_by_the_cli() {
    let f = fixture("limits-huge-cli");
    let vrt = f.huge_vrt(1_000_000, 1_000_000);
    f.mask_refused(
        &vrt,
        &["--output", "classes,valid"],
        2,
        "is 1000000 x 1000000 pixels, larger than cloudmask masks (at most 100000 pixels a side)",
    );
    f.mask_refused(
        &f.huge_vrt(200_000, 10),
        &[],
        2,
        "is 200000 x 10 pixels, larger than cloudmask masks",
    );
}

#[test]
fn cli_sizes_beyond_the_limits_are_refused_with_the_range() {
    let f = fixture("limits-cli");
    let r = f.raster.clone();
    // The buffer wrapped to -1 through a u32 to i32 cast and marked every cloud pixel valid.
    f.mask_refused(
        &r,
        &["--output", "classes,valid", "--buffer", "4294967295"],
        1,
        "--buffer 4294967295 is out of range: it must be between 0 and 1024",
    );
    f.mask_refused(
        &r,
        &[
            "--output",
            "valid",
            "--buffer",
            "cloud=4,shadow=99999999999999",
        ],
        1,
        "--buffer shadow 99999999999999 is out of range: it must be between 0 and 1024",
    );
    // Usage errors (clap's included) exit with 64.
    for (flag, value, range) in [
        ("--batch", "2147483647", "1..=1024"),
        ("--batch", "0", "1..=1024"),
        ("--tile", "65536", "1..=4096"),
        ("--threads", "2000", "0..=1024"),
    ] {
        f.mask_refused(
            &r,
            &[flag, value],
            64,
            &format!("invalid value '{value}' for '{flag} <"),
        );
        f.mask_refused(
            &r,
            &[flag, value],
            64,
            &format!("{value} is not in {range}"),
        );
    }
    // Within the limits, a batch too large for its tiles is still refused by the engine.
    f.mask_refused(
        &r,
        &["--batch", "1024", "--tile", "4096"],
        1,
        "batch 1024 of 4096-pixel tiles is 17179869184 pixels per ONNX Runtime call, more than 67108864: use a batch of at most 4",
    );
}

/// Writes the tiny network with a card changed by `edit` (embedded), or without a card and with
/// `sidecar` beside it; returns the .onnx path.
fn model_with(
    f: &Fixture,
    name: &str,
    edit: Option<&dyn Fn(&mut cloudmask::model::card::ModelCard)>,
    sidecar: Option<&str>,
) -> String {
    let net = TinyNet::threshold();
    let mut card = net.card();
    let bytes = match edit {
        Some(edit) => {
            edit(&mut card);
            net.bytes_with_card(Some(&card))
        }
        None => net.bytes_with_card(None),
    };
    let path = f.tmp.path(&format!("{name}.onnx"));
    std::fs::write(&path, bytes).unwrap();
    if let Some(json) = sidecar {
        std::fs::write(path.with_extension("json"), json).unwrap();
    }
    path.to_string_lossy().into_owned()
}

/// A ukis-csmask sidecar for the tiny network's bands with `target` as its tile size.
fn ukis_sidecar(target: &str) -> String {
    format!(
        r#"{{"data":{{"in_channels":2,"classes":3,"dataset_statistics":{{"img":[[0,0],[1,1]],"band_names":["red","nir"]}},"target_size":[{target},{target}]}},"model":{{"version":"1.0.0"}}}}"#
    )
}

#[test]
fn cards_and_sidecars_with_hostile_tiles_are_refused() {
    let f = fixture("limits-cards");
    let cases: Vec<(String, &str)> = vec![
        (
            model_with(&f, "tile-1e9", Some(&|c| c.tile_size = 1_000_000_000), None),
            "model card: tile size 1000000000 is out of range: it must be between 1 and 4096",
        ),
        (
            model_with(&f, "tile-2p30", Some(&|c| c.tile_size = 1 << 30), None),
            "model card: tile size 1073741824 is out of range: it must be between 1 and 4096",
        ),
        (
            model_with(&f, "context", Some(&|c| c.context = 1 << 40), None),
            "model card: context 1099511627776 is out of range: it must be between 0 and 2048",
        ),
        (
            model_with(&f, "ukis-1e9", None, Some(&ukis_sidecar("1000000000"))),
            "model card: tile size 1000000000 is out of range: it must be between 1 and 4096",
        ),
        (
            model_with(&f, "ukis-2p30", None, Some(&ukis_sidecar("1073741824"))),
            "model card: tile size 1073741824 is out of range: it must be between 1 and 4096",
        ),
        (
            model_with(&f, "ukis-float", None, Some(&ukis_sidecar("1e9"))),
            "data.target_size[0] is 1000000000.0, not a whole number of pixels",
        ),
    ];
    let raster = f.raster.clone();
    for (model, message) in &cases {
        let before = f.snapshot();
        let out = f.tmp.path("out.tif").to_string_lossy().into_owned();
        let o = f.cloudmask(&["mask", &raster, "-o", &out, "-m", model, "--threads", "1"]);
        refused(&o, 4, message, model);
        assert_eq!(f.snapshot(), before, "{model}: files changed");
    }
}

/// Re-runs this test binary on one C API case (`c_api_child`) and returns its status and
/// message; the child's exit must be a normal one.
fn c_api_case(f: &Fixture, case: &str, input: &str) -> (i32, String) {
    let o = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "c_api_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CLOUDMASK_LIMITS_CASE", case)
        .env("CLOUDMASK_LIMITS_MODEL", &f.model)
        .env("CLOUDMASK_LIMITS_INPUT", input)
        .env("CLOUDMASK_LIMITS_OUT", f.tmp.path("out.tif"))
        .env("CLOUDMASK_ORT_LIB", &f.ort)
        .output()
        .unwrap();
    let all = text(&o);
    assert_eq!(o.status.code(), Some(0), "C API case {case}: {all}");
    let field = |key: &str| {
        all.lines()
            .find_map(|l| l.split_once(key).map(|(_, value)| value))
            .unwrap_or_else(|| panic!("C API case {case} printed no {key}: {all}"))
            .to_string()
    };
    (field("STATUS ").parse().unwrap(), field("MESSAGE "))
}

#[test]
fn c_api_sizes_beyond_the_limits_are_refused() {
    let f = fixture("limits-capi");
    let huge = f.huge_vrt(1_000_000, 1_000_000);
    let raster = f.raster.clone();
    let invalid = cm_status::CM_ERROR_INVALID_ARGUMENT as i32;
    for (case, input, status, message) in [
        ("batch", &raster, invalid, "options->batch 2147483647 is out of range: it must be between 1 and 1024"),
        ("tile", &raster, invalid, "options->tile 65536 is out of range: it must be between 1 and 4096 (or -1 for the default)"),
        ("buffer", &raster, invalid, "options->buffer 2147483647 is out of range: it must be between 0 and 1024"),
        ("buffer_cloud", &raster, invalid, "input_options->buffer_cloud 2147483647 is out of range"),
        ("threads", &raster, invalid, "options->threads 2000 is out of range: it must be between 0 and 1024"),
        ("quantification", &raster, invalid, "quantification 0 must be a positive number"),
        ("huge", &huge, cm_status::CM_ERROR_INPUT as i32, "is 1000000 x 1000000 pixels, larger than cloudmask masks"),
    ] {
        let before = f.snapshot();
        let (got, text) = c_api_case(&f, case, input);
        assert_eq!(got, status, "{case}: {text}");
        assert!(text.contains(message), "{case}: expected {message:?} in {text:?}");
        assert_eq!(f.snapshot(), before, "{case}: files changed");
    }
}

/// One C API case, run by [`c_api_case`] in a child process (a crash there fails the parent,
/// not this test binary). Prints the status and this thread's message.
#[test]
#[ignore = "a child process of c_api_sizes_beyond_the_limits_are_refused"]
fn c_api_child() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    let case = var("CLOUDMASK_LIMITS_CASE");
    let load_options = cm_model_options {
        threads: if case == "threads" { 2000 } else { 1 },
        ..model_options()
    };
    let mut model = null_mut();
    let status = cm_model_load(
        c(&var("CLOUDMASK_LIMITS_MODEL")).as_ptr(),
        &load_options,
        &mut model,
    );
    if status == cm_status::CM_OK {
        let mut options = mask_options();
        let mut input = input_options();
        match case.as_str() {
            "batch" => options.batch = i32::MAX,
            "tile" => options.tile = 65536,
            "buffer" => options.buffer = i32::MAX,
            "buffer_cloud" => input.buffer_cloud = i32::MAX,
            "quantification" => {
                input.scaling = 2; // CM_SCALING_DN
                input.quantification = 0.0;
            }
            _ => {}
        }
        let (classes, valid) = (
            var("CLOUDMASK_LIMITS_OUT"),
            var("CLOUDMASK_LIMITS_OUT") + ".valid.tif",
        );
        let (classes, valid) = (c(&classes), c(&valid));
        let paths = cm_output_paths {
            classes: classes.as_ptr(),
            valid: valid.as_ptr(),
            probabilities: null(),
        };
        let input_path = path_c(Path::new(&var("CLOUDMASK_LIMITS_INPUT")));
        let status = cm_mask_to_files_ex(
            model,
            input_path.as_ptr(),
            &input,
            &paths,
            null(),
            0,
            &options,
            None,
            null_mut(),
        );
        println!("STATUS {}", status as i32);
        println!("MESSAGE {}", last_error());
        cm_model_free(model);
        return;
    }
    println!("STATUS {}", status as i32);
    println!("MESSAGE {}", last_error());
}

/// Runs a GDAL program with the plugin, failing the test when it takes over a minute (a
/// descriptor asking for 2000 threads hung before).
fn gdal(f: &Fixture, program: &str, args: &[&str]) -> Output {
    let child = Command::new(program)
        .args(args)
        .env(
            "GDAL_DRIVER_PATH",
            common::gdal_driver_path(&common::gdal_plugin_dir()),
        )
        .env("CLOUDMASK_ORT_LIB", &f.ort)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} cannot run ({e}): apt-get install gdal-bin"));
    let start = Instant::now();
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{program} {args:?} ran over a minute");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn gdal_descriptors_and_pixel_functions_beyond_the_limits_are_refused() {
    let f = fixture("limits-gdal");
    let huge = f.huge_vrt(1_000_000, 1_000_000);
    let base = format!(
        r#""image":"{}","model":"{}","threads":1"#,
        f.raster, f.model
    );
    let huge_image = format!(r#""image":"{huge}","model":"{}","threads":1"#, f.model);
    for (fields, message) in [
        // Opened today as a 1-pixel-wide raster.
        (
            format!(r#"{base},"width":4294967297,"height":30"#),
            "width 4294967297 is out of range: it must be between 1 and 100000",
        ),
        (
            r#""image":"x.tif","threads":2000"#.to_string(),
            "threads 2000 is out of range: it must be between 0 and 1024",
        ),
        (
            format!(r#"{base},"buffer":4294967295"#),
            "buffer 4294967295 is out of range: it must be between 0 and 1024",
        ),
        (
            format!(r#"{base},"buffer":{{"shadow":4294967295}}"#),
            "buffer.shadow 4294967295 is out of range",
        ),
        (format!(r#"{base},"buffer":4294967296"#), "is not valid"),
        (
            format!(r#"{base},"block":0"#),
            "block 0 is out of range: it must be between 16 and 8192",
        ),
        (
            format!(r#"{base},"cache_mb":18446744073709551615"#),
            "cache_mb 18446744073709551615 is out of range",
        ),
        (
            format!(r#"{base},"scaling":"dn","quantification":0"#),
            "quantification 0 must be a positive number",
        ),
        (
            huge_image,
            "is 1000000 x 1000000 pixels, larger than cloudmask masks",
        ),
    ] {
        let before = f.snapshot();
        let connection = format!("CLOUDMASK:{{{fields}}}");
        let o = gdal(&f, "gdalinfo", &[&connection]);
        assert_eq!(o.status.code(), Some(1), "{fields}: {}", text(&o));
        assert!(
            text(&o).contains(message),
            "{fields}: expected {message:?} in {}",
            text(&o)
        );
        assert_eq!(f.snapshot(), before, "{fields}: files changed");
    }
    // The pixel function's buffer wrapped to -1 the same way.
    let sources: String = (1..=2)
        .map(|b| format!("<SimpleSource><SourceFilename relativeToVRT=\"0\">{}</SourceFilename><SourceBand>{b}</SourceBand></SimpleSource>", f.raster))
        .collect();
    for (argument, message) in [
        (
            "buffer=\"4294967295\"",
            "argument buffer 4294967295 is out of range: it must be between 0 and 1024",
        ),
        (
            "threads=\"2000\"",
            "argument threads 2000 is out of range: it must be between 0 and 1024",
        ),
    ] {
        let vrt = f.tmp.path("pixel.vrt");
        std::fs::write(&vrt, format!(
            "<VRTDataset rasterXSize=\"40\" rasterYSize=\"30\"><VRTRasterBand dataType=\"Byte\" band=\"1\" subClass=\"VRTDerivedRasterBand\">\
             <PixelFunctionType>cloudmask</PixelFunctionType><SourceTransferType>Float32</SourceTransferType>\
             <PixelFunctionArguments model=\"{}\" output=\"valid\" {argument}/>{sources}</VRTRasterBand></VRTDataset>", f.model)).unwrap();
        let before = f.snapshot();
        let out = f.tmp.path("pixel.tif");
        let o = gdal(
            &f,
            "gdal_translate",
            &["-q", &vrt.to_string_lossy(), &out.to_string_lossy()],
        );
        assert_eq!(o.status.code(), Some(1), "{argument}: {}", text(&o));
        assert!(
            text(&o).contains(message),
            "{argument}: expected {message:?} in {}",
            text(&o)
        );
        assert_eq!(f.snapshot(), before, "{argument}: files changed");
    }
}
