//! Cutting rasters into model tiles and blending tile results back together.

pub mod blend;
pub mod cache;
pub mod grid;
pub mod mirror;

pub use cache::{TileCache, TileOutput};
pub use grid::{BlendGrid, TileRect, UKIS_OVERLAP};
