//! Tile grids. A grid says which tiles to run and which pixels of each tile to keep.

/// A tile: where its input starts in raster coordinates (may be negative: mirrored), its size,
/// and the part of the raster it is responsible for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRect {
    pub x: isize,
    pub y: isize,
    pub size: usize,
    /// Responsibility ("core") in raster coordinates, clipped to the raster.
    pub core_x: usize,
    pub core_y: usize,
    pub core_w: usize,
    pub core_h: usize,
}

/// The exact grid: square cores of `core` pixels anchored at the raster's origin, each run with
/// `halo` pixels of real context around it (mirrored only beyond the raster's edges). Every
/// pixel belongs to exactly one core, so any window's result equals the crop of the
/// whole-raster result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactGrid {
    pub width: usize,
    pub height: usize,
    pub core: usize,
    pub halo: usize,
}

impl ExactGrid {
    pub fn tile_size(&self) -> usize {
        self.core + 2 * self.halo
    }

    /// Tiles whose cores intersect the window, row by row.
    pub fn tiles_for_window(&self, x: usize, y: usize, w: usize, h: usize) -> Vec<TileRect> {
        let mut out = Vec::new();
        if w == 0 || h == 0 {
            return out;
        }
        for ty in y / self.core..=(y + h - 1) / self.core {
            for tx in x / self.core..=(x + w - 1) / self.core {
                let (cx, cy) = (tx * self.core, ty * self.core);
                out.push(TileRect {
                    x: cx as isize - self.halo as isize,
                    y: cy as isize - self.halo as isize,
                    size: self.tile_size(),
                    core_x: cx,
                    core_y: cy,
                    core_w: self.core.min(self.width - cx),
                    core_h: self.core.min(self.height - cy),
                });
            }
        }
        out
    }

    /// Number of tile rows covering the raster.
    pub fn rows(&self) -> usize {
        self.height.div_ceil(self.core)
    }
}

/// ukis-csmask's grid: the image is mirrored by `margin` = 20 % of the tile before and
/// `tile + 1 + margin` after, and tiles are cut every `step` = 80 % of the tile from the
/// padded origin. Tile outputs overlap and are blended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UkisGrid {
    pub width: usize,
    pub height: usize,
    pub tile: usize,
}

impl UkisGrid {
    /// ukis computes `int(tile * 0.2)` and `int(tile - tile * 0.2)` in floating point; for the
    /// tile sizes in use (multiples of 32) these are exact.
    pub fn margin(&self) -> usize {
        (self.tile as f64 * 0.2) as usize
    }
    pub fn step(&self) -> usize {
        (self.tile as f64 - self.tile as f64 * 0.2) as usize
    }
    fn count(&self, n: usize) -> usize {
        let padded = n + 2 * self.margin() + self.tile + 1;
        (padded - self.tile) / self.step() + 1
    }
    pub fn rows(&self) -> usize {
        self.count(self.height)
    }
    pub fn cols(&self) -> usize {
        self.count(self.width)
    }
    /// Raster coordinate where tile row/column `i` starts (negative: inside the mirrored margin).
    pub fn start(&self, i: usize) -> isize {
        (i * self.step()) as isize - self.margin() as isize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ukis_grid_matches_the_published_tile_counts() {
        let g = UkisGrid {
            width: 512,
            height: 512,
            tile: 256,
        };
        assert_eq!((g.margin(), g.step()), (51, 204));
        assert_eq!(g.rows() * g.cols(), 16);
        let g = UkisGrid {
            width: 2048,
            height: 2048,
            tile: 256,
        };
        assert_eq!(g.rows() * g.cols(), 121);
    }

    #[test]
    fn exact_grid_covers_each_pixel_once() {
        let g = ExactGrid {
            width: 1000,
            height: 700,
            core: 448,
            halo: 32,
        };
        let tiles = g.tiles_for_window(0, 0, 1000, 700);
        let area: usize = tiles.iter().map(|t| t.core_w * t.core_h).sum();
        assert_eq!(area, 1000 * 700);
        assert_eq!(tiles.len(), 3 * 2);
        let one = g.tiles_for_window(449, 0, 1, 1);
        assert_eq!(one.len(), 1);
        assert_eq!((one[0].core_x, one[0].x, one[0].size), (448, 416, 512));
    }
}
