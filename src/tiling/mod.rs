//! Cutting rasters into model tiles and blending tile results back together.

pub mod blend;
pub mod grid;
pub mod mirror;

pub use grid::{BlendGrid, TileRect, UKIS_OVERLAP};
