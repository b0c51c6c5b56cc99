//! Candidate tiles and their scores. Candidates are `tile` × `tile` windows on a grid of step
//! `stride` (which divides the tile), all inside the raster. Pixel scores are summed into cells
//! of `stride` × `stride`, so a tile's mean is a sum over its cells whatever the overlap, and
//! memory stays one number per cell.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub tile: usize,
    pub stride: usize,
    /// Candidate positions across and down.
    pub nx: usize,
    pub ny: usize,
}

impl Grid {
    /// The grid of a `width` × `height` raster; `name` names it in messages.
    pub fn new(
        width: usize,
        height: usize,
        tile: usize,
        stride: usize,
        name: &str,
    ) -> Result<Grid> {
        if tile == 0 || stride == 0 || stride > tile || tile % stride != 0 {
            return Err(Error::invalid(format!(
                "stride {stride} must divide the tile size {tile} (e.g. {tile} or {})",
                tile / 2
            )));
        }
        if width < tile || height < tile {
            return Err(Error::window(format!(
                "{name} ({width} x {height}) is smaller than the {tile}-pixel candidate tile: choose a smaller tile size"
            )));
        }
        Ok(Grid {
            tile,
            stride,
            nx: (width - tile) / stride + 1,
            ny: (height - tile) / stride + 1,
        })
    }

    fn cells_per_tile(&self) -> usize {
        self.tile / self.stride
    }

    /// Cells across and down.
    fn cells(&self) -> (usize, usize) {
        let k = self.cells_per_tile();
        (self.nx - 1 + k, self.ny - 1 + k)
    }

    /// Width and height of the part of the raster any candidate covers (from the top left).
    pub fn covered(&self) -> (usize, usize) {
        let (cx, cy) = self.cells();
        (cx * self.stride, cy * self.stride)
    }

    /// Top-left pixel of candidate (`ix`, `iy`).
    pub fn origin(&self, ix: usize, iy: usize) -> (usize, usize) {
        (ix * self.stride, iy * self.stride)
    }
}

/// Score sums and valid-pixel counts per cell.
pub struct Cells {
    grid: Grid,
    sum: Vec<f64>,
    valid: Vec<u64>,
}

impl Cells {
    pub fn new(grid: Grid) -> Cells {
        let (cx, cy) = grid.cells();
        Cells {
            grid,
            sum: vec![0.0; cx * cy],
            valid: vec![0; cx * cy],
        }
    }

    /// Adds the scores of rows `y0 .. y0 + rows` (all covered columns, `width` of them, row by
    /// row); NaN scores (nodata) are not counted.
    pub fn add_rows(&mut self, y0: usize, width: usize, scores: &[f32]) {
        let (cx, _) = self.grid.cells();
        let s = self.grid.stride;
        for (r, row) in scores.chunks_exact(width).enumerate() {
            let cell_row = (y0 + r) / s * cx;
            for (x, &v) in row.iter().enumerate() {
                if !v.is_nan() {
                    let cell = cell_row + x / s;
                    self.sum[cell] += v as f64;
                    self.valid[cell] += 1;
                }
            }
        }
    }

    /// Mean score over the valid pixels of candidate (`ix`, `iy`), and the fraction of its
    /// pixels that are valid. The mean is NaN when none is.
    pub fn tile(&self, ix: usize, iy: usize) -> (f64, f64) {
        let (cx, _) = self.grid.cells();
        let k = self.grid.cells_per_tile();
        let (mut sum, mut valid) = (0.0, 0u64);
        for cy in iy..iy + k {
            for c in cy * cx + ix..cy * cx + ix + k {
                sum += self.sum[c];
                valid += self.valid[c];
            }
        }
        let pixels = (self.grid.tile * self.grid.tile) as f64;
        let mean = if valid == 0 {
            f64::NAN
        } else {
            sum / valid as f64
        };
        (mean, valid as f64 / pixels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_fit_inside_the_raster() {
        let g = Grid::new(10, 7, 4, 2, "r").unwrap();
        assert_eq!((g.nx, g.ny), (4, 2));
        assert_eq!(g.covered(), (10, 6));
        assert_eq!(g.origin(3, 1), (6, 2));
        assert!(Grid::new(3, 7, 4, 2, "r")
            .unwrap_err()
            .message
            .contains("smaller than"));
        assert!(Grid::new(10, 7, 4, 3, "r")
            .unwrap_err()
            .message
            .contains("divide"));
    }

    #[test]
    fn tile_means_equal_direct_means() {
        let w = 10;
        let g = Grid::new(w, 7, 4, 2, "r").unwrap();
        let score = |x: usize, y: usize| -> f32 {
            if (x + y) % 5 == 0 {
                f32::NAN
            } else {
                (x * 7 + y * 3) as f32 / 100.0
            }
        };
        let mut cells = Cells::new(g);
        // Rows arrive in two chunks.
        for (y0, rows) in [(0, 4), (4, 2)] {
            let chunk: Vec<f32> = (y0..y0 + rows)
                .flat_map(|y| (0..w).map(move |x| score(x, y)))
                .collect();
            cells.add_rows(y0, w, &chunk);
        }
        for iy in 0..g.ny {
            for ix in 0..g.nx {
                let (x0, y0) = g.origin(ix, iy);
                let vals: Vec<f64> = (y0..y0 + 4)
                    .flat_map(|y| (x0..x0 + 4).map(move |x| score(x, y)))
                    .filter(|v| !v.is_nan())
                    .map(|v| v as f64)
                    .collect();
                let (mean, valid) = cells.tile(ix, iy);
                assert!((mean - vals.iter().sum::<f64>() / vals.len() as f64).abs() < 1e-9);
                assert_eq!(valid, vals.len() as f64 / 16.0);
            }
        }
    }
}
