//! What to evaluate: the reference, the predictors, their class schemes and options. The CLI, the
//! C API and the QGIS plugin all fill in an [`EvalJob`].

use crate::engine::MaskOptions;
use crate::error::{Error, Result};
use crate::model::ModelOptions;
use crate::raster::Reading;
use std::path::PathBuf;

/// The β of the default F-beta score (CNES's F2: recall weighted more than precision).
pub const DEFAULT_BETA: f64 = 2.0;

/// The scheme assumed when none is given (cloudmask's own class maps).
pub const DEFAULT_SCHEME: &str = "cloudmask";

/// Where one predictor's class maps come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PredictorSource {
    /// A raster (one pair) or a folder of rasters matched to the references by file name.
    Rasters(PathBuf),
    /// A model run on the fly on each pair's image (`model:<name or .onnx path>`).
    Model(String),
    /// The list file's column with the predictor's name.
    Column,
}

impl PredictorSource {
    /// `model:<name>`, a path, or nothing (the list file's column).
    pub fn parse(source: Option<&str>) -> Result<PredictorSource> {
        match source.map(str::trim) {
            None | Some("") => Ok(PredictorSource::Column),
            Some(s) => match s.strip_prefix("model:") {
                Some("") => Err(Error::invalid(
                    "'model:' needs a model name, e.g. model:ukis-6b-l1c",
                )),
                Some(m) => Ok(PredictorSource::Model(m.to_string())),
                None => Ok(PredictorSource::Rasters(PathBuf::from(s))),
            },
        }
    }

    pub fn describe(&self) -> String {
        match self {
            PredictorSource::Rasters(p) => p.display().to_string(),
            PredictorSource::Model(m) => format!("model:{m}"),
            PredictorSource::Column => "list file column".to_string(),
        }
    }
}

/// One predictor: a name for the reports, where its masks come from, and their class scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictorSpec {
    pub name: String,
    pub source: PredictorSource,
    /// A scheme name, inline mapping or JSON file (see `mapping`); `None` = cloudmask's codes.
    pub scheme: Option<String>,
}

impl PredictorSpec {
    pub fn new(name: &str, source: Option<&str>, scheme: Option<&str>) -> Result<PredictorSpec> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::invalid("a predictor needs a name"));
        }
        if name.contains([',', '\n', '\t', '"', '|']) {
            return Err(Error::invalid(format!(
                "predictor name '{name}' may not contain commas, tabs, quotes, '|' or line breaks"
            )));
        }
        PredictorSpec {
            name: name.to_string(),
            source: PredictorSource::parse(source)?,
            scheme: None,
        }
        .with_scheme(scheme)
    }

    /// The same predictor with its masks read in another class scheme (`None`: cloudmask's).
    pub fn with_scheme(mut self, scheme: Option<&str>) -> Result<PredictorSpec> {
        let scheme = scheme.map(str::trim).filter(|s| !s.is_empty());
        if let (PredictorSource::Model(m), Some(s)) = (&self.source, scheme) {
            if s != DEFAULT_SCHEME {
                return Err(Error::invalid(format!(
                    "predictor {} runs model {m}, whose output is always in cloudmask's codes; leave out its scheme ('{s}')",
                    self.name
                )));
            }
        }
        self.scheme = scheme.map(str::to_string);
        Ok(self)
    }

    /// `NAME=SOURCE` (a raster, a folder, `model:<name>`) or `NAME` alone (a list file column).
    pub fn parse(spec: &str) -> Result<PredictorSpec> {
        match spec.split_once('=') {
            Some((name, source)) => PredictorSpec::new(name, Some(source), None),
            None => PredictorSpec::new(spec, None, None),
        }
    }
}

/// An evaluation: reference rasters against one or more predictors.
#[derive(Debug, Clone)]
pub struct EvalJob {
    /// A reference raster, a folder of reference rasters, or a list file of pairs (.csv, .tsv
    /// or .txt with a header: `reference`, optional `id` and `image`, one column per predictor).
    pub reference: String,
    /// The references' class scheme (see `mapping`); `None` = cloudmask's codes.
    pub reference_scheme: Option<String>,
    /// Images for `model:` predictors: a raster (one pair) or a folder matched by file name.
    /// A list file's `image` column takes precedence.
    pub images: Option<String>,
    /// Empty with a list file: every column other than id, image and reference.
    pub predictors: Vec<PredictorSpec>,
    /// β of the F-beta scores.
    pub beta: f64,
    /// For `model:` predictors.
    pub model_options: ModelOptions,
    pub mask_options: MaskOptions,
    /// How `model:` predictors read the images (bands, scaling, nodata); at their native
    /// resolution, since masks are compared with the references pixel for pixel.
    pub reading: Reading,
}

impl EvalJob {
    pub fn new(reference: &str) -> EvalJob {
        EvalJob {
            reference: reference.to_string(),
            reference_scheme: None,
            images: None,
            predictors: Vec::new(),
            beta: DEFAULT_BETA,
            model_options: ModelOptions::default(),
            mask_options: MaskOptions::default(),
            reading: Reading::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictor_specs() {
        let p = PredictorSpec::parse("ukis=reference/ukis_6b_l1c.tif").unwrap();
        assert_eq!(p.name, "ukis");
        assert_eq!(
            p.source,
            PredictorSource::Rasters("reference/ukis_6b_l1c.tif".into())
        );
        let m = PredictorSpec::parse("ours=model:ukis-6b-l1c").unwrap();
        assert_eq!(m.source, PredictorSource::Model("ukis-6b-l1c".into()));
        assert_eq!(
            PredictorSpec::parse("fmask").unwrap().source,
            PredictorSource::Column
        );
        for (bad, needle) in [
            ("=x.tif", "needs a name"),
            ("a,b=x.tif", "may not contain commas"),
            ("m=model:", "needs a model name"),
        ] {
            let e = PredictorSpec::parse(bad).unwrap_err();
            assert!(e.message.contains(needle), "{bad}: {}", e.message);
        }
        let e = PredictorSpec::new("m", Some("model:x"), Some("ukis")).unwrap_err();
        assert!(
            e.message.contains("always in cloudmask's codes"),
            "{}",
            e.message
        );
    }
}
