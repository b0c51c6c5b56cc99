//! A progress bar on stderr: redrawn in place on a terminal, a line per 10 % otherwise (logs).

use std::io::{IsTerminal, Write};

pub struct ProgressBar {
    quiet: bool,
    terminal: bool,
    last: i64,
}

impl ProgressBar {
    pub fn new(quiet: bool) -> Self {
        ProgressBar {
            quiet,
            terminal: std::io::stderr().is_terminal(),
            last: -1,
        }
    }

    pub fn update(&mut self, fraction: f64, stage: &str) {
        if self.quiet {
            return;
        }
        let pct = (fraction * 100.0).floor().clamp(0.0, 100.0) as i64;
        let step = if self.terminal { 1 } else { 10 };
        if pct / step == self.last / step && self.last >= 0 {
            return;
        }
        self.last = pct;
        let mut err = std::io::stderr();
        if self.terminal {
            let filled = (pct as usize) * 30 / 100;
            let _ = write!(
                err,
                "\r[{}{}] {pct:3}% {stage:<12}",
                "#".repeat(filled),
                ".".repeat(30 - filled)
            );
            if pct == 100 {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "{pct:3}% {stage}");
        }
        let _ = err.flush();
    }
}
