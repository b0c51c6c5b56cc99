//! From an [`EvalJob`] to the list of patches: which reference, image and prediction files
//! belong together. Only file names are looked at here; rasters are opened by `run`.
//!
//! - a reference raster: one patch; a predictor is a raster, or a folder holding a raster of
//!   the reference's name;
//! - a folder of references: one patch per raster in it (sorted by name); predictors and
//!   images are folders holding a raster of the same file name, or of the same stem with
//!   another raster extension;
//! - a list file (.csv, .tsv, .txt): a header line naming the columns `reference` (required),
//!   `id`, `image` and one column per predictor; one patch per line; relative paths are taken
//!   from the list file's folder; `#` starts a comment line. Cells are separated by commas
//!   (tabs in .tsv) and may be quoted as in RFC 4180.

use super::job::{EvalJob, PredictorSource, PredictorSpec};
use crate::error::{Error, Result};
use crate::records::{self, Record};
use std::path::{Path, PathBuf};

/// Extensions taken as rasters in folders.
const RASTER_EXTENSIONS: [&str; 6] = ["tif", "tiff", "vrt", "img", "jp2", "png"];
const RESERVED_COLUMNS: [&str; 3] = ["id", "image", "reference"];

/// Where one predictor's mask of one patch comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prediction {
    Raster(PathBuf),
    /// Run this model on the patch's image.
    Model(String),
}

/// One reference raster and, per predictor (in the plan's order), its prediction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch {
    pub id: String,
    pub reference: PathBuf,
    pub image: Option<PathBuf>,
    pub predictions: Vec<Prediction>,
}

/// The patches and the predictors, in report order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub predictors: Vec<PredictorSpec>,
    pub patches: Vec<Patch>,
}

fn is_list_file(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref(),
        Some("csv" | "tsv" | "txt")
    )
}

/// Resolves the job's files into patches; fails when a file is missing or a predictor has no
/// mask for some patch, naming both.
pub fn plan(job: &EvalJob) -> Result<Plan> {
    let reference = Path::new(&job.reference);
    if !reference.exists() {
        return Err(Error::input(format!(
            "reference {} does not exist",
            reference.display()
        )));
    }
    let mut names = std::collections::HashSet::new();
    for p in &job.predictors {
        if !names.insert(p.name.as_str()) {
            return Err(Error::invalid(format!(
                "two predictors are named {}: give each its own name",
                p.name
            )));
        }
    }
    let plan = if reference.is_dir() {
        from_folder(job, reference)?
    } else if is_list_file(reference) {
        from_list(job, reference)?
    } else {
        from_file(job, reference)?
    };
    if plan.predictors.is_empty() {
        return Err(Error::invalid(
            "no predictor given: name at least one prediction raster, folder or model:<name>",
        ));
    }
    if plan.patches.is_empty() {
        return Err(Error::input(format!(
            "{} holds no reference raster (looked for .{} files)",
            reference.display(),
            RASTER_EXTENSIONS.join(", .")
        )));
    }
    Ok(plan)
}

fn no_column(p: &PredictorSpec) -> Error {
    Error::invalid(format!(
        "predictor {} names no source: give NAME=raster, NAME=folder or NAME=model:<name> (a name alone is a list file's column)",
        p.name
    ))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// The raster in `folder` that goes with `reference`: the same file name, else the same stem
/// with a raster extension.
fn match_in(folder: &Path, reference: &Path) -> Option<PathBuf> {
    let same = folder.join(reference.file_name()?);
    if same.is_file() {
        return Some(same);
    }
    let stem = stem(reference);
    RASTER_EXTENSIONS
        .iter()
        .map(|e| folder.join(format!("{stem}.{e}")))
        .find(|p| p.is_file())
}

fn require_match(folder: &Path, reference: &Path, what: &str) -> Result<PathBuf> {
    match_in(folder, reference).ok_or_else(|| {
        Error::input(format!(
            "{what}: folder {} has no raster for reference {} (looked for {} and {}.{{{}}})",
            folder.display(),
            reference.display(),
            reference.file_name().unwrap_or_default().to_string_lossy(),
            stem(reference),
            RASTER_EXTENSIONS.join(",")
        ))
    })
}

fn existing(path: PathBuf, what: &str) -> Result<PathBuf> {
    if path.exists() {
        Ok(path)
    } else {
        Err(Error::input(format!(
            "{what} {} does not exist",
            path.display()
        )))
    }
}

/// A predictor's mask for one reference, for file and folder modes.
fn prediction_for(p: &PredictorSpec, reference: &Path, single: bool) -> Result<Prediction> {
    match &p.source {
        PredictorSource::Model(m) => Ok(Prediction::Model(m.clone())),
        PredictorSource::Column => Err(no_column(p)),
        PredictorSource::Rasters(path) if path.is_dir() => Ok(Prediction::Raster(
            require_match(path, reference, &format!("predictor {}", p.name))?,
        )),
        PredictorSource::Rasters(path) if single => Ok(Prediction::Raster(existing(
            path.clone(),
            &format!("prediction of {}", p.name),
        )?)),
        PredictorSource::Rasters(path) => Err(Error::invalid(format!(
            "predictor {}: {} is not a folder, but the references are a folder; give a folder of predictions named like the references",
            p.name,
            path.display()
        ))),
    }
}

fn image_for(job: &EvalJob, reference: &Path, single: bool) -> Result<Option<PathBuf>> {
    let Some(images) = &job.images else {
        return Ok(None);
    };
    let images = Path::new(images);
    if images.is_dir() {
        return require_match(images, reference, "images").map(Some);
    }
    if !single {
        return Err(Error::invalid(format!(
            "images {} is not a folder, but the references are a folder",
            images.display()
        )));
    }
    existing(images.to_path_buf(), "image").map(Some)
}

fn from_file(job: &EvalJob, reference: &Path) -> Result<Plan> {
    let predictions = job
        .predictors
        .iter()
        .map(|p| prediction_for(p, reference, true))
        .collect::<Result<_>>()?;
    Ok(Plan {
        predictors: job.predictors.clone(),
        patches: vec![Patch {
            id: stem(reference),
            reference: reference.to_path_buf(),
            image: image_for(job, reference, true)?,
            predictions,
        }],
    })
}

fn from_folder(job: &EvalJob, folder: &Path) -> Result<Plan> {
    let mut references: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| Error::input(format!("cannot list {}: {e}", folder.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| RASTER_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    references.sort();
    let mut patches = Vec::new();
    for reference in references {
        let predictions = job
            .predictors
            .iter()
            .map(|p| prediction_for(p, &reference, false))
            .collect::<Result<_>>()?;
        patches.push(Patch {
            id: stem(&reference),
            image: image_for(job, &reference, false)?,
            reference,
            predictions,
        });
    }
    Ok(Plan {
        predictors: job.predictors.clone(),
        patches,
    })
}

fn from_list(job: &EvalJob, list: &Path) -> Result<Plan> {
    let base = list.parent().unwrap_or(Path::new("."));
    let text = std::fs::read_to_string(list)
        .map_err(|e| Error::input(format!("cannot read list file {}: {e}", list.display())))?;
    let tsv = list
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    let name = format!("list file {}", list.display());
    let mut lines = records::read(&text, if tsv { b'\t' } else { b',' }, true, &name)?.into_iter();
    let columns = lines
        .next()
        .ok_or_else(|| Error::input(format!("{name} is empty")))?
        .cells;
    let column = |name: &str| columns.iter().position(|c| c == name);
    let reference_col = column("reference").ok_or_else(|| {
        Error::input(format!(
            "list file {}: the header ({}) has no 'reference' column",
            list.display(),
            columns.join(",")
        ))
    })?;
    let predictors: Vec<PredictorSpec> = if job.predictors.is_empty() {
        columns
            .iter()
            .filter(|c| !RESERVED_COLUMNS.contains(&c.as_str()))
            .map(|c| PredictorSpec::new(c, None, None))
            .collect::<Result<_>>()?
    } else {
        job.predictors.clone()
    };
    for p in &predictors {
        if p.source == PredictorSource::Column && column(&p.name).is_none() {
            return Err(Error::invalid(format!(
                "list file {} has no column '{}' (columns: {})",
                list.display(),
                p.name,
                columns.join(", ")
            )));
        }
    }
    let mut patches = Vec::new();
    for Record {
        line: number,
        cells,
    } in lines
    {
        if cells.len() != columns.len() {
            return Err(Error::input(format!(
                "list file {} line {number} has {} cells but the header has {}",
                list.display(),
                cells.len(),
                columns.len()
            )));
        }
        let path = |i: usize| -> Option<PathBuf> {
            let cell = &cells[i];
            (!cell.is_empty()).then(|| base.join(cell))
        };
        let where_ = format!("list file {} line {number}", list.display());
        let reference = existing(
            path(reference_col).ok_or_else(|| Error::input(format!("{where_}: no reference")))?,
            &format!("{where_}: reference"),
        )?;
        let image = match column("image").and_then(path) {
            Some(p) => Some(existing(p, &format!("{where_}: image"))?),
            None => image_for(job, &reference, false)?,
        };
        let mut predictions = Vec::new();
        for p in &predictors {
            predictions.push(match &p.source {
                PredictorSource::Column => {
                    let cell = column(&p.name).and_then(path).ok_or_else(|| {
                        Error::input(format!("{where_}: no prediction for {}", p.name))
                    })?;
                    Prediction::Raster(existing(
                        cell,
                        &format!("{where_}: prediction of {}", p.name),
                    )?)
                }
                _ => prediction_for(p, &reference, false)?,
            });
        }
        let id = column("id")
            .map(|i| cells[i].to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| stem(&reference));
        patches.push(Patch {
            id,
            reference,
            image,
            predictions,
        });
    }
    Ok(Plan {
        predictors,
        patches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scratch(PathBuf);
    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let p =
                std::env::temp_dir().join(format!("cloudmask-pairs-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Scratch(p)
        }
        fn touch(&self, name: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"").unwrap();
            p
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Planning `job` fails with a message that holds every one of `parts`.
    fn fails(job: &EvalJob, parts: &[&str]) {
        let e = super::plan(job).unwrap_err();
        for part in parts {
            assert!(e.message.contains(part), "{part:?} not in: {}", e.message);
        }
    }

    #[test]
    fn folders_pair_by_file_name_or_stem() {
        let s = Scratch::new("folders");
        s.touch("ref/a.tif");
        s.touch("ref/b.tif");
        s.touch("ref/notes.md");
        s.touch("pred/a.tif");
        s.touch("pred/b.vrt");
        s.touch("img/a.tif");
        s.touch("img/b.tif");
        let mut job = EvalJob::new(s.0.join("ref").to_str().unwrap());
        job.images = Some(s.0.join("img").to_string_lossy().into_owned());
        job.predictors = vec![
            PredictorSpec::parse(&format!("p={}", s.0.join("pred").display())).unwrap(),
            PredictorSpec::parse("m=model:ukis-6b-l1c").unwrap(),
        ];
        let plan = plan(&job).unwrap();
        let ids: Vec<&str> = plan.patches.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(
            plan.patches[1].predictions,
            vec![
                Prediction::Raster(s.0.join("pred/b.vrt")),
                Prediction::Model("ukis-6b-l1c".into())
            ]
        );
        assert_eq!(plan.patches[1].image, Some(s.0.join("img/b.tif")));

        std::fs::remove_file(s.0.join("pred/b.vrt")).unwrap();
        fails(&job, &["predictor p: folder", "b.tif"]);
    }

    #[test]
    fn list_files_name_their_predictors_in_the_header() {
        let s = Scratch::new("list");
        s.touch("r1.tif");
        s.touch("p1.tif");
        s.touch("q1.tif");
        let list = s.0.join("pairs.csv");
        std::fs::write(
            &list,
            "# pairs\nid,reference,fmask,sen2cor\n\n\"first, quoted\",r1.tif , p1.tif,q1.tif\n",
        )
        .unwrap();
        let job = EvalJob::new(list.to_str().unwrap());
        let plan = plan(&job).unwrap();
        let names: Vec<&str> = plan.predictors.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["fmask", "sen2cor"]);
        assert_eq!(plan.patches[0].id, "first, quoted");
        assert_eq!(
            plan.patches[0].predictions[1],
            Prediction::Raster(s.0.join("q1.tif"))
        );

        let mut named = EvalJob::new(list.to_str().unwrap());
        named.predictors = vec![PredictorSpec::parse("kappamask").unwrap()];
        fails(&named, &["no column 'kappamask'"]);

        std::fs::write(&list, "reference,fmask\n\nr1.tif,missing.tif\n").unwrap();
        fails(&job, &["line 3: prediction of fmask", "missing.tif"]);
    }

    #[test]
    fn single_files_and_missing_inputs() {
        let s = Scratch::new("single");
        let r = s.touch("r.tif");
        let mut job = EvalJob::new(r.to_str().unwrap());
        fails(&job, &["no predictor given"]);
        job.predictors = vec![PredictorSpec::parse("x=nowhere.tif").unwrap()];
        fails(&job, &["prediction of x nowhere.tif does not exist"]);
        fails(
            &EvalJob::new("nowhere/ref.tif"),
            &["reference nowhere/ref.tif does not exist"],
        );
        job.predictors = vec![
            PredictorSpec::parse(&format!("x={}", r.display())).unwrap(),
            PredictorSpec::parse(&format!("x={}", r.display())).unwrap(),
        ];
        fails(&job, &["two predictors are named x"]);
    }
}
