//! Reading and writing band windows: the one checked path to GDALRasterIO, and the pixel types
//! it moves.

use super::cpl::take_last_error;
use super::Dataset;
use crate::error::{Error, ErrorKind, Result};
use gdal_sys as g;

impl Dataset {
    /// Reads a window of one band (1-based) into `out` (len w*h, row-major).
    pub fn read<T: Pixel>(
        &self,
        band: usize,
        x: usize,
        y: usize,
        w: usize,
        h: usize,
        out: &mut [T],
    ) -> Result<()> {
        self.read_resampled(band, (x, y, w, h), (w, h), out)
    }

    /// Reads a window `(x, y, w, h)` into a buffer of `buf_w` x `buf_h`; GDAL picks the nearest
    /// pixels when the buffer is smaller than the window (for quicklooks).
    pub fn read_resampled<T: Pixel>(
        &self,
        band: usize,
        window: (usize, usize, usize, usize),
        (buf_w, buf_h): (usize, usize),
        out: &mut [T],
    ) -> Result<()> {
        self.raster_io(
            band,
            Io::Read,
            window,
            (buf_w, buf_h),
            out.as_mut_ptr().cast(),
            out.len(),
            T::TYPE,
        )
    }

    /// Writes the window `(x, y, w, h)` of one band (1-based) from `data` (len w*h, row-major).
    pub fn write<T: Pixel>(
        &self,
        band: usize,
        (x, y, w, h): (usize, usize, usize, usize),
        data: &[T],
    ) -> Result<()> {
        self.raster_io(
            band,
            Io::Write,
            (x, y, w, h),
            (w, h),
            data.as_ptr() as *mut libc::c_void,
            data.len(),
            T::TYPE,
        )
    }

    /// The one checked path to GDALRasterIO: the window must lie inside the raster and the
    /// buffer must hold exactly buf_w x buf_h values of `pixel`.
    #[allow(clippy::too_many_arguments)]
    fn raster_io(
        &self,
        band: usize,
        io: Io,
        (x, y, w, h): (usize, usize, usize, usize),
        (buf_w, buf_h): (usize, usize),
        buf: *mut libc::c_void,
        buf_len: usize,
        pixel: PixelType,
    ) -> Result<()> {
        // The window lies inside the raster (whose sizes are C ints); the buffer's sizes, which
        // GDAL also takes as C ints, must not wrap either.
        let fits = i32::try_from(buf_w.max(buf_h)).is_ok();
        if !fits
            || x.saturating_add(w) > self.width()
            || y.saturating_add(h) > self.height()
            || Some(buf_len) != buf_w.checked_mul(buf_h)
        {
            return Err(Error::window(format!(
                "{} of {w}x{h} at ({x},{y}) does not fit {} ({}x{}) or its buffer",
                io.verb(),
                self.description,
                self.width(),
                self.height()
            )));
        }
        let b = self.band(band)?;
        let flag = match io {
            Io::Read => g::GDALRWFlag::GF_Read,
            Io::Write => g::GDALRWFlag::GF_Write,
        };
        // SAFETY: the buffer holds buf_w * buf_h values of `pixel` (checked above); the window
        // lies inside the raster.
        let err = unsafe {
            g::GDALRasterIO(
                b,
                flag,
                x as i32,
                y as i32,
                w as i32,
                h as i32,
                buf,
                buf_w as i32,
                buf_h as i32,
                pixel.gdal(),
                0,
                0,
            )
        };
        if err != g::CPLErr::CE_None {
            let kind = match io {
                Io::Read => ErrorKind::Input,
                Io::Write => ErrorKind::Output,
            };
            return Err(Error::new(
                kind,
                format!(
                    "{} band {band} of {} failed: {}",
                    io.verb(),
                    self.description,
                    take_last_error()
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Io {
    Read,
    Write,
}

impl Io {
    fn verb(self) -> &'static str {
        match self {
            Io::Read => "reading",
            Io::Write => "writing",
        }
    }
}

/// Rust types that are GDAL pixel types.
pub trait Pixel: Copy {
    const TYPE: PixelType;
}

impl Pixel for u8 {
    const TYPE: PixelType = PixelType::U8;
}

impl Pixel for f32 {
    const TYPE: PixelType = PixelType::F32;
}

/// Pixel types cloudmask reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelType {
    U8,
    F32,
}

impl PixelType {
    pub(crate) fn gdal(self) -> g::GDALDataType::Type {
        match self {
            PixelType::U8 => g::GDALDataType::GDT_Byte,
            PixelType::F32 => g::GDALDataType::GDT_Float32,
        }
    }

    /// GDAL's name of the type ("Byte", "Float32"), as VRTs and driver metadata spell it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PixelType::U8 => "Byte",
            PixelType::F32 => "Float32",
        }
    }
}
