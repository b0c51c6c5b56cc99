//! Active learning (`cloudmask select`): ranks candidate tiles of unlabelled scenes by model
//! uncertainty and picks the top k with spatial diversity, written as tile windows (GeoJSON and
//! a CSV list) for a labelling tool such as CVAT.
//!
//! scene → candidate grid (`grid`) → probabilities per strip (`score`, through the engine) →
//! per-pixel uncertainty (`uncertainty`) → per-tile mean → diverse top k (`diversity`) →
//! `geojson`, `list`. The CLI, the C API (`cm_select_tiles`) and the QGIS algorithm all call
//! [`run`].

pub mod diversity;
pub mod geojson;
pub mod grid;
pub mod list;
pub mod score;
pub mod uncertainty;

pub use score::Models;
pub use uncertainty::Measure;

use crate::engine::MaskOptions;
use crate::error::{Error, Result};
use crate::raster::crs::authority_code;
use crate::raster::writer::{check_writable, Georef};
use crate::raster::Reading;
use crate::scene::StageProgress;
use diversity::Window;
use grid::Grid;
use std::path::{Path, PathBuf};

/// The candidate tile size used when none is given (KappaMask labels 512 x 512 tiles).
pub const DEFAULT_TILE: usize = 512;
pub const DEFAULT_COUNT: usize = 10;
pub const DEFAULT_MIN_VALID: f64 = 0.5;

#[derive(Debug, Clone)]
pub struct SelectOptions {
    pub measure: Measure,
    /// Side of the candidate tiles, pixels.
    pub tile: usize,
    /// Step between candidates; `None` = the tile size (a grid without overlap). Must divide
    /// the tile.
    pub stride: Option<usize>,
    /// How many tiles to choose.
    pub count: usize,
    /// Least gap between chosen tiles of a scene, pixels; `None` = one tile (no two chosen tiles
    /// are neighbours). 0 allows touching tiles; chosen tiles never overlap.
    pub min_gap: Option<usize>,
    /// Candidates with a smaller fraction of valid (not nodata) pixels are not ranked.
    pub min_valid: f64,
    /// How the model runs (batch, tile size, threads through the model). Tiling is always exact.
    pub mask: MaskOptions,
    /// How every scene is read (bands, scaling, nodata); its resolution must stay native, since
    /// the selected windows are the scenes' own pixels.
    pub reading: Reading,
}

impl Default for SelectOptions {
    fn default() -> Self {
        SelectOptions {
            measure: Measure::Entropy,
            tile: DEFAULT_TILE,
            stride: None,
            count: DEFAULT_COUNT,
            min_gap: None,
            min_valid: DEFAULT_MIN_VALID,
            mask: MaskOptions::default(),
            reading: Reading::default(),
        }
    }
}

impl SelectOptions {
    pub fn stride(&self) -> usize {
        self.stride.unwrap_or(self.tile)
    }

    pub fn min_gap(&self) -> usize {
        self.min_gap.unwrap_or(self.tile)
    }

    fn check(&self, models: Models) -> Result<()> {
        if self.tile == 0 {
            return Err(Error::invalid("the tile size must be at least 1 pixel"));
        }
        if self.count == 0 {
            return Err(Error::invalid(
                "the number of tiles to select must be at least 1",
            ));
        }
        if !(0.0..=1.0).contains(&self.min_valid) {
            return Err(Error::invalid(format!(
                "min_valid {} must be a fraction between 0 and 1",
                self.min_valid
            )));
        }
        if self.reading.resolution.is_some() {
            return Err(Error::invalid(
                "tiles are selected on the scenes' own pixels: read them at their native resolution (no resolution)",
            ));
        }
        match (self.measure, models.second) {
            (Measure::Disagreement, None) => Err(Error::invalid(
                "the disagreement measure compares two models: give a second model",
            )),
            (Measure::Entropy | Measure::Margin, Some(m)) => Err(Error::invalid(format!(
                "a second model ({}) is only used by the disagreement measure, not by {}",
                m.name(),
                self.measure
            ))),
            _ => Ok(()),
        }
    }
}

/// A scored candidate tile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Index into [`Selection::scenes`].
    pub scene: usize,
    pub x: usize,
    pub y: usize,
    pub size: usize,
    /// Mean uncertainty over its valid pixels, 0..1.
    pub score: f64,
    pub valid_fraction: f64,
}

#[derive(Debug, Clone)]
pub struct SceneInfo {
    pub path: String,
    pub width: usize,
    pub height: usize,
    pub georef: Georef,
    /// "EPSG:32633" when GDAL knows the code.
    pub crs: Option<String>,
}

/// Every ranked candidate and the chosen ones.
#[derive(Debug, Clone)]
pub struct Selection {
    pub measure: Measure,
    pub scenes: Vec<SceneInfo>,
    /// Candidates with enough valid pixels, in scene and grid order.
    pub candidates: Vec<Candidate>,
    /// Indices into `candidates`, best first.
    pub selected: Vec<usize>,
    /// Candidates left out for having too few valid pixels.
    pub skipped: usize,
    pub warnings: Vec<String>,
}

impl Selection {
    /// Mean score of all ranked candidates.
    pub fn mean_all(&self) -> f64 {
        mean(self.candidates.iter().map(|c| c.score))
    }

    /// Mean score of the chosen tiles.
    pub fn mean_selected(&self) -> f64 {
        mean(self.selected.iter().map(|&i| self.candidates[i].score))
    }
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        sum / n as f64
    }
}

/// What to select from and where to write it.
#[derive(Debug, Clone)]
pub struct SelectJob {
    pub inputs: Vec<String>,
    pub options: SelectOptions,
    pub geojson: Option<PathBuf>,
    pub list: Option<PathBuf>,
}

/// Selects and writes the outputs: everything that can be checked (outputs, models, bands,
/// sizes, CRSs) is checked before any model runs, and the files appear only when complete.
pub fn run(
    models: Models,
    job: &SelectJob,
    progress: StageProgress,
) -> Result<(Selection, Vec<PathBuf>)> {
    if job.geojson.is_none() && job.list.is_none() {
        return Err(Error::invalid(
            "no output requested: give a GeoJSON path, a list path, or both",
        ));
    }
    for path in job.geojson.iter().chain(&job.list) {
        check_writable(path)?;
    }
    let mut opened = open_all(models, &job.inputs, &job.options)?;
    if job.geojson.is_some() {
        geojson::check_one_crs(&placeholder(&opened))?;
    }
    let selection = select_opened(models, &mut opened, &job.options, progress)?;
    let written = write_outputs(&selection, job.geojson.as_deref(), job.list.as_deref())?;
    Ok((selection, written))
}

/// Selects without writing anything.
pub fn select_tiles(
    models: Models,
    inputs: &[String],
    options: &SelectOptions,
    progress: StageProgress,
) -> Result<Selection> {
    let mut opened = open_all(models, inputs, options)?;
    select_opened(models, &mut opened, options, progress)
}

struct Opened {
    info: SceneInfo,
    scene: score::OpenScene,
    grid: Grid,
}

fn open_all(models: Models, inputs: &[String], options: &SelectOptions) -> Result<Vec<Opened>> {
    options.check(models)?;
    if inputs.is_empty() {
        return Err(Error::invalid("no scene given to select tiles from"));
    }
    inputs
        .iter()
        .map(|path| {
            let scene = score::open_scene(path, &options.reading, models)?;
            let grid = Grid::new(
                scene.width,
                scene.height,
                options.tile,
                options.stride(),
                path,
            )?;
            let info = SceneInfo {
                path: path.clone(),
                width: scene.width,
                height: scene.height,
                crs: authority_code(&scene.georef.projection),
                georef: scene.georef.clone(),
            };
            Ok(Opened { info, scene, grid })
        })
        .collect()
}

/// A selection with the scenes only, for checks made before scoring.
fn placeholder(opened: &[Opened]) -> Selection {
    Selection {
        measure: Measure::Entropy,
        scenes: opened.iter().map(|o| o.info.clone()).collect(),
        candidates: Vec::new(),
        selected: Vec::new(),
        skipped: 0,
        warnings: Vec::new(),
    }
}

fn select_opened(
    models: Models,
    opened: &mut [Opened],
    options: &SelectOptions,
    progress: StageProgress,
) -> Result<Selection> {
    let mut candidates = Vec::new();
    let mut skipped = 0;
    let n_scenes = opened.len();
    for (k, o) in opened.iter_mut().enumerate() {
        let mut inner = |f: f64| progress((k as f64 + f) / n_scenes as f64, "scoring");
        let cells = score::score_scene(
            &mut o.scene,
            models,
            options.measure,
            o.grid,
            &options.mask,
            &mut inner,
        )?;
        for iy in 0..o.grid.ny {
            for ix in 0..o.grid.nx {
                let (score, valid_fraction) = cells.tile(ix, iy);
                if valid_fraction < options.min_valid || score.is_nan() {
                    skipped += 1;
                    continue;
                }
                let (x, y) = o.grid.origin(ix, iy);
                candidates.push(Candidate {
                    scene: k,
                    x,
                    y,
                    size: o.grid.tile,
                    score,
                    valid_fraction,
                });
            }
        }
    }
    if candidates.is_empty() {
        return Err(Error::input(format!(
            "none of the {skipped} candidate tiles has at least {:.0} % valid (not nodata) pixels; lower the minimum valid fraction or check the scenes' nodata",
            100.0 * options.min_valid
        )));
    }
    let windows: Vec<Window> = candidates
        .iter()
        .map(|c| Window {
            scene: c.scene,
            x: c.x,
            y: c.y,
            size: c.size,
            score: c.score,
        })
        .collect();
    let selected = diversity::pick(&windows, options.count, options.min_gap());
    let mut warnings = Vec::new();
    if selected.len() < options.count {
        warnings.push(format!(
            "only {} of the {} requested tiles fit at least {} pixels apart among {} candidates; lower the gap or the tile size for more",
            selected.len(),
            options.count,
            options.min_gap(),
            candidates.len()
        ));
    }
    progress(1.0, "done");
    Ok(Selection {
        measure: options.measure,
        scenes: opened.iter().map(|o| o.info.clone()).collect(),
        candidates,
        selected,
        skipped,
        warnings,
    })
}

/// Writes the GeoJSON and/or the CSV list; each appears only when both are complete.
pub fn write_outputs(
    selection: &Selection,
    geojson: Option<&Path>,
    list: Option<&Path>,
) -> Result<Vec<PathBuf>> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    if let Some(p) = geojson {
        files.push((p.to_path_buf(), geojson::to_geojson(selection)?));
    }
    if let Some(p) = list {
        files.push((p.to_path_buf(), list::to_csv(selection)));
    }
    let temp = |p: &Path| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        p.with_file_name(format!(".{name}.cloudmask-{}.tmp", std::process::id()))
    };
    let cleanup = |files: &[(PathBuf, String)]| {
        for (p, _) in files {
            let _ = std::fs::remove_file(temp(p));
        }
    };
    let failed = |path: &PathBuf, e: std::io::Error| {
        cleanup(&files);
        Error::output(format!("cannot write {}: {e}", path.display()))
    };
    for (path, text) in &files {
        std::fs::write(temp(path), text).map_err(|e| failed(path, e))?;
    }
    for (path, _) in &files {
        std::fs::rename(temp(path), path).map_err(|e| failed(path, e))?;
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}
