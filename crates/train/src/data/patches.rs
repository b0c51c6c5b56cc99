//! Training and validation patches: which windows of which scenes, and the augmented batches
//! made from them.
//!
//! Candidate patches lie on a half-overlapping grid over each scene's training region; those with
//! less than half their pixels labelled are skipped. `--label-fraction` keeps a seeded subset of
//! the candidates (the labels a fine-tuning run may see). Each epoch draws patches from the kept
//! candidates with a random offset of up to half a patch, then flips, rotates by a multiple of 90°
//! and scales brightness. Validation patches are a fixed, non-overlapping grid without
//! augmentation.

use super::scene::{Scene, Window};
use cloudmask_tools::rng::Rng;
use tch::{Device, Tensor};

/// A patch: scene index and window.
pub type Patch = (usize, Window);

/// Minimum labelled share of a patch.
const MIN_LABELLED: f64 = 0.5;

/// Per-band normalisation: (reflectance - mean) / std.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalisation {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Normalisation {
    /// Mean and standard deviation per band over the labelled pixels of the training patches.
    pub fn fit(scenes: &[Scene], patches: &[Patch]) -> Normalisation {
        let n_bands = scenes.first().map(|s| s.n_bands).unwrap_or(0);
        let mut sum = vec![0f64; n_bands];
        let mut sq = vec![0f64; n_bands];
        let mut count = 0f64;
        for &(s, (x, y, w, h)) in patches {
            let sc = &scenes[s];
            let plane = sc.width * sc.height;
            for row in y..y + h {
                for col in x..x + w {
                    let i = row * sc.width + col;
                    if sc.labels[i] == super::labels::IGNORE {
                        continue;
                    }
                    count += 1.0;
                    for b in 0..n_bands {
                        let v = sc.bands[b * plane + i] as f64;
                        sum[b] += v;
                        sq[b] += v * v;
                    }
                }
            }
        }
        let count = count.max(1.0);
        let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / count - m * m).max(0.0).sqrt().max(1e-6))
            .collect();
        Normalisation { mean, std }
    }
}

/// Grid windows of `size` with `step` over a region, fitting entirely inside it.
pub fn grid(region: Window, size: usize, step: usize) -> Vec<Window> {
    let (x0, y0, w, h) = region;
    if w < size || h < size {
        return Vec::new();
    }
    let starts = |len: usize| -> Vec<usize> {
        let mut v: Vec<usize> = (0..=len - size).step_by(step).collect();
        if *v.last().unwrap() != len - size {
            v.push(len - size);
        }
        v
    };
    let mut out = Vec::new();
    for y in starts(h) {
        for x in starts(w) {
            out.push((x0 + x, y0 + y, size, size));
        }
    }
    out
}

/// Candidate patches of a scene's region, keeping those labelled enough.
pub fn candidates(
    scenes: &[Scene],
    regions: &[(usize, Window)],
    size: usize,
    step: usize,
) -> Vec<Patch> {
    let mut out = Vec::new();
    for &(s, region) in regions {
        for win in grid(region, size, step) {
            if scenes[s].labelled_fraction(win) >= MIN_LABELLED {
                out.push((s, win));
            }
        }
    }
    out
}

/// A seeded subset holding `fraction` of the patches (at least one).
pub fn label_fraction(patches: &[Patch], fraction: f64, seed: u64) -> Vec<Patch> {
    if fraction >= 1.0 {
        return patches.to_vec();
    }
    let mut shuffled = patches.to_vec();
    Rng::derived(seed, 0, 99).shuffle(&mut shuffled);
    let keep = ((patches.len() as f64 * fraction).round() as usize).max(1);
    shuffled.truncate(keep);
    shuffled.sort();
    shuffled
}

/// How a patch is augmented.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    pub flip_x: bool,
    pub flip_y: bool,
    /// Quarter turns.
    pub rot90: u8,
    /// Reflectance multiplier.
    pub brightness: f32,
}

impl Augment {
    pub const NONE: Augment = Augment {
        flip_x: false,
        flip_y: false,
        rot90: 0,
        brightness: 1.0,
    };

    pub fn random(rng: &mut Rng, brightness: f32) -> Augment {
        Augment {
            flip_x: rng.below(2) == 1,
            flip_y: rng.below(2) == 1,
            rot90: rng.below(4) as u8,
            brightness: 1.0 + brightness * (2.0 * rng.unit() as f32 - 1.0),
        }
    }

    /// Where output pixel (r, c) of a `size` x `size` patch comes from.
    pub fn source_of(&self, r: usize, c: usize, size: usize) -> (usize, usize) {
        let (mut r, mut c) = (r, c);
        for _ in 0..self.rot90 {
            (r, c) = (c, size - 1 - r);
        }
        if self.flip_y {
            r = size - 1 - r;
        }
        if self.flip_x {
            c = size - 1 - c;
        }
        (r, c)
    }
}

/// The patches of one training epoch: `count` draws from `pool`, each moved by a random offset
/// within its scene's region, with its augmentation.
pub fn epoch_patches(
    pool: &[Patch],
    regions: &[(usize, Window)],
    count: usize,
    seed: u64,
    epoch: u64,
    brightness: f32,
) -> Vec<(Patch, Augment)> {
    let mut rng = Rng::derived(seed, epoch, 1);
    (0..count)
        .map(|_| {
            let (s, (x, y, w, h)) = pool[rng.below(pool.len())];
            let (_, (rx, ry, rw, rh)) = *regions.iter().find(|(i, _)| *i == s).expect("region");
            let jitter = |p: usize, lo: usize, len: usize, rng: &mut Rng| {
                let lo_p = p.saturating_sub(w / 2).max(lo);
                let hi_p = (p + w / 2).min(lo + len - w);
                lo_p + rng.below(hi_p - lo_p + 1)
            };
            let x = jitter(x, rx, rw, &mut rng);
            let y = jitter(y, ry, rh, &mut rng);
            ((s, (x, y, w, h)), Augment::random(&mut rng, brightness))
        })
        .collect()
}

/// A batch: normalised inputs N x C x S x S and class targets N x S x S (IGNORE = -1 skipped).
pub fn batch(
    scenes: &[Scene],
    items: &[(Patch, Augment)],
    norm: &Normalisation,
    device: Device,
) -> (Tensor, Tensor) {
    let size = items[0].0 .1 .2;
    let n_bands = scenes[items[0].0 .0].n_bands;
    let plane = size * size;
    let mut input = vec![0f32; items.len() * n_bands * plane];
    let mut target = vec![0i64; items.len() * plane];
    for (k, &((s, (x, y, _, _)), aug)) in items.iter().enumerate() {
        let sc = &scenes[s];
        let sp = sc.width * sc.height;
        for r in 0..size {
            for c in 0..size {
                let (sr, scol) = aug.source_of(r, c, size);
                let i = (y + sr) * sc.width + x + scol;
                target[k * plane + r * size + c] = sc.labels[i];
                for b in 0..n_bands {
                    let v = sc.bands[b * sp + i] * aug.brightness;
                    input[(k * n_bands + b) * plane + r * size + c] =
                        ((v as f64 - norm.mean[b]) / norm.std[b]) as f32;
                }
            }
        }
    }
    let n = items.len() as i64;
    let s = size as i64;
    (
        Tensor::from_slice(&input)
            .view([n, n_bands as i64, s, s])
            .to_device(device),
        Tensor::from_slice(&target)
            .view([n, s, s])
            .to_device(device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_the_region_edge_to_edge() {
        let g = grid((10, 0, 100, 64), 64, 32);
        assert_eq!(g.first(), Some(&(10, 0, 64, 64)));
        assert_eq!(g.last(), Some(&(46, 0, 64, 64)));
        assert_eq!(g.len(), 3);
        assert!(grid((0, 0, 63, 100), 64, 32).is_empty());
    }

    #[test]
    fn augmentations_are_permutations_of_the_patch() {
        let mut rng = Rng::new(3);
        for _ in 0..20 {
            let a = Augment::random(&mut rng, 0.1);
            let mut seen = [false; 25];
            for r in 0..5 {
                for c in 0..5 {
                    let (sr, sc) = a.source_of(r, c, 5);
                    seen[sr * 5 + sc] = true;
                }
            }
            assert!(seen.iter().all(|&s| s), "{a:?}");
            assert!((0.9..=1.1).contains(&a.brightness));
        }
        assert_eq!(Augment::NONE.source_of(1, 2, 5), (1, 2));
    }

    #[test]
    fn label_fraction_keeps_a_seeded_subset() {
        let pool: Vec<Patch> = (0..40).map(|i| (0, (i, 0, 8, 8))).collect();
        let a = label_fraction(&pool, 0.1, 5);
        assert_eq!(a.len(), 4);
        assert_eq!(a, label_fraction(&pool, 0.1, 5));
        assert_ne!(a, label_fraction(&pool, 0.1, 6));
        assert_eq!(label_fraction(&pool, 0.001, 5).len(), 1);
    }
}
