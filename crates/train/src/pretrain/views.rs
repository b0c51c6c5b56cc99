//! Augmented views of unlabelled patches for self-supervised pretraining.
//!
//! A view is a random `size` x `size` crop of a larger patch window, flipped and rotated by a
//! multiple of 90°, with a spectral jitter suited to multispectral reflectance rather than RGB
//! colour jitter: each band is scaled by its own random gain and shifted by its own offset (as
//! atmosphere, illumination and sensor calibration change bands differently), and Gaussian
//! noise is added per pixel. The result is normalised like training input.

use crate::data::patches::{Augment, Normalisation};
use crate::data::scene::{Scene, Window};
use cloudmask_tools::rng::Rng;
use tch::{Device, Tensor};

/// Strength of the spectral jitter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Jitter {
    /// Per-band gain drawn from 1 ± this.
    pub gain: f32,
    /// Per-band offset (reflectance) drawn from ± this.
    pub offset: f32,
    /// Standard deviation of per-pixel Gaussian noise (reflectance).
    pub noise: f32,
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter {
            gain: 0.15,
            offset: 0.02,
            noise: 0.01,
        }
    }
}

/// One view's random choices.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewAug {
    /// Crop origin (column, row) inside the patch window.
    pub origin: (usize, usize),
    pub geometry: Augment,
    pub gain: Vec<f32>,
    pub offset: Vec<f32>,
    pub noise_seed: u64,
}

impl ViewAug {
    pub fn random(
        rng: &mut Rng,
        window: Window,
        size: usize,
        bands: usize,
        jitter: Jitter,
    ) -> ViewAug {
        let mut geometry = Augment::random(rng, 0.0);
        geometry.brightness = 1.0;
        let mut uniform = |scale: f32| scale * (2.0 * rng.unit() as f32 - 1.0);
        let gain = (0..bands).map(|_| 1.0 + uniform(jitter.gain)).collect();
        let offset = (0..bands).map(|_| uniform(jitter.offset)).collect();
        ViewAug {
            // Column first, then row: the order of the draws is part of a seed's views.
            origin: (
                rng.below(window.2 - size + 1),
                rng.below(window.3 - size + 1),
            ),
            geometry,
            gain,
            offset,
            noise_seed: rng.next_u64(),
        }
    }

    /// The same augmentation applied to another image of the same footprint (SeCo).
    pub fn identity(bands: usize) -> ViewAug {
        ViewAug {
            origin: (0, 0),
            geometry: Augment::NONE,
            gain: vec![1.0; bands],
            offset: vec![0.0; bands],
            noise_seed: 0,
        }
    }
}

/// Writes one normalised view (bands x size x size) of `window` of `scene` into `out`.
pub fn render(
    scene: &Scene,
    window: Window,
    size: usize,
    aug: &ViewAug,
    noise: f32,
    norm: &Normalisation,
    out: &mut [f32],
) {
    let plane = size * size;
    let sp = scene.width * scene.height;
    let mut rng = Rng::new(aug.noise_seed);
    for r in 0..size {
        for c in 0..size {
            let (sr, sc) = aug.geometry.source_of(r, c, size);
            let i = (window.1 + aug.origin.1 + sr) * scene.width + window.0 + aug.origin.0 + sc;
            for b in 0..scene.n_bands {
                let mut v = scene.bands[b * sp + i] * aug.gain[b] + aug.offset[b];
                if noise > 0.0 {
                    v += noise * rng.gaussian() as f32;
                }
                out[b * plane + r * size + c] = ((v as f64 - norm.mean[b]) / norm.std[b]) as f32;
            }
        }
    }
}

/// A batch of views, N x bands x size x size.
pub fn batch(
    scenes: &[Scene],
    items: &[((usize, Window), ViewAug)],
    size: usize,
    noise: f32,
    norm: &Normalisation,
    device: Device,
) -> Tensor {
    let bands = scenes[items[0].0 .0].n_bands;
    let per = bands * size * size;
    let mut data = vec![0f32; items.len() * per];
    for (k, ((s, win), aug)) in items.iter().enumerate() {
        render(
            &scenes[*s],
            *win,
            size,
            aug,
            noise,
            norm,
            &mut data[k * per..(k + 1) * per],
        );
    }
    Tensor::from_slice(&data)
        .view([items.len() as i64, bands as i64, size as i64, size as i64])
        .to_device(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene() -> Scene {
        Scene {
            name: "t".into(),
            width: 8,
            height: 8,
            n_bands: 2,
            bands: (0..128).map(|v| v as f32).collect(),
            labels: vec![0; 64],
        }
    }

    #[test]
    fn an_identity_view_is_the_normalised_crop_and_jitter_moves_bands_apart() {
        let s = scene();
        let norm = Normalisation {
            mean: vec![0.0, 0.0],
            std: vec![1.0, 2.0],
        };
        let mut out = vec![0f32; 2 * 4];
        render(
            &s,
            (2, 3, 4, 4),
            2,
            &ViewAug::identity(2),
            0.0,
            &norm,
            &mut out,
        );
        assert_eq!(out, [26., 27., 34., 35., 45., 45.5, 49., 49.5]);
        let mut rng = Rng::new(4);
        let a = ViewAug::random(&mut rng, (0, 0, 8, 8), 4, 2, Jitter::default());
        assert!(a.origin.0 <= 4 && a.origin.1 <= 4);
        assert!(a.gain.iter().all(|g| (0.85..=1.15).contains(g)));
        assert_ne!(a.gain[0], a.gain[1], "bands get their own gains");
    }
}
