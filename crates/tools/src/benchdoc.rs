//! Helpers for the bench commands that write measured figures into docs/BENCHMARKS.md: the
//! machine they were measured on, today's date, and replacing one marked section of a document.

use cloudmask::error::{Error, Result};
use std::path::Path;

/// Replaces the text between `<!-- {marker}:start -->` and `<!-- {marker}:end -->` with `body`,
/// keeping the rest of the document (the section is appended when the markers are missing).
pub fn write_section(path: &Path, marker: &str, body: &str) -> Result<()> {
    let (start, end) = (
        format!("<!-- {marker}:start -->"),
        format!("<!-- {marker}:end -->"),
    );
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let section = format!("{start}\n{body}{end}");
    let new = match (old.find(&start), old.find(&end)) {
        (Some(s), Some(e)) if e > s => {
            format!("{}{section}{}", &old[..s], &old[e + end.len()..])
        }
        _ => format!("{old}\n{section}\n"),
    };
    std::fs::write(path, new).map_err(|e| Error::output(format!("{}: {e}", path.display())))
}

/// "CPU model, N cores, M GiB RAM" of this machine.
pub fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cpu}, {cores} cores, {:.0} GiB RAM", memory_gib())
}

/// Total memory of this machine, GiB.
pub fn memory_gib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0)
}

/// Today's date as YYYY-MM-DD (from `date`, which knows the local calendar).
pub fn today() -> String {
    std::process::Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_replaced_in_place_or_appended() {
        let path = std::env::temp_dir().join(format!("cm-benchdoc-{}.md", std::process::id()));
        std::fs::write(
            &path,
            "intro\n<!-- x:start -->\nold\n<!-- x:end -->\noutro\n",
        )
        .unwrap();
        write_section(&path, "x", "new\n").unwrap();
        write_section(&path, "y", "other\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "intro\n<!-- x:start -->\nnew\n<!-- x:end -->\noutro\n\n<!-- y:start -->\nother\n<!-- y:end -->\n"
        );
        std::fs::remove_file(&path).unwrap();
    }
}
