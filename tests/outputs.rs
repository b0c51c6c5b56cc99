//! Outputs that are complete or absent, through the real `cloudmask` program (and the C API):
//! a full disk (a tmpfs mounted in a private mount namespace) leaves no output and no temporary,
//! for one product and for three; SIGINT and SIGTERM mid-run leave nothing; outputs that are
//! the input (directly, through `_valid` naming, through a symlink), a device node, a FIFO, or
//! another output of the run are refused before any work with the input unchanged; and the
//! temporaries of a killed run are removed by the next run that writes the same target.
//! Generated rasters and a generated network keep every case fast.

mod common;
#[path = "common/tiny.rs"]
mod tiny;

use cloudmask::ffi::*;
use common::capi::{c, expect, path_c};
use common::{cloudmask_exe, output_text, TempDir};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::ptr::null;
use std::time::{Duration, Instant};
use tiny::{TinyNet, TinyRaster};

/// The library's exit code / status for an output that cannot or must not be written.
const OUTPUT_ERROR: i32 = 8;

/// A folder with a generated network (`tiny.onnx`) and a raster of `w` x `h` (`scene.tif`)
/// whose pixels hash to red and nir values, so the classes (and the file sizes) do not compress
/// away.
struct Fixture {
    tmp: TempDir,
    model: PathBuf,
    input: PathBuf,
}

fn hash(x: usize, y: usize, salt: usize) -> f32 {
    let mut v = (x as u64) << 32 ^ (y as u64) ^ (salt as u64) << 48;
    v = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    v ^= v >> 29;
    ((v >> 40) % 1000) as f32 / 1000.0
}

impl Fixture {
    fn new(tag: &str, net: TinyNet, w: usize, h: usize) -> Fixture {
        common::require_runtime();
        let tmp = TempDir::new(tag);
        let model = net.write(&tmp, "tiny");
        let red = |x, y| hash(x, y, 1);
        let nir = |x, y| hash(x, y, 2);
        let raster = TinyRaster::float(w, h, &[("B04", &red), ("B08", &nir)]).georeferenced();
        let input = tmp.path("scene.tif");
        raster.write(&input);
        Fixture { tmp, model, input }
    }

    /// `cloudmask mask scene.tif -m tiny.onnx -q --threads 1 ARGS`.
    fn mask(&self, args: &[&str]) -> Command {
        self.mask_of(&self.input, args)
    }

    /// `cloudmask mask INPUT -m tiny.onnx -q --threads 1 ARGS`.
    fn mask_of(&self, input: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(cloudmask_exe());
        cmd.args(self.mask_args(input, args))
            .env("CLOUDMASK_ORT_LIB", common::ort_library());
        cmd
    }

    fn mask_args(&self, input: &Path, args: &[&str]) -> Vec<String> {
        let mut all: Vec<String> = vec!["mask".into(), text(input).into(), "-m".into()];
        all.push(text(&self.model).into());
        all.extend(["-q", "--threads", "1"].map(String::from));
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }

    fn files(&self) -> Vec<String> {
        common::file_names(&self.tmp.0)
    }
}

fn text(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `script` with a tmpfs of `size` mounted on `dir` in a private mount namespace (so the
/// mount disappears with the shell): as root with `unshare -m`, else in a user namespace with
/// `unshare -rm`. `None`, with the reason printed, when neither can mount.
fn with_small_tmpfs(dir: &Path, size: &str, script: &str) -> Option<Output> {
    let mount = format!("mount -t tmpfs -o size={size} cloudmask-test {}", text(dir));
    let mut reasons = Vec::new();
    for flags in ["-m", "-rm"] {
        let probe = Command::new("unshare")
            .args([flags, "sh", "-c", &mount])
            .output();
        match probe {
            Ok(o) if o.status.success() => {
                let full = format!("{mount} && {script}");
                return Some(
                    Command::new("unshare")
                        .args([flags, "sh", "-c", &full])
                        .output()
                        .unwrap(),
                );
            }
            Ok(o) => reasons.push(format!("unshare {flags}: {}", output_text(&o).trim())),
            Err(e) => reasons.push(format!("unshare {flags}: {e}")),
        }
    }
    eprintln!(
        "cannot mount a small tmpfs here, so the full-disk case cannot run: {}",
        reasons.join("; ")
    );
    None
}

#[test]
fn a_full_disk_leaves_no_output_and_no_temporary_for_one_or_three_products() {
    let f = Fixture::new("outputs-full", TinyNet::threshold(), 600, 600);
    let full = f.tmp.path("full");
    std::fs::create_dir(&full).unwrap();
    let out = full.join("mask.tif");
    // 16 KiB hold no class map of 600 x 600 random classes. 256 KiB hold the class map and the
    // valid mask but not the probabilities: the products finished first must not stay either.
    for (products, size) in [("classes", "16k"), ("classes,valid,probabilities", "256k")] {
        let args = f.mask_args(&f.input, &["-o", text(&out), "--output", products]);
        let words: Vec<String> = std::iter::once(text(&cloudmask_exe()).to_string())
            .chain(args)
            .map(|w| format!("'{w}'"))
            .collect();
        let script = format!(
            "CLOUDMASK_ORT_LIB='{}' {}; rc=$?; echo LEFT: $(ls -A '{}'); exit $rc",
            text(&common::ort_library()),
            words.join(" "),
            text(&full)
        );
        let Some(o) = with_small_tmpfs(&full, size, &script) else {
            return;
        };
        let all = output_text(&o);
        assert_eq!(o.status.code(), Some(OUTPUT_ERROR), "{products}: {all}");
        // The step that hits the full disk differs (the class map's blocks as GDAL closes it,
        // the probabilities' overviews), the message always names the file and the full disk.
        let error = all.lines().find(|l| l.starts_with("cloudmask: error: "));
        let error = error.unwrap_or_else(|| panic!("{products}: no error line: {all}"));
        assert!(
            error.contains(&format!("{}/mask", text(&full))) && error.contains(" failed"),
            "{products}: {error}"
        );
        eprintln!("{products}: {error}");
        assert!(all.contains("is full ("), "{products}: {all}");
        let left = all.lines().find_map(|l| l.strip_prefix("LEFT:")).unwrap();
        assert_eq!(left.trim(), "", "{products}: left in the full folder");
        assert!(!all.contains("wrote "), "{products}: {all}");
    }
    assert_eq!(
        common::file_names(&full),
        Vec::<String>::new(),
        "the mount did not leak"
    );
}

/// Starts a mask run that takes seconds, waits for its first temporary, sends `signal` and
/// returns what the program said.
fn interrupt(f: &Fixture, signal: i32) -> Output {
    let out = f.tmp.path(&format!("mask-{signal}.tif"));
    let child = f
        .mask(&["-o", text(&out), "--output", "classes,valid,probabilities"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let name = format!(".mask-{signal}.tif.partial-{}.", child.id());
    while !f.files().iter().any(|n| n.starts_with(&name)) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no temporary appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: signalling the child we started and have not waited for.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    child.wait_with_output().unwrap()
}

#[test]
fn sigint_and_sigterm_mid_run_leave_nothing_and_exit_128_plus_the_signal() {
    // 1500 x 1500 pixels through a 5 x 5 network in 32-pixel tiles take seconds on one thread.
    let f = Fixture::new("outputs-signals", TinyNet::spatial(), 1500, 1500);
    let before = f.files();
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let o = interrupt(&f, signal);
        let all = output_text(&o);
        assert_eq!(o.status.code(), Some(128 + signal), "{name}: {all}");
        assert!(
            all.contains(&format!("cloudmask: interrupted by {name}: stopped; no output was written and the temporary files were removed")),
            "{name}: {all}"
        );
        assert_eq!(f.files(), before, "{name} left files");
    }
}

/// Runs `cloudmask mask` expecting the output error, a message with each of `needles`, and the
/// input (and every file of the folder) unchanged.
#[track_caller]
fn refused(f: &Fixture, input: &Path, args: &[&str], needles: &[&str]) {
    let bytes = std::fs::read(input).unwrap();
    let before = f.files();
    let o = f.mask_of(input, args).output().unwrap();
    let all = output_text(&o);
    assert_eq!(o.status.code(), Some(OUTPUT_ERROR), "{args:?}: {all}");
    for needle in needles {
        assert!(all.contains(needle), "{args:?}: {all:?} lacks {needle:?}");
    }
    assert_eq!(
        std::fs::read(input).unwrap(),
        bytes,
        "{args:?} changed the input"
    );
    assert_eq!(f.files(), before, "{args:?}");
}

#[test]
fn outputs_that_are_inputs_devices_or_each_other_are_refused_before_any_work() {
    let f = Fixture::new("outputs-refused", TinyNet::threshold(), 40, 30);
    let input = f.input.clone();
    let shown = text(&input);
    // The input itself.
    let msg = format!(
        "the classes output {shown} is the input {shown}: writing it would destroy the input"
    );
    refused(&f, &input, &["-o", shown], &[&msg]);
    // The input reached through `_valid` naming: x.tif names x_valid.tif for the valid mask.
    let named = f.tmp.path("x_valid.tif");
    std::fs::copy(&input, &named).unwrap();
    let x = f.tmp.path("x.tif");
    let shown_named = text(&named);
    let msg = format!("the valid output {shown_named} is the input {shown_named}");
    refused(
        &f,
        &named,
        &["-o", text(&x), "--output", "classes,valid"],
        &[&msg],
    );
    std::fs::remove_file(&named).unwrap();
    // A symlink to the input.
    let link = f.tmp.path("link.tif");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let msg = format!(
        "the classes output {} (which resolves to {}) is the input",
        text(&link),
        text(&std::fs::canonicalize(&input).unwrap())
    );
    refused(&f, &input, &["-o", text(&link)], &[&msg]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    // Device nodes, a FIFO, a folder.
    for device in ["/dev/null", "/dev/zero"] {
        let msg = format!(
            "cannot write {device}: it exists and is a character device, not a regular file"
        );
        refused(&f, &input, &["-o", device], &[&msg]);
        let kind = std::fs::metadata(device).unwrap().file_type();
        assert!(kind.is_char_device(), "{device} was replaced");
    }
    let fifo = f.tmp.path("pipe.tif");
    let c_fifo = path_c(&fifo);
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
    let msg = "is a FIFO (named pipe), not a regular file";
    refused(&f, &input, &["-o", text(&fifo)], &[msg]);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    std::fs::remove_file(&fifo).unwrap();
    let folder = f.tmp.path("folder.tif");
    std::fs::create_dir(&folder).unwrap();
    refused(
        &f,
        &input,
        &["-o", text(&folder)],
        &["is a folder, not a regular file"],
    );
    std::fs::remove_dir(&folder).unwrap();
    // Two outputs of one run: the quicklook on the class map, and the model file.
    let out = f.tmp.path("mask.tif");
    let msg = format!(
        "the classes output {} and the quicklook {} are the same file",
        text(&out),
        text(&out)
    );
    refused(
        &f,
        &input,
        &["-o", text(&out), "--quicklook", text(&out)],
        &[&msg],
    );
    // The model file is an input too.
    let model = text(&f.model).to_string();
    let msg = format!("the classes output {model} is the input {model}");
    let bytes = std::fs::read(&f.model).unwrap();
    refused(&f, &input, &["-o", &model], &[&msg]);
    assert_eq!(std::fs::read(&f.model).unwrap(), bytes);
}

#[test]
fn the_c_api_refuses_an_output_that_is_the_input_or_another_output() {
    let f = Fixture::new("outputs-capi", TinyNet::threshold(), 40, 30);
    let mut m = std::ptr::null_mut();
    let status = cm_model_load(path_c(&f.model).as_ptr(), null(), &mut m);
    assert_eq!(status, cm_status::CM_OK, "{}", common::capi::last_error());
    let bytes = std::fs::read(&f.input).unwrap();
    let before = f.files();
    let input = path_c(&f.input);
    let shown = text(&f.input);
    let mask = |paths: &cm_output_paths| {
        cm_mask_to_files(
            m,
            input.as_ptr(),
            paths,
            null(),
            0,
            null(),
            None,
            std::ptr::null_mut(),
        )
    };
    let same = cm_output_paths {
        classes: input.as_ptr(),
        valid: null(),
        probabilities: null(),
    };
    let msg = format!("the classes output {shown} is the input {shown}");
    expect(mask(&same), cm_status::CM_ERROR_OUTPUT, &msg);
    let out = path_c(&f.tmp.path("mask.tif"));
    let twice = cm_output_paths {
        classes: out.as_ptr(),
        valid: out.as_ptr(),
        probabilities: null(),
    };
    let shown = text(&f.tmp.path("mask.tif")).to_string();
    let msg = format!("the classes output {shown} and the valid output {shown} are the same file");
    expect(mask(&twice), cm_status::CM_ERROR_OUTPUT, &msg);
    let null_dev = c("/dev/null");
    let device = cm_output_paths {
        classes: out.as_ptr(),
        valid: null(),
        probabilities: null_dev.as_ptr(),
    };
    expect(
        mask(&device),
        cm_status::CM_ERROR_OUTPUT,
        "cannot write /dev/null: it exists and is a character device",
    );
    assert_eq!(std::fs::read(&f.input).unwrap(), bytes);
    assert_eq!(f.files(), before);
    cm_model_free(m);
}

#[test]
fn a_killed_runs_temporaries_are_removed_by_the_next_run_of_the_same_target() {
    let f = Fixture::new("outputs-stale", TinyNet::threshold(), 40, 30);
    // A process id that is gone: a child that has exited and been waited for.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let stale = [
        format!(".mask.tif.partial-{dead}.classes.tif"),
        format!(".mask.tif.partial-{dead}.classes.tif.aux.xml"),
        format!(".mask.tif.partial-{dead}.valid.tif"),
    ];
    for name in &stale {
        std::fs::write(f.tmp.path(name), b"half a file").unwrap();
    }
    // Another target's temporary, and one of a live run (locked) on the same target, stay.
    let other = format!(".other.tif.partial-{dead}.classes.tif");
    std::fs::write(f.tmp.path(&other), b"").unwrap();
    let live = format!(".mask.tif.partial-{}.classes.tif", std::process::id());
    let held = std::fs::File::create(f.tmp.path(&live)).unwrap();
    use std::os::unix::io::AsRawFd;
    // SAFETY: a valid descriptor of a file this test holds open.
    assert_eq!(unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX) }, 0);

    let out = f.tmp.path("mask.tif");
    let o = f
        .mask(&["-o", text(&out), "--output", "classes,valid"])
        .output()
        .unwrap();
    let all = output_text(&o);
    assert!(o.status.success(), "{all}");
    for name in &stale {
        let note = format!(
            "cloudmask: warning: removed {}, a temporary file that an interrupted run (process {dead}) left while writing {}",
            text(&f.tmp.path(name)),
            text(&out)
        );
        assert!(all.contains(&note), "{all:?} lacks {note:?}");
    }
    let files = f.files();
    for name in &stale {
        assert!(!files.contains(name), "{name} is still there: {files:?}");
    }
    assert!(files.contains(&other) && files.contains(&live), "{files:?}");
    assert!(
        files.contains(&"mask.tif".to_string()) && files.contains(&"mask_valid.tif".to_string())
    );
    drop(held);
}
