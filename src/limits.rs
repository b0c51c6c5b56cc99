//! The documented limits on sizes, in one place (also the "Limits" table of docs/engine.md).
//!
//! Every size a caller or a file can choose (raster, tile, batch, context, threads, buffers,
//! blocks, cache) is checked against these before anything is allocated for it, so a hostile or
//! mistaken value is an error that names the value and the allowed range, never an abort, a
//! hang or a number that wraps. Each shell (CLI, C API, descriptor, pixel function, model card)
//! checks its own fields with [`check`], so the message names the field the user wrote; the
//! engine checks its request again with the same function where it starts.

use crate::error::{Error, Result};

/// Largest raster width or height the engine masks: 100 000 pixels is a 1 000 km side at 10 m,
/// ten Sentinel-2 tiles. The engine keeps one row of tiles of the raster's width in memory
/// (classes x tile x width x 8 bytes), so wider rasters are split or resampled first.
pub const MAX_RASTER_SIDE: u64 = 100_000;

/// Largest number of pixels of a raster the engine masks (its width times its height).
pub const MAX_RASTER_PIXELS: u64 = MAX_RASTER_SIDE * MAX_RASTER_SIDE;

/// Largest tile side (the card's `tile_size`, `--tile`, `cm_mask_options.tile`): one tile of
/// 4096 x 4096 pixels of 13 bands is 870 MB of network input.
pub const MAX_TILE: u64 = 4096;

/// Largest number of tiles per ONNX Runtime call (`--batch`, `cm_mask_options.batch`).
pub const MAX_BATCH: u64 = 1024;

/// Largest number of tile pixels in one ONNX Runtime call (batch x tile x tile): 2^26 pixels,
/// 256 tiles of 512 x 512, about 3.5 GB of input for 13 bands.
pub const MAX_BATCH_PIXELS: u64 = 1 << 26;

/// Largest context (halo) a card may ask for around each tile's core: half the largest tile.
pub const MAX_CONTEXT: u64 = MAX_TILE / 2;

/// Largest ONNX Runtime thread count an option may ask for (0 = all cores). Above the machine's
/// cores a model load caps the count; above this it is refused as a mistake.
pub const MAX_THREADS: u64 = 1024;

/// Largest valid-mask buffer radius in pixels (10 km at 10 m). The engine computes classes that
/// far around every window, so the radius bounds the work of a block too.
pub const MAX_BUFFER: u64 = 1024;

/// Smallest and largest block side of a virtual mask (descriptor `block`).
pub const MIN_BLOCK: u64 = 16;
pub const MAX_BLOCK: u64 = 8192;

/// Largest tile cache of a virtual mask in MiB (descriptor `cache_mb`): 64 GiB.
pub const MAX_CACHE_MB: u64 = 65_536;

/// `value` of `what` (as the user wrote it: `--batch`, `options->tile`, ...) when it lies in
/// `min..=max`, else an invalid-argument error that names both and the range. Signed input
/// (C's `int`, JSON numbers) is taken as `i128`, so nothing wraps before the comparison.
pub fn check(what: &str, value: impl Into<i128>, min: u64, max: u64) -> Result<u64> {
    let v: i128 = value.into();
    if v < min as i128 || v > max as i128 {
        return Err(Error::invalid(format!(
            "{what} {v} is out of range: it must be between {min} and {max}"
        )));
    }
    Ok(v as u64)
}

/// [`check`] for a `usize` (Rust callers' sizes).
pub fn check_usize(what: &str, value: usize, min: u64, max: u64) -> Result<usize> {
    check(what, value as u128 as i128, min, max).map(|v| v as usize)
}

/// A raster's size as an error when it exceeds [`MAX_RASTER_SIDE`] or [`MAX_RASTER_PIXELS`]:
/// checked when an input opens and again where the engine starts.
pub fn check_raster(name: &str, width: u64, height: u64) -> Result<()> {
    if width > MAX_RASTER_SIDE
        || height > MAX_RASTER_SIDE
        || width.saturating_mul(height) > MAX_RASTER_PIXELS
    {
        return Err(Error::input(format!(
            "{name} is {width} x {height} pixels, larger than cloudmask masks (at most {MAX_RASTER_SIDE} pixels a side): split it into parts (gdal_translate -srcwin) or resample it (--resolution)"
        )));
    }
    Ok(())
}

/// Memory for `n` values, or an error saying what it was for: a size that passed the limits can
/// still be more than this machine has, and that must not abort the host program.
pub fn try_vec<T: Clone>(n: usize, fill: T, what: &str) -> Result<Vec<T>> {
    let mut v = try_with_capacity(n, what)?;
    v.resize(n, fill);
    Ok(v)
}

/// An empty vector with room for `n` values, or an error saying what it was for.
pub fn try_with_capacity<T>(n: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::new(
            crate::error::ErrorKind::Internal,
            format!(
                "out of memory: {what} needs {} MB",
                (n as u128 * std::mem::size_of::<T>() as u128) >> 20
            ),
        )
    })?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_the_value_and_the_range_without_wrapping() {
        assert_eq!(check("--batch", 4, 1, MAX_BATCH).unwrap(), 4);
        let e = check("options->batch", i32::MAX, 1, MAX_BATCH).unwrap_err();
        assert_eq!(
            e.message,
            "options->batch 2147483647 is out of range: it must be between 1 and 1024"
        );
        let e = check("buffer", u64::MAX, 0, MAX_BUFFER).unwrap_err();
        assert!(e.message.contains("18446744073709551615"), "{e}");
        assert!(check("tile", -1, 1, MAX_TILE).is_err());
        assert!(check_raster("x", MAX_RASTER_SIDE, MAX_RASTER_SIDE).is_ok());
        assert!(check_raster("x", 1 << 32 | 1, 1).is_err());
        assert!(check_raster("x", 1_000_000, 1_000_000).is_err());
    }

    #[test]
    fn impossible_allocations_are_errors() {
        let e = try_vec(usize::MAX / 2, 0f64, "a test canvas").unwrap_err();
        assert!(
            e.message.starts_with("out of memory: a test canvas needs"),
            "{e}"
        );
        assert_eq!(try_vec(3, 1u8, "x").unwrap(), vec![1, 1, 1]);
    }
}
