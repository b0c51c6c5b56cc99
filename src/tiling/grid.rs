//! The tile grid: which tiles to run for a region of a raster.

/// A tile: where its input starts in raster coordinates (negative or past the raster's end
/// means mirrored context) and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRect {
    pub x: isize,
    pub y: isize,
    pub size: usize,
    /// Row and column of the tile in the grid.
    pub row: usize,
    pub col: usize,
}

/// An overlapping grid anchored to the raster's origin: tiles of `tile` pixels every
/// `step` = (1 - overlap) of a tile, the first starting `margin` = overlap x tile before the
/// raster (that part mirrored). With overlap 0.2 this is ukis-csmask's grid. Because the grid depends only on the raster, the tiles covering a pixel are
/// the same whichever window is asked for, which makes windowed results exact crops of the
/// whole-raster result. ukis computes `int(tile * 0.2)` and `int(tile - tile * 0.2)` in floating
/// point; the same expressions are used here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlendGrid {
    pub tile: usize,
    /// Fraction of a tile shared with each neighbour's margin, 0 < overlap <= 0.5.
    pub overlap: f64,
}

/// ukis-csmask's overlap.
pub const UKIS_OVERLAP: f64 = 0.2;

impl BlendGrid {
    pub fn margin(&self) -> usize {
        (self.tile as f64 * self.overlap) as usize
    }
    pub fn step(&self) -> usize {
        (self.tile as f64 - self.tile as f64 * self.overlap) as usize
    }
    /// Tukey taper parameter: the taper spans the margin, as in ukis-csmask (alpha = 2 overlap).
    pub fn taper(&self) -> f64 {
        2.0 * self.overlap
    }
    /// Raster coordinate where tile row/column `i` starts.
    pub fn start(&self, i: usize) -> isize {
        (i * self.step()) as isize - self.margin() as isize
    }
    /// Grid indices `first..=last` of the tiles covering raster coordinates `a..a + len`.
    pub fn covering(&self, a: usize, len: usize) -> (usize, usize) {
        let (step, margin, tile) = (
            self.step() as isize,
            self.margin() as isize,
            self.tile as isize,
        );
        // First tile whose end lies past `a`: i * step - margin + tile > a.
        let first = ((a as isize + margin - tile).div_euclid(step) + 1).max(0) as usize;
        let last = ((a + len - 1) as isize + margin).div_euclid(step) as usize;
        (first, last)
    }
    /// Tiles covering the rectangle, row by row.
    pub fn tiles(&self, x: usize, y: usize, w: usize, h: usize) -> Vec<TileRect> {
        if w == 0 || h == 0 {
            return Vec::new();
        }
        let (r0, r1) = self.covering(y, h);
        let (c0, c1) = self.covering(x, w);
        let mut out = Vec::with_capacity((r1 - r0 + 1) * (c1 - c0 + 1));
        for row in r0..=r1 {
            for col in c0..=c1 {
                out.push(TileRect {
                    x: self.start(col),
                    y: self.start(row),
                    size: self.tile,
                    row,
                    col,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ukis-csmask pads by margin before and tile + 1 + margin after, then cuts
    /// floor((padded - tile) / step) + 1 tiles per axis.
    fn ukis_count(n: usize, g: &BlendGrid) -> usize {
        (n + 2 * g.margin() + g.tile + 1 - g.tile) / g.step() + 1
    }

    #[test]
    fn matches_ukis_geometry() {
        let g = BlendGrid {
            tile: 256,
            overlap: UKIS_OVERLAP,
        };
        assert_eq!((g.margin(), g.step()), (51, 204));
        assert_eq!(ukis_count(512, &g), 4);
        assert_eq!(ukis_count(2048, &g), 11);
        // Every tile ukis cuts beyond the ones covering the raster lies wholly in the padding.
        for n in [1, 100, 255, 256, 257, 512, 1000, 2048] {
            let (first, last) = g.covering(0, n);
            assert_eq!(first, 0);
            assert!(last < ukis_count(n, &g));
            for i in last + 1..ukis_count(n, &g) {
                assert!(
                    g.start(i) >= n as isize,
                    "tile {i} of {n} covers real pixels"
                );
            }
        }
    }

    #[test]
    fn covering_tiles_are_exactly_those_touching_the_range() {
        let g = BlendGrid {
            tile: 256,
            overlap: UKIS_OVERLAP,
        };
        for (a, len) in [(0, 1), (152, 1), (153, 1), (356, 1), (357, 1), (1000, 300)] {
            let (first, last) = g.covering(a, len);
            for i in 0..20 {
                let (s, e) = (g.start(i), g.start(i) + 256);
                let touches = s < (a + len) as isize && e > a as isize;
                assert_eq!(
                    touches,
                    (first..=last).contains(&i),
                    "tile {i} for {a}+{len}"
                );
            }
        }
    }
}
