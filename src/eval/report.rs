//! Writing the reports: Markdown (`markdown`), JSON (here: everything, NaN as `null`), CSV
//! (`csv`) and the PNG figure (`figure`), side by side in one folder, each to a hidden temporary
//! file; all are renamed into place together when every one is complete.

use super::summary::Summary;
use super::{csv, figure, markdown};
use crate::error::{Error, Result};
use crate::raster::quicklook::encode_png;
use crate::raster::staging::{clean_stale, commit_all, full_note, Staged};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Json,
    Csv,
    Png,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 4] = [
        ReportFormat::Markdown,
        ReportFormat::Json,
        ReportFormat::Csv,
        ReportFormat::Png,
    ];

    pub fn parse(s: &str) -> Result<ReportFormat> {
        match s.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(ReportFormat::Markdown),
            "json" => Ok(ReportFormat::Json),
            "csv" => Ok(ReportFormat::Csv),
            "png" | "figure" => Ok(ReportFormat::Png),
            other => Err(Error::invalid(format!(
                "unknown report format '{other}': use md, json, csv or png"
            ))),
        }
    }

    /// The files this format writes into the report folder.
    pub fn file_names(self) -> &'static [&'static str] {
        match self {
            ReportFormat::Markdown => &["evaluation.md"],
            ReportFormat::Json => &["evaluation.json"],
            ReportFormat::Csv => &["evaluation.csv", "evaluation_patches.csv"],
            ReportFormat::Png => &["evaluation.png"],
        }
    }
}

/// Writes the reports into `dir` (created if missing) and returns the files written. Each is
/// written to a temporary file first; all are renamed into place together once every one is
/// complete, so a failure leaves none of them (and no temporary).
pub fn write_reports(s: &Summary, dir: &Path, formats: &[ReportFormat]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Error::output(format!(
            "cannot create report folder {}: {e}",
            dir.display()
        ))
    })?;
    let mut staged = Vec::new();
    for &format in formats {
        let names = format.file_names();
        // Temporaries a killed run left for these files; nobody else can use them.
        for name in names {
            clean_stale(&dir.join(name));
        }
        match format {
            ReportFormat::Markdown => {
                staged.push(put(dir, names[0], markdown::markdown(s).as_bytes())?)
            }
            ReportFormat::Json => staged.push(put(dir, names[0], json(s).as_bytes())?),
            ReportFormat::Csv => {
                staged.push(put(dir, names[0], csv::summary(s).as_bytes())?);
                staged.push(put(dir, names[1], csv::patches(s).as_bytes())?);
            }
            ReportFormat::Png => {
                let target = dir.join(names[0]);
                let file = Staged::new(&target, "png")?;
                let canvas = figure::render(s);
                let planes: Vec<Vec<u8>> = (0..3)
                    .map(|band| {
                        (0..canvas.width * canvas.height)
                            .map(|i| canvas.pixel(i % canvas.width, i / canvas.width)[band])
                            .collect()
                    })
                    .collect();
                encode_png(file.path(), &target, &planes, canvas.width, canvas.height)?;
                staged.push(file);
            }
        }
    }
    commit_all(staged)
}

/// `bytes` written into a temporary file for `dir/name`.
fn put(dir: &Path, name: &str, bytes: &[u8]) -> Result<Staged> {
    let target = dir.join(name);
    let file = Staged::new(&target, "part")?;
    std::fs::write(file.path(), bytes).map_err(|e| {
        Error::output(format!(
            "cannot write {}: {e}{}",
            target.display(),
            full_note(&target)
        ))
    })?;
    Ok(file)
}

/// 4 decimals, `NaN` for undefined values.
pub fn number(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_string()
    } else {
        format!("{x:.4}")
    }
}

pub fn json(s: &Summary) -> String {
    let mut text = serde_json::to_string_pretty(s).expect("summaries serialise");
    text.push('\n');
    text
}
