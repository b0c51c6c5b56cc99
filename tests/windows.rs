//! Property tests of the window arithmetic (proptest): for any raster, window and tile geometry
//! within the documented limits, the tiles cut for a window are exactly the raster's tiles that
//! touch it, every pixel lies in exactly one tile core among them, the mirrored context (halo)
//! of every tile is read from inside the raster, nothing overflows, and a window is accepted
//! exactly when it lies inside the raster.

use cloudmask::engine::check_window;
use cloudmask::limits::{MAX_RASTER_SIDE, MAX_TILE};
use cloudmask::raster::{BandSource, Block};
use cloudmask::tiling::{mirror, BlendGrid};
use proptest::prelude::*;

/// A grid the engine accepts: a tile of 2 to [`MAX_TILE`] pixels and an overlap in (0, 0.5]
/// that gives at least one pixel (`engine::validate::check_grid`).
fn grids() -> impl Strategy<Value = BlendGrid> {
    (2..=MAX_TILE as usize).prop_flat_map(|tile| {
        (1.0 / tile as f64..=0.5).prop_map(move |overlap| BlendGrid { tile, overlap })
    })
}

/// A raster side up to [`MAX_RASTER_SIDE`] and a range `a .. a + len` inside it.
fn ranges() -> impl Strategy<Value = (usize, usize, usize)> {
    (1..=MAX_RASTER_SIDE as usize)
        .prop_flat_map(|n| (Just(n), 0..n).prop_flat_map(|(n, a)| (Just(n), Just(a), 1..=n - a)))
}

/// Tile `i`'s extent `[start, end)` on one axis, computed in i128 so it cannot wrap.
fn extent(g: &BlendGrid, i: usize) -> (i128, i128) {
    let start = i as i128 * g.step() as i128 - g.margin() as i128;
    (start, start + g.tile as i128)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// `covering` gives the tiles touching the range, no more and no fewer, and each pixel's
    /// core (the `step` pixels `i * step ..` of tile `i`, inside its extent) is among them.
    #[test]
    fn covering_is_exactly_the_tiles_touching_a_range(g in grids(), (n, a, len) in ranges()) {
        let (step, margin) = (g.step(), g.margin());
        prop_assert!(step >= 1 && margin >= 1 && margin + step <= g.tile);
        let (first, last) = g.covering(a, len);
        let end = (a + len) as i128;
        let touches = |i: usize| {
            let (s, e) = extent(&g, i);
            s < end && e > a as i128
        };
        prop_assert!(first <= last);
        prop_assert!(touches(first) && touches(last));
        prop_assert!(first == 0 || !touches(first - 1));
        prop_assert!(!touches(last + 1));
        prop_assert_eq!(g.start(first) as i128, extent(&g, first).0);
        prop_assert_eq!(g.start(last) as i128, extent(&g, last).0);
        // Every pixel of the range (the ends and a spread between) lies in exactly one core.
        for p in [a, a + len / 3, a + len / 2, a + len - 1].into_iter().chain((a..a + len).step_by(len / 64 + 1)) {
            let core = p / step;
            prop_assert!((first..=last).contains(&core), "pixel {} core {} not in {}..={}", p, core, first, last);
            let (s, e) = extent(&g, core);
            prop_assert!(s + margin as i128 <= p as i128 && (p as i128) < s + (margin + step) as i128 && s + ((margin + step) as i128) <= e);
        }
        // A window's tiles are the raster's tiles: the same indices, inside the raster's range.
        let (f0, l0) = g.covering(0, n);
        prop_assert!(f0 <= first && last <= l0);
    }

    /// The tiles of a window, row by row, with their grid position and origin.
    #[test]
    fn tiles_of_a_window_are_the_product_of_the_coverings(
        g in grids(),
        (w, x, cols) in ranges(),
        (h, y, rows) in ranges(),
    ) {
        let (r0, r1) = g.covering(y, rows);
        let (c0, c1) = g.covering(x, cols);
        let count = (r1 - r0 + 1) as u128 * (c1 - c0 + 1) as u128;
        // A row of tiles across the widest raster fits the canvas arithmetic with room to spare.
        prop_assert!((c1 - c0 + 1) as u128 * g.tile as u128 * g.tile as u128 * 64 < u64::MAX as u128);
        if count <= 4096 {
            let tiles = g.tiles(x, y, cols, rows);
            prop_assert_eq!(tiles.len() as u128, count);
            for (k, t) in tiles.iter().enumerate() {
                let (row, col) = (r0 + k / (c1 - c0 + 1), c0 + k % (c1 - c0 + 1));
                prop_assert_eq!((t.row, t.col, t.size), (row, col, g.tile));
                prop_assert_eq!((t.x as i128, t.y as i128), (extent(&g, col).0, extent(&g, row).0));
            }
        }
        let _ = (w, h);
    }

    /// Every tile's context, mirrored at the raster's edges, is read from inside the raster.
    #[test]
    fn halos_stay_inside_the_raster(g in grids(), (n, a, len) in ranges()) {
        let (first, last) = g.covering(a, len);
        for i in [first, (first + last) / 2, last] {
            let start = g.start(i);
            let (lo, hi) = mirror::source_range(start, g.tile, n);
            prop_assert!(lo < hi && hi <= n, "tile {} at {}: {}..{} of {}", i, start, lo, hi, n);
            for j in (start..start + g.tile as isize).step_by(g.tile / 16 + 1).chain([start + g.tile as isize - 1]) {
                let r = mirror::reflect(j, n);
                prop_assert!(lo <= r && r < hi, "pixel {} mirrors to {} outside {}..{}", j, r, lo, hi);
            }
        }
    }

    /// A window is accepted exactly when it lies inside the raster; no sum wraps.
    #[test]
    fn windows_are_accepted_exactly_inside_the_raster(
        w in 1..=MAX_RASTER_SIDE as usize,
        h in 1..=MAX_RASTER_SIDE as usize,
        x in prop_oneof![-3i64..3, 0i64..=MAX_RASTER_SIDE as i64, Just(i64::MAX), Just(i64::MIN)],
        y in prop_oneof![-3i64..3, 0i64..=MAX_RASTER_SIDE as i64, Just(i64::MAX)],
        ww in prop_oneof![-1i64..3, 0i64..=MAX_RASTER_SIDE as i64, Just(i64::MAX)],
        wh in prop_oneof![-1i64..3, 0i64..=MAX_RASTER_SIDE as i64, Just(i64::MAX)],
    ) {
        let source = Sized { w, h };
        let inside = x >= 0 && y >= 0 && ww >= 1 && wh >= 1
            && x as i128 + ww as i128 <= w as i128
            && y as i128 + wh as i128 <= h as i128;
        let got = check_window(&source, x, y, ww, wh);
        prop_assert_eq!(got.is_ok(), inside, "{:?}", got.err());
        if let Ok(r) = got {
            prop_assert_eq!((r.x as i64, r.y as i64, r.w as i64, r.h as i64), (x, y, ww, wh));
        }
    }
}

/// A source of a given size that is never read: `check_window` only asks its size.
struct Sized {
    w: usize,
    h: usize,
}

impl BandSource for Sized {
    fn width(&self) -> usize {
        self.w
    }
    fn height(&self) -> usize {
        self.h
    }
    fn n_bands(&self) -> usize {
        1
    }
    fn read(&mut self, _: usize, _: usize, _: usize, _: usize) -> cloudmask::Result<Block> {
        Err(cloudmask::Error::invalid("not read in these tests"))
    }
}

/// Rasters beyond the limits are refused by the same check, whatever the window.
#[test]
fn rasters_beyond_the_limits_are_refused_by_the_window_check() {
    let side = MAX_RASTER_SIDE as usize;
    for (w, h) in [(side + 1, 1), (1, side + 1), ((1 << 32) + 1, 30)] {
        let e = check_window(&Sized { w, h }, 0, 0, 1, 1).unwrap_err();
        assert_eq!(e.kind, cloudmask::ErrorKind::Input);
        assert!(
            e.message
                .contains(&format!("is {w} x {h} pixels, larger than cloudmask masks")),
            "{e}"
        );
    }
}
