//! A small RGB pixel buffer to draw figures on (rectangles, dots, lines, bitmap text), written
//! as PNG through GDAL's PNG driver.

use super::font;
use crate::error::Result;
use crate::raster::quicklook::write_rgb_png;
use std::path::Path;

pub type Rgb = [u8; 3];

pub const WHITE: Rgb = [255, 255, 255];
pub const BLACK: Rgb = [0, 0, 0];
pub const GREY: Rgb = [200, 200, 200];

pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pixels: Vec<Rgb>,
}

impl Canvas {
    pub fn new(width: usize, height: usize, background: Rgb) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![background; width * height],
        }
    }

    pub fn pixel(&self, x: usize, y: usize) -> Rgb {
        self.pixels[y * self.width + x]
    }

    /// A filled rectangle, clipped to the canvas.
    pub fn fill(&mut self, x: i64, y: i64, w: i64, h: i64, colour: Rgb) {
        let x0 = x.clamp(0, self.width as i64) as usize;
        let y0 = y.clamp(0, self.height as i64) as usize;
        let x1 = (x + w).clamp(0, self.width as i64) as usize;
        let y1 = (y + h).clamp(0, self.height as i64) as usize;
        for row in y0..y1 {
            self.pixels[row * self.width + x0..row * self.width + x1].fill(colour);
        }
    }

    /// A rectangle's outline, one pixel wide.
    pub fn outline(&mut self, x: i64, y: i64, w: i64, h: i64, colour: Rgb) {
        self.fill(x, y, w, 1, colour);
        self.fill(x, y + h - 1, w, 1, colour);
        self.fill(x, y, 1, h, colour);
        self.fill(x + w - 1, y, 1, h, colour);
    }

    /// A filled disc of radius `r`.
    pub fn disc(&mut self, cx: i64, cy: i64, r: i64, colour: Rgb) {
        for dy in -r..=r {
            for dx in -r..=r {
                if dx * dx + dy * dy <= r * r {
                    self.fill(cx + dx, cy + dy, 1, 1, colour);
                }
            }
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    pub fn text_width(text: &str, scale: usize) -> i64 {
        let n = text.chars().count();
        if n == 0 {
            0
        } else {
            ((n * font::ADVANCE - 1) * scale) as i64
        }
    }

    /// Height in pixels of a line of text at `scale`.
    pub fn text_height(scale: usize) -> i64 {
        (font::HEIGHT * scale) as i64
    }

    /// Draws `text` with its top-left corner at (x, y); returns the width drawn.
    pub fn text(&mut self, x: i64, y: i64, text: &str, scale: usize, colour: Rgb) -> i64 {
        let s = scale as i64;
        for (i, c) in text.chars().enumerate() {
            let left = x + (i * font::ADVANCE) as i64 * s;
            for (row, bits) in font::glyph(c).iter().enumerate() {
                for (col, bit) in bits.bytes().enumerate() {
                    if bit == b'#' {
                        self.fill(left + col as i64 * s, y + row as i64 * s, s, s, colour);
                    }
                }
            }
        }
        Canvas::text_width(text, scale)
    }

    /// Text centred on `cx`.
    pub fn text_centred(&mut self, cx: i64, y: i64, text: &str, scale: usize, colour: Rgb) {
        let w = Canvas::text_width(text, scale);
        self.text(cx - w / 2, y, text, scale, colour);
    }

    /// Writes an RGB PNG: a hidden temporary file beside `path`, renamed when complete.
    pub fn write_png(&self, path: &Path) -> Result<()> {
        let planes: Vec<Vec<u8>> = (0..3)
            .map(|band| self.pixels.iter().map(|p| p[band]).collect())
            .collect();
        write_rgb_png(path, &planes, self.width, self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_clip_and_text_inks_its_glyphs() {
        let mut c = Canvas::new(20, 10, WHITE);
        c.fill(-5, -5, 8, 8, BLACK);
        assert_eq!(c.pixel(2, 2), BLACK);
        assert_eq!(c.pixel(3, 3), WHITE);
        c.fill(15, 5, 100, 100, GREY);
        assert_eq!(c.pixel(19, 9), GREY);
        let mut t = Canvas::new(12, 7, WHITE);
        assert_eq!(t.text(0, 0, "1", 1, BLACK), 5);
        // '1' is "..#.." on its first row.
        assert_eq!(t.pixel(2, 0), BLACK);
        assert_eq!(t.pixel(0, 0), WHITE);
        assert_eq!(Canvas::text_width("ab", 2), 22);
    }
}
