//! Raster input and output through GDAL.

pub mod bandmap;
pub mod crs;
pub mod format;
pub mod gdal;
pub mod grid;
pub mod input;
pub mod mosaic;
pub mod output_check;
pub mod placed;
pub mod product;
pub mod products;
pub mod quicklook;
pub mod scaling;
pub mod source;
pub mod stack;
pub mod staging;
pub mod writer;

pub use bandmap::BandSelection;
pub use gdal::Dataset;
pub use input::{Input, Raster, Reading};
pub use placed::Placed;
pub use product::{Product, Products};
pub use scaling::Scaling;
pub use source::{BandSource, Block, Cropped, GdalSource, MemorySource};
