//! `cloudmask train bench`: milliseconds per training step (forward, backward, AdamW update) of
//! each network on random data; with `--pytorch`, PyTorch on the same networks
//! (`tools/torch_train_step.py`) measured in the same run, one network after the other, and the
//! ratio. The figure in docs/BENCHMARKS.md.

use crate::cli::BenchArgs;
use crate::loss::{loss, LossKind};
use crate::nets::{Arch, NetSpec, Network};
use crate::optim::AdamW;
use cloudmask::error::{Error, Result};
use std::process::Command;
use std::time::Instant;
use tch::{Kind, Tensor};

/// Median and minimum milliseconds per step.
struct Timing {
    median: f64,
    min: f64,
}

pub fn run(a: BenchArgs) -> Result<()> {
    let device = crate::device(&a.compute)?;
    let threads = tch::get_num_threads();
    let mut rows = Vec::new();
    for arch in &a.arch {
        let ours = time_ours(&a, arch, device)?;
        let theirs = match &a.pytorch {
            Some(python) => Some(time_pytorch(&a, arch, python, threads)?),
            None => None,
        };
        let row = match &theirs {
            Some(t) => format!(
                "| {} | {:.0} ms (min {:.0}) | {:.0} ms (min {:.0}) | **{:.2}x** |",
                Arch::parse(arch)?.describe(),
                ours.median,
                ours.min,
                t.median,
                t.min,
                ours.median / t.median
            ),
            None => format!(
                "| {} | {:.0} ms (min {:.0}) | not measured | |",
                Arch::parse(arch)?.describe(),
                ours.median,
                ours.min
            ),
        };
        println!("{row}");
        rows.push(row);
    }
    let mut md = format!(
        "Measured {} by `cloudmask train bench --batch {} --size {} --bands {} --steps {} --threads {threads}{}` on {}, {}.\n\n",
        cloudmask_tools::benchdoc::today(),
        a.batch,
        a.size,
        a.bands,
        a.steps,
        if a.pytorch.is_some() { " --pytorch .venv-torch/bin/python" } else { "" },
        cloudmask_tools::benchdoc::machine_description(),
        if device == tch::Device::Cpu { "CPU" } else { "GPU" },
    );
    md.push_str(&format!(
        "### Training step (forward, backward, AdamW), batch of {} at {} x {}, {} bands, {threads} threads\n\n",
        a.batch, a.size, a.size, a.bands
    ));
    md.push_str("| network | cloudmask train (libtorch via tch) | PyTorch (Python) | ratio (ours / PyTorch; target ≤ 1.5x) |\n|---|---|---|---|\n");
    for r in &rows {
        md.push_str(r);
        md.push('\n');
    }
    if let Some(path) = &a.markdown {
        cloudmask_tools::benchdoc::write_section(path, "cloudmask-train-bench", &md)?;
        println!("updated {}", path.display());
    }
    Ok(())
}

fn time_ours(a: &BenchArgs, arch: &str, device: tch::Device) -> Result<Timing> {
    tch::manual_seed(0);
    let spec = NetSpec {
        arch: Arch::parse(arch)?,
        in_channels: a.bands,
        classes: a.classes,
    };
    let net = Network::new(&spec, device);
    let mut opt = AdamW::new(&net.vs, 0.01);
    let x = Tensor::randn([a.batch, a.bands, a.size, a.size], (Kind::Float, device));
    let y = Tensor::randint(a.classes, [a.batch, a.size, a.size], (Kind::Int64, device));
    let mut times = Vec::new();
    for i in 0..=a.steps {
        let t = Instant::now();
        let logits = net.forward_t(&x, true);
        let l = loss(LossKind::CrossEntropy, &logits, &y, None);
        opt.zero_grad();
        l.backward();
        opt.step(1e-3);
        let _ = l.double_value(&[]);
        if i > 0 {
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(|p, q| p.total_cmp(q));
    Ok(Timing {
        median: times[times.len() / 2],
        min: times[0],
    })
}

fn time_pytorch(
    a: &BenchArgs,
    arch: &str,
    python: &std::path::Path,
    threads: i32,
) -> Result<Timing> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/torch_train_step.py");
    let o = Command::new(python)
        .arg(script)
        .args(["--arch", arch])
        .args([
            "--batch",
            &a.batch.to_string(),
            "--size",
            &a.size.to_string(),
        ])
        .args([
            "--bands",
            &a.bands.to_string(),
            "--classes",
            &a.classes.to_string(),
        ])
        .args([
            "--steps",
            &a.steps.to_string(),
            "--threads",
            &threads.to_string(),
        ])
        .output()
        .map_err(|e| Error::invalid(format!("cannot run {}: {e}", python.display())))?;
    if !o.status.success() {
        return Err(Error::invalid(format!(
            "the PyTorch reference failed: {}",
            String::from_utf8_lossy(&o.stderr)
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .map_err(|e| Error::invalid(format!("the PyTorch reference printed no result: {e}")))?;
    Ok(Timing {
        median: v["ms_median"].as_f64().unwrap_or(f64::NAN),
        min: v["ms_min"].as_f64().unwrap_or(f64::NAN),
    })
}
