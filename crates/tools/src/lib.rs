//! The tools the `cloudmask` programs share that the library (and so GDAL and QGIS) never needs:
//! `split` (train/validation/test lists from a sample table) and `benchdoc` (writing measured
//! figures into docs/BENCHMARKS.md), and `rng`, the seeded generator the splitter and the trainer
//! both draw from.

pub mod benchdoc;
pub mod rng;
pub mod split;
