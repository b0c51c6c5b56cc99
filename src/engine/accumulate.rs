//! Collecting streamed strips into one in-memory result.

use super::{MaskResult, Products, Region, Strip};
use crate::error::Result;
use crate::limits::try_vec;
use crate::postprocess::{valid_mask, Buffers};

/// Collects strips of a region into whole arrays.
pub(super) struct Accumulator {
    region: Region,
    classes: Vec<u8>,
    probabilities: Option<Vec<f32>>,
    n_classes: usize,
    products: Products,
}

impl Accumulator {
    /// Memory for the whole region, or an error when the machine cannot give it.
    pub(super) fn new(region: Region, n_classes: usize, products: Products) -> Result<Self> {
        let n = region.w * region.h;
        let probabilities = if products.probabilities {
            Some(try_vec(
                n_classes * n,
                f32::NAN,
                "the window's probabilities",
            )?)
        } else {
            None
        };
        Ok(Accumulator {
            region,
            classes: try_vec(n, 0, "the window's classes")?,
            probabilities,
            n_classes,
            products,
        })
    }

    pub(super) fn put(&mut self, s: Strip) -> Result<()> {
        let (w, n) = (self.region.w, self.region.w * self.region.h);
        let row0 = s.y - self.region.y;
        self.classes[row0 * w..(row0 + s.rows) * w].copy_from_slice(&s.classes);
        if let (Some(dst), Some(src)) = (self.probabilities.as_mut(), s.probabilities.as_ref()) {
            let sn = s.rows * w;
            for c in 0..self.n_classes {
                dst[c * n + row0 * w..c * n + row0 * w + sn]
                    .copy_from_slice(&src[c * sn..(c + 1) * sn]);
            }
        }
        Ok(())
    }

    /// Crops to `window` (inside the accumulated region) and derives the valid mask when asked.
    pub(super) fn into_result(self, window: Region, buffers: &Buffers) -> MaskResult {
        let r = self.region;
        let valid_full =
            (self.products.valid).then(|| valid_mask(&self.classes, r.w, r.h, buffers));
        let crop_u8 = |v: &[u8]| -> Vec<u8> {
            (0..window.h)
                .flat_map(|row| {
                    let start = (window.y - r.y + row) * r.w + (window.x - r.x);
                    v[start..start + window.w].iter().copied()
                })
                .collect()
        };
        let probabilities = self.probabilities.map(|p| {
            let n = r.w * r.h;
            (0..self.n_classes)
                .flat_map(|c| {
                    let plane = &p[c * n..(c + 1) * n];
                    (0..window.h).flat_map(move |row| {
                        let start = (window.y - r.y + row) * r.w + (window.x - r.x);
                        plane[start..start + window.w].iter().copied()
                    })
                })
                .collect()
        });
        MaskResult {
            width: window.w,
            height: window.h,
            classes: crop_u8(&self.classes),
            probabilities,
            valid: valid_full.map(|v| crop_u8(&v)),
        }
    }
}
