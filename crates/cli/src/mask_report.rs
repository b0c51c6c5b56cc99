//! What `cloudmask mask` says about its scenes: a line per finished scene on standard output,
//! the per-scene summary of a batch on standard error, and with `--json` the machine-readable
//! summary on standard output instead.

use cloudmask::fractions::ClassFractions;
use cloudmask::model::RunStats;
use cloudmask::scene::SceneReport;
use cloudmask::Error;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Skipped,
    Failed,
}

/// Why a scene failed: the library's error kind, its code (the exit status a single-input run
/// would have) and message.
#[derive(Debug, Serialize)]
pub struct SceneError {
    pub kind: &'static str,
    pub code: u8,
    pub message: String,
}

/// One input's outcome.
#[derive(Debug, Serialize)]
pub struct SceneSummary {
    pub input: String,
    /// The files written (ok), kept (skipped) or that would have been written (failed).
    pub outputs: Vec<PathBuf>,
    pub model: Option<String>,
    pub status: Status,
    pub error: Option<SceneError>,
    pub width: Option<usize>,
    pub height: Option<usize>,
    /// Fractions of all pixels per class (masked scenes only).
    pub fractions: Option<ClassFractions>,
    /// Cloud and thin cloud in percent of the pixels holding data.
    pub cloud_percent: Option<f64>,
    pub seconds: f64,
    /// Tiles the network ran on for this scene (all-nodata tiles are not run) and the seconds
    /// spent in ONNX Runtime for them (masked scenes only).
    pub tiles_run: Option<u64>,
    pub inference_seconds: Option<f64>,
    pub warnings: Vec<String>,
    /// The error itself, for the exit status of a single-input run.
    #[serde(skip)]
    pub cause: Option<Error>,
}

impl SceneSummary {
    pub fn new(input: &str, outputs: Vec<PathBuf>, model: Option<String>) -> SceneSummary {
        SceneSummary {
            input: input.to_string(),
            outputs,
            model,
            status: Status::Skipped,
            error: None,
            width: None,
            height: None,
            fractions: None,
            cloud_percent: None,
            seconds: 0.0,
            tiles_run: None,
            inference_seconds: None,
            warnings: Vec::new(),
            cause: None,
        }
    }

    pub fn masked(&mut self, report: &SceneReport, stats: RunStats) {
        let fractions = ClassFractions::from_counts(&report.class_counts);
        self.status = Status::Ok;
        self.tiles_run = Some(stats.tiles);
        self.inference_seconds = Some(stats.inference_seconds);
        self.outputs = report.outputs.clone();
        self.width = Some(report.width);
        self.height = Some(report.height);
        self.fractions = Some(fractions);
        self.cloud_percent = fractions.cloud_percent();
    }

    pub fn failed(&mut self, e: Error) {
        self.status = Status::Failed;
        self.error = Some(SceneError {
            kind: e.kind.name(),
            code: e.kind as u8,
            message: e.message.clone(),
        });
        self.cause = Some(e);
    }

    /// "masked IN (W x H) with MODEL: clear …" and a "wrote" line per file.
    pub fn print_masked(&self) {
        let (Some(f), Some(w), Some(h)) = (self.fractions, self.width, self.height) else {
            return;
        };
        println!(
            "masked {} ({w} x {h}) with {}: clear {:.1} %, cloud {:.1} %, thin cloud {:.1} %, shadow {:.1} %, nodata {:.1} %",
            self.input,
            self.model.as_deref().unwrap_or_default(),
            100.0 * f.clear,
            100.0 * f.cloud,
            100.0 * f.thin_cloud,
            100.0 * f.shadow,
            100.0 * f.nodata
        );
        for path in &self.outputs {
            println!("wrote {}", path.display());
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub scenes: usize,
    pub ok: usize,
    pub skipped: usize,
    pub failed: usize,
    /// Models loaded (each at most once per run).
    pub models_loaded: usize,
    /// Wall seconds of the whole run (model loads included) and, of them, the seconds in ONNX
    /// Runtime: what is left is reading, preparing, blending and writing.
    pub seconds: f64,
    pub inference_seconds: f64,
    pub tiles_run: u64,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub scenes: Vec<SceneSummary>,
    pub totals: Totals,
    pub exit_code: u8,
}

impl Summary {
    pub fn new(scenes: Vec<SceneSummary>, models_loaded: usize, seconds: f64) -> Summary {
        let count = |s: Status| scenes.iter().filter(|x| x.status == s).count();
        let totals = Totals {
            scenes: scenes.len(),
            ok: count(Status::Ok),
            skipped: count(Status::Skipped),
            failed: count(Status::Failed),
            models_loaded,
            seconds,
            inference_seconds: scenes
                .iter()
                .filter_map(|s| s.inference_seconds)
                .fold(0.0, |a, b| a + b),
            tiles_run: scenes.iter().filter_map(|s| s.tiles_run).sum(),
        };
        Summary {
            scenes,
            totals,
            exit_code: 0,
        }
    }

    pub fn print_json(&self) {
        match serde_json::to_string_pretty(self) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("cloudmask: error: cannot write the JSON summary: {e}"),
        }
    }

    /// The per-scene summary on standard error.
    pub fn print_text(&self) {
        let t = &self.totals;
        eprintln!(
            "cloudmask: {} scenes: {} ok, {} skipped, {} failed ({:.1} s, {} model load{})",
            t.scenes,
            t.ok,
            t.skipped,
            t.failed,
            t.seconds,
            t.models_loaded,
            if t.models_loaded == 1 { "" } else { "s" }
        );
        for s in &self.scenes {
            let detail = match (&s.error, s.cloud_percent) {
                (Some(e), _) => format!("{} error ({}): {}", e.kind, e.code, e.message),
                (None, Some(c)) => format!("cloud {c:.1} %, {:.1} s", s.seconds),
                (None, None) if s.status == Status::Ok => format!("no data, {:.1} s", s.seconds),
                (None, None) => "outputs exist".to_string(),
            };
            let status = format!("{:?}", s.status).to_lowercase();
            eprintln!("  {status:<8} {}: {detail}", s.input);
        }
    }
}
