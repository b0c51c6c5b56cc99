//! `cloudmask select`: the most uncertain tiles of unlabelled scenes for labelling (active
//! learning), spread apart, written as GeoJSON and/or a CSV list of pixel windows.

use crate::args::{choice, ModelArg, ReadArgs, RuntimeArgs};
use crate::mask::{load_model, model_options};
use crate::progress::ProgressBar;
use clap::Args;
use cloudmask::select::{run as select, Measure, Models, SelectJob, SelectOptions};
use cloudmask::{MaskOptions, Result};
use std::path::PathBuf;

#[derive(Args)]
pub struct SelectArgs {
    /// Unlabelled scenes to choose tiles from (rasters with the model's bands)
    #[arg(required = true)]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub model: ModelArg,
    /// The second model for --measure disagreement
    #[arg(long)]
    pub second_model: Option<String>,
    #[arg(long, value_parser = choice::<Measure>(), default_value_t = SelectOptions::default().measure)]
    pub measure: Measure,
    /// How many tiles to select
    #[arg(short = 'k', long, default_value_t = cloudmask::select::DEFAULT_COUNT)]
    pub count: usize,
    /// Side of the candidate tiles, pixels
    #[arg(long, default_value_t = cloudmask::select::DEFAULT_TILE)]
    pub tile: usize,
    /// Step between candidate tiles (must divide --tile; default: the tile size)
    #[arg(long)]
    pub stride: Option<usize>,
    /// Least gap in pixels between selected tiles of a scene (default: one tile, so no two are
    /// neighbours; 0 allows touching tiles; selected tiles never overlap)
    #[arg(long)]
    pub min_gap: Option<usize>,
    /// Candidates with a smaller fraction of valid (not nodata) pixels are skipped
    #[arg(long, default_value_t = cloudmask::select::DEFAULT_MIN_VALID)]
    pub min_valid: f64,
    /// Write the selected tiles as GeoJSON polygons (in the scenes' CRS)
    #[arg(long)]
    pub geojson: Option<PathBuf>,
    /// Write the selected tiles as CSV: scene,xoff,yoff,width,height,score
    #[arg(long)]
    pub list: Option<PathBuf>,
    /// Tiles per ONNX Runtime call
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// No progress bar
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub read: ReadArgs,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
}

pub fn run(a: SelectArgs) -> Result<()> {
    let runtime = model_options(&a.runtime);
    let first = load_model(&a.model.name, &runtime)?;
    let second = match &a.second_model {
        Some(name) => Some(load_model(name, &runtime)?),
        None => None,
    };
    let job = SelectJob {
        inputs: a.inputs.clone(),
        options: SelectOptions {
            measure: a.measure,
            tile: a.tile,
            stride: a.stride,
            count: a.count,
            min_gap: a.min_gap,
            min_valid: a.min_valid,
            mask: MaskOptions {
                batch: a.batch.max(1),
                ..MaskOptions::default()
            },
            reading: a.read.reading(None),
        },
        geojson: a.geojson.clone(),
        list: a.list.clone(),
    };
    let models = Models {
        first: &first,
        second: second.as_ref(),
    };
    let mut bar = ProgressBar::new(a.quiet);
    let (selection, written) = select(models, &job, &mut |f, stage| {
        bar.update(f, stage);
        true
    })?;
    for w in &selection.warnings {
        eprintln!("cloudmask: warning: {w}");
    }
    let measure = selection.measure.to_string();
    println!("rank  xoff   yoff   size  {measure:>12}  scene");
    for (rank, &i) in selection.selected.iter().enumerate() {
        let c = &selection.candidates[i];
        println!(
            "{:>4}  {:>5}  {:>5}  {:>4}  {:>12.4}  {}",
            rank + 1,
            c.x,
            c.y,
            c.size,
            c.score,
            selection.scenes[c.scene].path
        );
    }
    println!(
        "mean {measure}: {:.4} selected, {:.4} over all {} candidate tiles ({} skipped for nodata)",
        selection.mean_selected(),
        selection.mean_all(),
        selection.candidates.len(),
        selection.skipped
    );
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}
