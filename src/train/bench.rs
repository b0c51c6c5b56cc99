//! `cloudmask train bench`: milliseconds per training step (forward, backward, AdamW update) of
//! each network on random data, the figure compared with PyTorch in docs/BENCHMARKS.md.

use crate::cli::BenchArgs;
use crate::loss::{loss, LossKind};
use crate::nets::{Arch, NetSpec, Network};
use crate::optim::AdamW;
use cloudmask::error::Result;
use std::time::Instant;
use tch::{Kind, Tensor};

pub fn run(a: BenchArgs) -> Result<()> {
    let device = crate::device(&a.compute)?;
    tch::manual_seed(0);
    println!("network\tbatch\tsize\tbands\tms_per_step_median\tms_per_step_min\tsteps\tthreads");
    for arch in &a.arch {
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
        println!(
            "{arch}\t{}\t{}\t{}\t{:.1}\t{:.1}\t{}\t{}",
            a.batch,
            a.size,
            a.bands,
            times[times.len() / 2],
            times[0],
            times.len(),
            tch::get_num_threads()
        );
    }
    Ok(())
}
