//! The tools the `cloudmask` programs share that the library (and so GDAL and QGIS) never needs:
//! `split` (train/validation/test lists from a sample table) and `benchdoc` (writing measured
//! figures into docs/BENCHMARKS.md).

pub mod benchdoc;
pub mod split;
