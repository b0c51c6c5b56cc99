//! The CAM of a whole scene: the pruned network runs on overlapping sliding-window blocks, and
//! the blocks' CAMs are mosaicked by averaging every pixel over the windows that cover it.

use super::net::{CamNet, Prune};
use crate::data::patches::{self, Augment, Normalisation};
use crate::data::scene::{Scene, Window};
use tch::Device;

/// Sums and counts of overlapping windows' values; the mosaic is their per-pixel mean.
pub struct Mosaic {
    width: usize,
    sum: Vec<f64>,
    count: Vec<u32>,
}

impl Mosaic {
    pub fn new(width: usize, height: usize) -> Self {
        Mosaic {
            width,
            sum: vec![0.0; width * height],
            count: vec![0; width * height],
        }
    }

    /// Adds one window's values (row-major, `w` x `h`).
    pub fn add(&mut self, win: Window, values: &[f32]) {
        let (x, y, w, h) = win;
        debug_assert_eq!(values.len(), w * h);
        for r in 0..h {
            let row = (y + r) * self.width + x;
            for c in 0..w {
                self.sum[row + c] += values[r * w + c] as f64;
                self.count[row + c] += 1;
            }
        }
    }

    /// Per-pixel mean over the windows covering it (NaN where none did).
    pub fn finish(self) -> Vec<f32> {
        self.sum
            .iter()
            .zip(&self.count)
            .map(|(s, &n)| {
                if n == 0 {
                    f32::NAN
                } else {
                    (s / n as f64) as f32
                }
            })
            .collect()
    }
}

/// Square sliding windows of `window` pixels (or the scene's smaller side) with step `step` over
/// a `width` x `height` scene, reaching its right and bottom edges.
pub fn windows(width: usize, height: usize, window: usize, step: usize) -> Vec<Window> {
    let side = window.min(width).min(height);
    patches::grid((0, 0, width, height), side, step.clamp(1, side.max(1)))
}

/// How a scene's CAM is computed.
#[derive(Debug, Clone, Copy)]
pub struct Sliding {
    pub prune: Prune,
    pub window: usize,
    pub step: usize,
}

/// The scene's full-resolution CAM: the pruned network on every sliding window (evaluation
/// mode, normalised as in training), mosaicked. With `only`, windows without a set pixel in it
/// are skipped (their pixels stay NaN).
pub fn scene_cam(
    net: &CamNet,
    scenes: &[Scene],
    scene: usize,
    norm: &Normalisation,
    how: Sliding,
    only: Option<&[bool]>,
    device: Device,
) -> Vec<f32> {
    let sc = &scenes[scene];
    let mut mosaic = Mosaic::new(sc.width, sc.height);
    let wanted = |&(x, y, w, h): &Window| match only {
        None => true,
        Some(m) => (y..y + h).any(|r| m[r * sc.width + x..r * sc.width + x + w].contains(&true)),
    };
    let wins: Vec<Window> = windows(sc.width, sc.height, how.window, how.step)
        .into_iter()
        .filter(wanted)
        .collect();
    for chunk in wins.chunks(8) {
        let items: Vec<_> = chunk.iter().map(|&w| ((scene, w), Augment::NONE)).collect();
        let (x, _) = patches::batch(scenes, &items, norm, device);
        let cam = tch::no_grad(|| net.forward_cam(&x, how.prune)).to_device(Device::Cpu);
        let values = Vec::<f32>::try_from(cam.flatten(0, -1)).expect("f32 CAM");
        let n = chunk[0].2 * chunk[0].3;
        for (k, &w) in chunk.iter().enumerate() {
            mosaic.add(w, &values[k * n..(k + 1) * n]);
        }
    }
    mosaic.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_windows_average() {
        // A 6 x 2 scene, windows of 4 x 2 at x = 0 and x = 2: columns 2 and 3 are covered twice.
        let mut m = Mosaic::new(6, 2);
        m.add((0, 0, 4, 2), &[1.0; 8]);
        m.add((2, 0, 4, 2), &[4.0, 5.0, 6.0, 7.0, 4.0, 5.0, 6.0, 7.0]);
        let cam = m.finish();
        assert_eq!(&cam[..6], &[1.0, 1.0, 2.5, 3.0, 6.0, 7.0]);
        assert_eq!(&cam[..6], &cam[6..]);
        // An uncovered pixel is NaN, not 0.
        let mut m = Mosaic::new(3, 1);
        m.add((0, 0, 2, 1), &[2.0, 2.0]);
        assert!(m.finish()[2].is_nan());
    }

    #[test]
    fn sliding_windows_cover_the_scene_edge_to_edge() {
        let w = windows(100, 64, 32, 16);
        assert_eq!(w.first(), Some(&(0, 0, 32, 32)));
        assert_eq!(w.last(), Some(&(68, 32, 32, 32)));
        let mut covered = vec![0u32; 100 * 64];
        for &(x, y, ww, wh) in &w {
            for r in y..y + wh {
                for c in x..x + ww {
                    covered[r * 100 + c] += 1;
                }
            }
        }
        assert!(covered.iter().all(|&n| n >= 1));
        // Interior pixels are seen by 4 windows (half overlap in both directions).
        assert_eq!(covered[40 * 100 + 40], 4);
        // A scene lower than the window: windows of its height.
        assert_eq!(
            windows(20, 12, 32, 16),
            vec![(0, 0, 12, 12), (8, 0, 12, 12)]
        );
    }
}
