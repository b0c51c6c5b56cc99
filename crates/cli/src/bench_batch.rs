//! `cloudmask bench --batch-scenes N`: N scenes masked by one `cloudmask mask` run (one model
//! load, the batch mode) against N separate runs (a model load each), in the same bench run,
//! same machine, model and threads; the class maps of both must be identical.

use crate::args::BenchArgs;
use crate::bench::{measure, read_classes};
use cloudmask::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Times both ways and returns the document section.
pub fn run(a: &BenchArgs, exe: &Path) -> Result<String> {
    let n = a.batch_scenes;
    let dir = a.workdir.join("batch");
    let (scenes, separate_out, batch_out) =
        (dir.join("scenes"), dir.join("separate"), dir.join("batch"));
    for d in [&scenes, &separate_out, &batch_out] {
        std::fs::create_dir_all(d).map_err(|e| Error::output(format!("{}: {e}", d.display())))?;
    }
    // Copies of the 512 x 512 sample scene, one file per scene as a batch would have.
    let inputs: Vec<PathBuf> = (0..n)
        .map(|i| scenes.join(format!("s{i:02}.tif")))
        .collect();
    for input in &inputs {
        if !input.exists() {
            std::fs::copy(&a.scene, input).map_err(|e| {
                Error::output(format!("copying {} to {}: {e}", a.scene, input.display()))
            })?;
        }
    }
    let common = |cmd: &mut Command| {
        cmd.args(["--model", &a.model, "--threads", &a.threads.to_string()])
            .args(["--overwrite", "--quiet"]);
    };
    eprintln!("bench: {n} separate runs of cloudmask mask");
    let mut separate = 0.0;
    for input in &inputs {
        let mut cmd = Command::new(exe);
        cmd.arg("mask")
            .arg(input)
            .arg("-o")
            .arg(output_of(&separate_out, input));
        common(&mut cmd);
        separate += measure(&mut cmd)?.seconds;
    }
    eprintln!("bench: one batch run of cloudmask mask on {n} scenes");
    let mut cmd = Command::new(exe);
    cmd.arg("mask")
        .args(&inputs)
        .arg("--output-dir")
        .arg(&batch_out)
        .arg("--json");
    common(&mut cmd);
    let batch = measure(&mut cmd)?;
    let inference = inference_seconds(&batch.stdout)?;
    for input in &inputs {
        let (x, y) = (
            output_of(&separate_out, input),
            output_of(&batch_out, input),
        );
        if read_classes(&x)? != read_classes(&y)? {
            return Err(Error::invalid(format!(
                "the batch run's {} differs from the separate run's {}",
                y.display(),
                x.display()
            )));
        }
    }
    let machine = cloudmask_tools::benchdoc::machine_description();
    Ok(format!(
        "Measured {} by `cloudmask bench --size 0 --memory-size 0 --batch-scenes {n} --threads {} --model {}` on {machine}.\n\n\
         | {n} scenes of 512 x 512, 6 bands | {n} separate `cloudmask mask IN -o OUT` runs | one `cloudmask mask IN... --output-dir DIR` run | ratio (separate / batch) | the batch's inference alone | ceiling (separate / inference) | class maps |\n\
         |---|---|---|---|---|---|---|\n\
         | {} threads, {} | {separate:.1} s | {:.1} s | **{:.2}x** | {inference:.1} s | {:.2}x | identical |\n",
        cloudmask_tools::benchdoc::today(),
        a.threads,
        a.model,
        a.threads,
        a.model,
        batch.seconds,
        separate / batch.seconds,
        separate / inference
    ))
}

/// The seconds the batch run spent inside ONNX Runtime (`totals.inference_seconds` of its
/// `--json` summary): no batch can cost less, so separate / inference bounds the ratio.
fn inference_seconds(json: &str) -> Result<f64> {
    let summary: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| Error::invalid(format!("the batch run's --json summary: {e}")))?;
    summary["totals"]["inference_seconds"]
        .as_f64()
        .filter(|s| *s > 0.0)
        .ok_or_else(|| {
            Error::invalid("the batch run's --json summary has no totals.inference_seconds")
        })
}

/// The batch run's default output name (`{stem}_mask.tif`), used for both ways.
fn output_of(dir: &Path, input: &Path) -> PathBuf {
    let stem = input.file_stem().unwrap_or_default().to_string_lossy();
    dir.join(format!("{stem}_mask.tif"))
}
