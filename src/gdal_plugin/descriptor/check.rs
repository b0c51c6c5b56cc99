//! The descriptor's limits: its sizes and numbers within `crate::limits`, checked when a
//! descriptor is read (and the block size again when a mask opens).

use super::Descriptor;
use crate::error::{Error, Result};
use crate::limits::{self, MAX_BLOCK, MAX_CACHE_MB, MAX_RASTER_SIDE, MAX_THREADS, MIN_BLOCK};
use crate::raster::scaling::{check_digital_numbers, DEFAULT_QUANTIFICATION};
use crate::raster::Scaling;

impl Descriptor {
    /// Sizes and numbers within the documented limits (`crate::limits`), before anything is
    /// opened or allocated: a descriptor is a data file, and `"width": 4294967297` must not open
    /// as a 1-pixel raster, nor `"threads": 2000` start 2000 threads, nor a buffer wrap.
    pub(super) fn check_sizes(&self) -> Result<()> {
        limits::check_usize("threads", self.threads, 0, MAX_THREADS)?;
        limits::check_usize("block", self.block, MIN_BLOCK, MAX_BLOCK)?;
        limits::check_usize("cache_mb", self.cache_mb, 0, MAX_CACHE_MB)?;
        self.buffer.check()?;
        if self.width.is_some() || self.height.is_some() {
            let (w, h) = (self.width.unwrap_or(0), self.height.unwrap_or(0));
            limits::check_usize("width", w, 1, MAX_RASTER_SIDE)?;
            limits::check_usize("height", h, 1, MAX_RASTER_SIDE)?;
        }
        if let Scaling::DigitalNumbers { .. } = self.scaling {
            check_digital_numbers(
                self.quantification.unwrap_or(DEFAULT_QUANTIFICATION),
                self.dn_offset.unwrap_or(0.0),
            )?;
        }
        Ok(())
    }

    pub fn block(&self) -> Result<usize> {
        limits::check_usize("block", self.block, MIN_BLOCK, MAX_BLOCK)
            .map_err(|e| Error::invalid(format!("the mask descriptor: {}", e.message)))
    }
}
