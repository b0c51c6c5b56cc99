//! The progress line during an epoch (loss and per-class IoU so far) and the epoch summary.

use std::io::{IsTerminal, Write};

pub struct Progress {
    epoch: usize,
    epochs: usize,
    steps: usize,
    quiet: bool,
    live: bool,
}

impl Progress {
    pub fn new(epoch: usize, epochs: usize, steps: usize, quiet: bool) -> Progress {
        Progress {
            epoch,
            epochs,
            steps,
            quiet,
            live: !quiet && std::io::stderr().is_terminal(),
        }
    }

    pub fn step(&mut self, step: usize, loss: f64, iou: &[f64]) {
        if !self.live {
            return;
        }
        let width = 24;
        let done = step * width / self.steps.max(1);
        let bar: String = (0..width)
            .map(|i| if i < done { '#' } else { '.' })
            .collect();
        let ious: Vec<String> = iou.iter().map(|v| format!("{v:.2}")).collect();
        eprint!(
            "\repoch {}/{} [{bar}] {step}/{} loss {loss:.4} IoU {}   ",
            self.epoch,
            self.epochs,
            self.steps,
            ious.join(" ")
        );
        let _ = std::io::stderr().flush();
    }

    pub fn finish(&mut self, entry: &serde_json::Value) {
        if self.quiet {
            return;
        }
        if self.live {
            eprint!("\r");
        }
        let f = |k: &str| {
            entry[k]
                .as_f64()
                .map(|v| format!("{v:.4}"))
                .unwrap_or("-".into())
        };
        let iou = |k: &str| {
            entry[k]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(n, v)| {
                            format!(
                                "{n} {}",
                                v.as_f64().map(|x| format!("{x:.3}")).unwrap_or("-".into())
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(|| "-".into())
        };
        eprintln!(
            "epoch {}/{}: train loss {} | val loss {} | val IoU {} | {}s",
            self.epoch,
            self.epochs,
            f("train_loss"),
            f("val_loss"),
            iou("val_iou"),
            entry["seconds"]
                .as_f64()
                .map(|s| format!("{s:.1}"))
                .unwrap_or_default()
        );
    }
}
