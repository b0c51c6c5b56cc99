//! `cloudmask eval`: predicted masks (files, folders or a model run on the fly) against
//! reference masks; writes Markdown, JSON, CSV and PNG reports and prints the headline numbers.

use crate::args::{ReadArgs, RuntimeArgs};
use crate::mask::model_options;
use crate::progress::ProgressBar;
use clap::Args;
use cloudmask::eval::cloudsen12::Problem;
use cloudmask::eval::report::number;
use cloudmask::eval::summary::f_beta_name;
use cloudmask::eval::{evaluate_to_folder, EvalJob, PredictorSpec, ReportFormat};
use cloudmask::{Error, Result};
use std::path::PathBuf;

#[derive(Args)]
pub struct EvalArgs {
    /// Reference masks: a raster, a folder of rasters, or a list file (.csv, .tsv, .txt) whose
    /// header names the columns reference, id, image and one per predictor
    #[arg(short, long)]
    pub reference: String,
    /// Class scheme of the references: cloudmask, ukis, scl, fmask, cloudsen12, binary, a
    /// mapping such as '0=shadow,1-3=clear,4=cloud' ('*=nodata' for all other codes), or a .json file
    #[arg(long, default_value = cloudmask::eval::job::DEFAULT_SCHEME)]
    pub reference_scheme: String,
    /// A predictor, repeatable: NAME=RASTER, NAME=FOLDER (files named like the references),
    /// NAME=model:MODEL (runs the model on --images), or NAME alone (a list file's column)
    #[arg(short, long = "predictor")]
    pub predictors: Vec<String>,
    /// Class scheme of one predictor, repeatable: NAME=SCHEME (default: cloudmask)
    #[arg(long = "scheme")]
    pub schemes: Vec<String>,
    /// Images that model: predictors mask: a raster, or a folder of rasters named like the references
    #[arg(long)]
    pub images: Option<String>,
    /// Folder for the reports (created if missing)
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Reports to write, comma-separated: md, json, csv, png
    #[arg(long, default_value = "md,json,csv,png", value_delimiter = ',')]
    pub format: Vec<String>,
    /// β of the F-beta score (2 = F2, recall weighted; 1 = F1)
    #[arg(long, default_value_t = cloudmask::eval::DEFAULT_BETA)]
    pub beta: f64,
    /// No progress bar
    #[arg(short, long)]
    pub quiet: bool,
    /// How model: predictors read the images
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

fn job(a: &EvalArgs) -> Result<EvalJob> {
    let mut job = EvalJob::new(&a.reference);
    job.reference_scheme = Some(a.reference_scheme.clone());
    job.images = a.images.clone();
    job.beta = a.beta;
    job.model_options = model_options(&a.runtime);
    job.reading = a.read.reading(None);
    job.predictors = a
        .predictors
        .iter()
        .map(|p| PredictorSpec::parse(p))
        .collect::<Result<_>>()?;
    for s in &a.schemes {
        let (name, scheme) = s.split_once('=').ok_or_else(|| {
            Error::invalid(format!("--scheme '{s}': write NAME=SCHEME, e.g. ukis=ukis"))
        })?;
        let predictor = job
            .predictors
            .iter_mut()
            .find(|p| p.name == name.trim())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "--scheme names predictor '{name}', but there is no --predictor {name}"
                ))
            })?;
        *predictor = predictor.clone().with_scheme(Some(scheme))?;
    }
    Ok(job)
}

pub fn run(a: EvalArgs) -> Result<()> {
    let job = job(&a)?;
    let formats = a
        .format
        .iter()
        .map(|f| ReportFormat::parse(f))
        .collect::<Result<Vec<_>>>()?;
    let mut bar = ProgressBar::new(a.quiet);
    let (summary, written) = evaluate_to_folder(&job, &a.out, &formats, &mut |f, stage| {
        bar.update(f, stage);
        true
    })?;
    let fb = f_beta_name(summary.beta);
    println!(
        "{} patch(es), reference scheme {}",
        summary.patches, summary.reference_scheme
    );
    println!(
        "{:<24} {:>10} {:>8} {:>8} {:>10} {:>10} {:>10} {:>9}",
        "predictor",
        "pixels",
        "OA",
        "kappa",
        "BOA cloud",
        "BOA shadow",
        "BOA valid",
        format!("{fb} cloud")
    );
    for p in &summary.predictors {
        let boa = |problem| number(p.problem(problem).median_boa);
        println!(
            "{:<24} {:>10} {:>8} {:>8} {:>10} {:>10} {:>10} {:>9}",
            p.name,
            p.pixels,
            number(p.overall_accuracy),
            number(p.kappa),
            boa(Problem::Cloud),
            boa(Problem::Shadow),
            boa(Problem::Valid),
            number(p.problem(Problem::Cloud).pooled_f_beta)
        );
    }
    println!("(BOA: median over patches; {fb} cloud: all pixels pooled)");
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}
