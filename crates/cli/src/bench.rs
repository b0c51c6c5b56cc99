//! `cloudmask bench`: end-to-end speed and peak memory against the ukis-csmask Python package,
//! measured in one run on the same machine, model, image and thread count.
//!
//! Both sides run as child processes so their wall time and peak resident memory are measured
//! the same way (wait4's rusage). Ours is timed from process start to exit (model load, GeoTIFF
//! read and write included); the reference script times ukis-csmask's CSmask call (ORT session
//! creation included, Python imports and the .npy load excluded).

use crate::args::BenchArgs;
use cloudmask::model::CpuBf16;
use cloudmask::raster::mosaic::write_mirrored_mosaic;
use cloudmask::raster::Dataset;
use cloudmask::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Wall time and peak memory of one child process.
pub struct Measured {
    pub seconds: f64,
    pub peak_mb: f64,
    pub stdout: String,
}

pub fn measure(cmd: &mut Command) -> Result<Measured> {
    let shown = format!("{cmd:?}");
    let start = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .map_err(|e| Error::invalid(format!("cannot run {shown}: {e}")))?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout {
        use std::io::Read;
        let _ = out.read_to_string(&mut stdout);
    }
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 reaps our own child and fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = start.elapsed().as_secs_f64();
    if rc < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(Error::invalid(format!(
            "benchmark step failed: {shown}\n{stdout}"
        )));
    }
    Ok(Measured {
        seconds,
        peak_mb: usage.ru_maxrss as f64 / 1024.0,
        stdout,
    })
}

/// Writes a raster as a (rows, columns, bands) float32 .npy for the Python reference.
fn write_npy(src: &Path, dst: &Path) -> Result<()> {
    let ds = Dataset::open(&src.to_string_lossy())?;
    let (w, h, c) = (ds.width(), ds.height(), ds.band_count());
    let mut planes = vec![vec![0f32; w * h]; c];
    for (b, p) in planes.iter_mut().enumerate() {
        ds.read(b + 1, 0, 0, w, h, p)?;
    }
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({h}, {w}, {c}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let io = |e: std::io::Error| Error::output(format!("writing {}: {e}", dst.display()));
    let mut f = std::io::BufWriter::new(std::fs::File::create(dst).map_err(io)?);
    f.write_all(b"\x93NUMPY\x01\x00").map_err(io)?;
    f.write_all(&(header.len() as u16).to_le_bytes())
        .map_err(io)?;
    f.write_all(header.as_bytes()).map_err(io)?;
    let mut row = Vec::with_capacity(w * c * 4);
    for y in 0..h {
        row.clear();
        for x in 0..w {
            for p in &planes {
                row.extend_from_slice(&p[y * w + x].to_le_bytes());
            }
        }
        f.write_all(&row).map_err(io)?;
    }
    f.flush().map_err(io)
}

/// Band 0 (classes) of the reference's (2, rows, columns) uint8 .npy, in cloudmask codes.
fn read_reference_classes(path: &Path, n: usize) -> Result<Vec<u8>> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let data = &bytes[10 + header_len..];
    if data.len() != 2 * n {
        return Err(Error::input(format!(
            "{} does not hold 2 x {n} bytes",
            path.display()
        )));
    }
    Ok(data[..n]
        .iter()
        .map(|&c| [1u8, 2, 4].get(c as usize).copied().unwrap_or(0))
        .collect())
}

pub fn read_classes(path: &Path) -> Result<Vec<u8>> {
    let ds = Dataset::open(&path.to_string_lossy())?;
    let (w, h) = (ds.width(), ds.height());
    let mut buf = vec![0f32; w * h];
    ds.read(1, 0, 0, w, h, &mut buf)?;
    Ok(buf.into_iter().map(|v| v as u8).collect())
}

fn agreement(a: &[u8], b: &[u8]) -> f64 {
    100.0 * a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// How much of a `cloudmask mask --json` run was inference: its share of the run's wall time
/// (process start to exit) and the seconds outside it (start-up, model load, reading,
/// blending, writing), from the run's JSON summary.
fn inference_share(run: &Measured) -> Result<String> {
    let summary: serde_json::Value = serde_json::from_str(&run.stdout)
        .map_err(|e| Error::invalid(format!("cloudmask mask --json printed no summary: {e}")))?;
    let inference = summary["totals"]["inference_seconds"]
        .as_f64()
        .ok_or_else(|| Error::invalid("the summary has no totals.inference_seconds"))?;
    let outside = run.seconds - inference;
    Ok(format!(
        "{:.1} % ({outside:.1} s outside)",
        100.0 * inference / run.seconds
    ))
}

/// The provider and precision a run of ours used, from its output's provenance metadata.
fn provenance(out: &Path) -> Result<String> {
    let ds = Dataset::open(&out.to_string_lossy())?;
    let item = |key: &str| ds.metadata_item(key, "").unwrap_or_else(|| "?".to_string());
    Ok(format!(
        "{}, {}",
        item("CLOUDMASK_PROVIDER"),
        item("CLOUDMASK_PRECISION")
    ))
}

/// ukis-csmask's peak memory for an n x n 6-band image, from its algorithm: input and
/// normalised copy (f32), the tile stack and softmax outputs (f32), the weighted tiles (f64,
/// held twice) and the padded f64 canvas, plus interpreter and session. Checked against the
/// measured peak at the speed-test size in the same run.
fn ukis_peak_bytes(n: usize, bands: usize, classes: usize) -> f64 {
    let tiles_per_axis = (n + 103) / 204 + 1;
    let t = (tiles_per_axis * tiles_per_axis) as f64;
    let nf = n as f64;
    0.3e9
        + 8.0 * bands as f64 * nf * nf
        + 65536.0 * t * (4.0 * bands as f64 + 20.0 * classes as f64)
        + 8.0 * classes as f64 * (nf + 359.0).powi(2)
}

pub fn run(a: BenchArgs) -> Result<()> {
    std::fs::create_dir_all(&a.workdir)
        .map_err(|e| Error::output(format!("{}: {e}", a.workdir.display())))?;
    let exe = std::env::current_exe().map_err(|e| Error::invalid(e.to_string()))?;
    if a.size > 0 {
        let md = against_reference(&a, &exe)?;
        println!("{md}");
        write_markdown(&a, "cloudmask-bench", &md)?;
    }
    if a.batch_scenes > 0 {
        let md = crate::bench_batch::run(&a, &exe)?;
        println!("{md}");
        write_markdown(&a, "cloudmask-bench-batch", &md)?;
    }
    Ok(())
}

fn write_markdown(a: &BenchArgs, marker: &str, md: &str) -> Result<()> {
    if let Some(path) = &a.markdown {
        cloudmask_tools::benchdoc::write_section(path, marker, md)?;
        println!("updated {}", path.display());
    }
    Ok(())
}

/// Speed and memory against ukis-csmask: the document section.
fn against_reference(a: &BenchArgs, exe: &Path) -> Result<String> {
    let reference_model = a
        .model
        .strip_prefix("ukis-")
        .map(|m| m.replace('-', "_"))
        .ok_or_else(|| Error::invalid("bench compares with ukis-csmask, so --model must be one of its models (ukis-6b-l1c, …)"))?;
    for (what, p) in [("python", &a.python), ("reference script", &a.reference)] {
        if !p.exists() {
            return Err(Error::invalid(format!(
                "{what} {} not found (run `make venv` first)",
                p.display()
            )));
        }
    }
    let bench = Bench {
        a,
        exe: exe.to_path_buf(),
        threads: a.threads.to_string(),
    };

    // (a) Speed at `size`: the reference, then our modes.
    let image = bench.mosaic(a.size)?;
    let (theirs, their_seconds, reference) = bench.reference(&image, &reference_model)?;
    let (rows, exact_peak_mb) = bench.speed_rows(&image, &theirs, their_seconds, &reference)?;

    // (b) Peak memory at `memory_size` (ours measured; theirs computed from its algorithm).
    let mut memory_rows = Vec::new();
    let formula_check = ukis_peak_bytes(a.size, 6, 3) / 1e6;
    memory_rows.push(format!(
        "| {0} x {0} (speed test above) | {1:.0} MB measured | {2:.0} MB measured, {3:.0} MB computed |",
        a.size,
        exact_peak_mb,
        theirs.peak_mb,
        formula_check
    ));
    if a.memory_size > 0 {
        memory_rows.push(bench.memory_row()?);
    }

    Ok(markdown(a, &rows, &memory_rows))
}

/// One bench run: its arguments, this program (to run `cloudmask mask` as a child) and the
/// thread count both sides get.
struct Bench<'a> {
    a: &'a BenchArgs,
    exe: PathBuf,
    threads: String,
}

impl Bench<'_> {
    /// The n x n mirrored mosaic of the sample scene, written once into the work folder.
    fn mosaic(&self, n: usize) -> Result<PathBuf> {
        let p = self.a.workdir.join(format!("mosaic_{n}.tif"));
        if !p.exists() {
            eprintln!("bench: writing {}", p.display());
            write_mirrored_mosaic(&self.a.scene, &p, n, n)?;
        }
        Ok(p)
    }

    /// `cloudmask mask IMAGE -o OUT` with the bench's model and threads, and `flags`.
    fn mask(&self, image: &Path, out: &Path, flags: &[&str]) -> Result<Measured> {
        measure(
            Command::new(&self.exe)
                .arg("mask")
                .arg(image)
                .arg("-o")
                .arg(out)
                .args([
                    "--model",
                    &self.a.model,
                    "--threads",
                    &self.threads,
                    "--quiet",
                    "--overwrite",
                    "--json",
                ])
                .args(flags),
        )
    }

    /// ukis-csmask on `image`: its run, the seconds it reports for CSmask, and its classes.
    fn reference(&self, image: &Path, reference_model: &str) -> Result<(Measured, f64, Vec<u8>)> {
        let a = self.a;
        let npy = a.workdir.join(format!("mosaic_{}.npy", a.size));
        if !npy.exists() {
            write_npy(image, &npy)?;
        }
        let reference_out = a.workdir.join("reference.npy");
        eprintln!("bench: ukis-csmask (Python) on {}", image.display());
        let theirs = measure(
            Command::new(&a.python)
                .arg(&a.reference)
                .args([
                    "--image",
                    &npy.to_string_lossy(),
                    "--model",
                    reference_model,
                    "--threads",
                    &self.threads,
                    "--json",
                    "--out",
                ])
                .arg(&reference_out),
        )?;
        let json: serde_json::Value = theirs
            .stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| {
                Error::invalid(format!("the reference printed no JSON: {}", theirs.stdout))
            })?;
        let their_seconds = json["seconds"].as_f64().unwrap_or(theirs.seconds);
        let reference = read_reference_classes(&reference_out, a.size * a.size)?;
        Ok((theirs, their_seconds, reference))
    }

    /// One table row per tiling mode and execution path against the reference; also returns
    /// the exact mode's peak memory. The OpenVINO rows say which provider and precision ran
    /// (from the output's provenance); bf16 runs only on a CPU with native bf16, as
    /// `--precision bf16` is refused elsewhere.
    fn speed_rows(
        &self,
        image: &Path,
        theirs: &Measured,
        their_seconds: f64,
        reference: &[u8],
    ) -> Result<(Vec<String>, f64)> {
        const EXACT: &[&str] = &["--tiling", "exact"];
        let variants: [&[&str]; 6] = [
            &["--tiling", "ukis"],
            EXACT,
            &["--tiling", "exact", "--batch", "4"],
            &["--tiling", "exact", "--overlap", "0.0625"],
            &[
                "--tiling",
                "exact",
                "--device",
                "openvino",
                "--precision",
                "f32",
            ],
            &[
                "--tiling",
                "exact",
                "--device",
                "openvino",
                "--precision",
                "bf16",
            ],
        ];
        let bf16 = CpuBf16::detect();
        let mut rows = Vec::new();
        let mut exact: Option<(Vec<u8>, f64)> = None;
        for flags in variants {
            let shown = flags.join(" ");
            if flags.contains(&"bf16") && !bf16.native() {
                rows.push(format!(
                    "| `cloudmask mask {shown}` | not run: this CPU's native bf16 is {} | | | | | | | | |",
                    bf16.describe()
                ));
                continue;
            }
            let out = self.a.workdir.join("ours.tif");
            eprintln!("bench: cloudmask mask {shown}");
            let ours = self.mask(image, &out, flags)?;
            let classes = read_classes(&out)?;
            let ran = provenance(&out)?;
            if flags.contains(&"openvino") && !ran.starts_with("OpenVINO") {
                return Err(Error::invalid(format!(
                    "`cloudmask mask {shown}` ran on {ran}, not OpenVINO: install its runtime with `make openvino-venv`"
                )));
            }
            let with_exact = match &exact {
                Some((e, _)) => format!("{:.3} %", agreement(&classes, e)),
                None => "—".to_string(),
            };
            rows.push(format!(
                "| `cloudmask mask {shown}` | {ran} | {:.1} s | {:.1} s | **{:.2}x** | {:.3} % | {with_exact} | {} | {:.0} MB | {:.0} MB |",
                ours.seconds,
                their_seconds,
                their_seconds / ours.seconds,
                agreement(&classes, reference),
                inference_share(&ours)?,
                ours.peak_mb,
                theirs.peak_mb
            ));
            if flags == EXACT {
                exact = Some((classes, ours.peak_mb));
            }
        }
        Ok((rows, exact.map_or(0.0, |(_, mb)| mb)))
    }

    /// Our peak memory on the `--memory-size` mosaic, beside ukis-csmask's computed one.
    fn memory_row(&self) -> Result<String> {
        let a = self.a;
        let big = self.mosaic(a.memory_size)?;
        let out = a.workdir.join("ours_big.tif");
        eprintln!("bench: cloudmask exact on {}", big.display());
        let ours = self.mask(&big, &out, &["--output", "classes,valid"])?;
        let theirs_big = ukis_peak_bytes(a.memory_size, 6, 3) / 1e6;
        let fits = if theirs_big / 1e3 < cloudmask_tools::benchdoc::memory_gib() * 1.073_741_824 {
            "fits"
        } else {
            "does not fit"
        };
        let row = format!(
            "| {0} x {0} | **{1:.0} MB** measured ({2:.0} s) | {3:.0} MB **computed**, not run ({fits} in this machine's {4:.0} GiB) |",
            a.memory_size,
            ours.peak_mb,
            ours.seconds,
            theirs_big,
            cloudmask_tools::benchdoc::memory_gib()
        );
        for f in [
            "ours_big.tif",
            "ours_big_valid.tif",
            "ours_big.tif.aux.xml",
            "ours_big_valid.tif.aux.xml",
        ] {
            let _ = std::fs::remove_file(a.workdir.join(f));
        }
        Ok(row)
    }
}

/// The bench section of the benchmarks document: how it was measured, then both tables.
fn markdown(a: &BenchArgs, rows: &[String], memory_rows: &[String]) -> String {
    let machine = cloudmask_tools::benchdoc::machine_description();
    let mut md = String::new();
    md.push_str(&format!(
        "Measured {} by `cloudmask bench --size {} --memory-size {} --threads {} --model {}` on {machine}.\n\n",
        cloudmask_tools::benchdoc::today(),
        a.size,
        a.memory_size,
        a.threads,
        a.model
    ));
    md.push_str(&format!(
        "### End to end, {0} x {0} mosaic of the sample scene, 6 bands, {1} threads\n\n",
        a.size, a.threads
    ));
    md.push_str(&format!(
        "This CPU's native bf16: {}.\n\n",
        CpuBf16::detect().describe()
    ));
    md.push_str("| command | provider, precision | ours | ukis-csmask (Python) | ratio (theirs / ours) | classes identical to theirs | classes identical to our exact | ours in inference | our peak memory | their peak memory |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        md.push_str(r);
        md.push('\n');
    }
    md.push_str("\n### Peak memory\n\n| input | cloudmask (exact) | ukis-csmask (Python) |\n|---|---|---|\n");
    for r in memory_rows {
        md.push_str(r);
        md.push('\n');
    }
    md
}
