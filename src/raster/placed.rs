//! A caller's buffer that is one part of a larger raster (a chunk of a Dask array, with the halo
//! it carries): it answers for the whole raster's size and reads inside the part it holds, so
//! exact tiling masks a window of the part exactly as it would inside the whole raster.

use super::source::{BandSource, Block, MemorySource};
use crate::error::{Error, Result};

/// `inner` holds raster columns `x .. x + inner.width()` and rows `y .. y + inner.height()` of a
/// raster of `raster_width` x `raster_height` pixels.
pub struct Placed<'a> {
    inner: MemorySource<'a>,
    x: usize,
    y: usize,
    raster_width: usize,
    raster_height: usize,
}

impl<'a> Placed<'a> {
    /// Refuses a part that does not lie inside the raster.
    pub fn new(
        inner: MemorySource<'a>,
        x: usize,
        y: usize,
        raster_width: usize,
        raster_height: usize,
    ) -> Result<Self> {
        let (w, h) = (inner.width(), inner.height());
        crate::limits::check_raster("the raster", raster_width as u64, raster_height as u64)?;
        if x.checked_add(w).map_or(true, |end| end > raster_width)
            || y.checked_add(h).map_or(true, |end| end > raster_height)
        {
            return Err(Error::window(format!(
                "a buffer of {w} x {h} at ({x}, {y}) does not fit inside the {raster_width} x {raster_height} raster it is said to be part of"
            )));
        }
        Ok(Placed {
            inner,
            x,
            y,
            raster_width,
            raster_height,
        })
    }
}

impl BandSource for Placed<'_> {
    fn width(&self) -> usize {
        self.raster_width
    }
    fn height(&self) -> usize {
        self.raster_height
    }
    fn n_bands(&self) -> usize {
        self.inner.n_bands()
    }
    fn read(&mut self, x: usize, y: usize, w: usize, h: usize) -> Result<Block> {
        // The caller's halo checks make this unreachable; a clear error beats a wrong pixel.
        let (iw, ih) = (self.inner.width(), self.inner.height());
        if x < self.x || y < self.y || x + w > self.x + iw || y + h > self.y + ih {
            return Err(Error::window(format!(
                "the tiles read raster columns {x}..{} and rows {y}..{}, but the buffer holds only columns {}..{} and rows {}..{}: give it more halo",
                x + w,
                y + h,
                self.x,
                self.x + iw,
                self.y,
                self.y + ih
            )));
        }
        self.inner.read(x - self.x, y - self.y, w, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_raster_coordinates_and_refuses_outside_the_part() {
        // 1 band, 3 x 2 values 0..6 placed at (10, 20) in a 100 x 50 raster.
        let data: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let inner = MemorySource::new(&data, 1, 3, 2, None).unwrap();
        let mut p = Placed::new(inner, 10, 20, 100, 50).unwrap();
        assert_eq!((p.width(), p.height(), p.n_bands()), (100, 50, 1));
        let b = p.read(11, 21, 2, 1).unwrap();
        assert_eq!(b.data, vec![4.0, 5.0]);
        let e = p.read(9, 20, 2, 1).err().unwrap();
        assert!(e.message.contains("columns 9..11"), "{}", e.message);
        let inner = MemorySource::new(&data, 1, 3, 2, None).unwrap();
        let e = Placed::new(inner, 98, 0, 100, 50).err().unwrap();
        assert!(e.message.contains("does not fit"), "{}", e.message);
    }
}
