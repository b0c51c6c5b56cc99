//! Cutting rasters into model tiles and putting tile results back together.

pub mod blend;
pub mod grid;
pub mod mirror;

pub use grid::{ExactGrid, TileRect, UkisGrid};
