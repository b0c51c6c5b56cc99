//! Training data: label schemes, sample lists, scenes read through the engine's raster layer,
//! and the patches and batches made from them.

pub mod labels;
pub mod patches;
pub mod samples;
pub mod scene;
