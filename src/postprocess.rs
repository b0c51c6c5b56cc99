//! From network outputs to masks: softmax, class choice, and the buffered valid mask.

use crate::model::CommonClass;

/// Softmax over `classes` planes of `plane` pixels each, in place, in f32 with the maximum
/// subtracted first (the formula scipy.special.softmax uses).
pub fn softmax_planes(values: &mut [f32], classes: usize, plane: usize) {
    for p in 0..plane {
        let mut max = f32::NEG_INFINITY;
        for c in 0..classes {
            max = max.max(values[c * plane + p]);
        }
        let mut sum = 0f32;
        for c in 0..classes {
            let e = (values[c * plane + p] - max).exp();
            values[c * plane + p] = e;
            sum += e;
        }
        for c in 0..classes {
            values[c * plane + p] /= sum;
        }
    }
}

/// A cloud-score model's tile output (N tiles of one `plane`) as class planes clear, cloud:
/// 1 - score and score, so tiles blend like probabilities.
pub fn score_planes(scores: &[f32], plane: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(2 * scores.len());
    for tile in scores.chunks(plane) {
        out.extend(tile.iter().map(|s| 1.0 - s));
        out.extend_from_slice(tile);
    }
    out
}

/// Class index (0 clear, 1 cloud) of a pixel from the blended sums of the clear and cloud planes
/// of [`score_planes`]: cloud where the blended score, cloud / (clear + cloud), exceeds
/// `threshold`.
pub fn score_class(clear: f64, cloud: f64, threshold: f64) -> usize {
    usize::from(cloud > threshold * (clear + cloud))
}

/// Index of the largest score; the first one wins ties, as numpy's argmax does.
pub fn argmax<I: IntoIterator<Item = f32>>(scores: I) -> usize {
    let mut best = 0;
    let mut best_v = f32::NEG_INFINITY;
    for (i, v) in scores.into_iter().enumerate() {
        if v > best_v || (i == 0 && v.is_nan()) {
            best = i;
            best_v = v;
        }
    }
    best
}

/// ukis-csmask's buffer: pixels around clouds and shadows also marked invalid in the valid mask.
pub const DEFAULT_BUFFER: u32 = 4;

/// Buffer (dilation radius, pixels) around each common class when building the valid mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffers {
    /// Indexed by common class code (0 nodata … 4 shadow). Clear pixels are never buffered.
    pub radius: [u32; 5],
}

impl Default for Buffers {
    /// [`DEFAULT_BUFFER`] pixels around clouds and shadows, none around nodata.
    fn default() -> Self {
        Buffers::uniform(DEFAULT_BUFFER)
    }
}

impl Buffers {
    /// The same radius around every cloud and shadow class, none around nodata.
    pub fn uniform(r: u32) -> Self {
        let mut radius = [r; 5];
        radius[CommonClass::Nodata as usize] = 0;
        radius[CommonClass::Clear as usize] = 0;
        Buffers { radius }
    }
    pub fn max(&self) -> usize {
        *self.radius.iter().max().unwrap_or(&0) as usize
    }
}

/// The valid mask (1 valid, 0 invalid): every pixel that is not clear is invalid, and so is every
/// pixel within its class's buffer radius of one, distance measured in 4-connected steps
/// (the same as repeating a cross-shaped dilation `radius` times). Outside the array counts as clear.
pub fn valid_mask(classes: &[u8], w: usize, h: usize, buffers: &Buffers) -> Vec<u8> {
    // reach[p] = max over invalid seeds s of (radius(s) - |p - s|_1); p is invalid when reach >= 0.
    // Two raster passes compute it exactly for the city-block distance.
    const NONE: i32 = i32::MIN / 2;
    let mut reach: Vec<i32> = classes
        .iter()
        .map(|&c| {
            if c == CommonClass::Clear as u8 {
                NONE
            } else {
                buffers.radius.get(c as usize).copied().unwrap_or(0) as i32
            }
        })
        .collect();
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let mut v = reach[i];
            if x > 0 {
                v = v.max(reach[i - 1] - 1);
            }
            if y > 0 {
                v = v.max(reach[i - w] - 1);
            }
            reach[i] = v;
        }
    }
    for y in (0..h).rev() {
        for x in (0..w).rev() {
            let i = y * w + x;
            let mut v = reach[i];
            if x + 1 < w {
                v = v.max(reach[i + 1] - 1);
            }
            if y + 1 < h {
                v = v.max(reach[i + w] - 1);
            }
            reach[i] = v;
        }
    }
    reach.iter().map(|&r| u8::from(r < 0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut v = vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0];
        softmax_planes(&mut v, 3, 2);
        assert!((v[0] + v[2] + v[4] - 1.0).abs() < 1e-6);
        assert!(v[4] > v[2] && v[2] > v[0]);
        assert!((v[1] - 1.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn cloud_scores_become_clear_and_cloud_planes_and_classes_by_threshold() {
        // Two tiles of two pixels.
        let planes = score_planes(&[0.75, 0.25, 0.5, 0.0], 2);
        assert_eq!(planes, [0.25, 0.75, 0.75, 0.25, 0.5, 1.0, 0.5, 0.0]);
        // Blended sums (weights 0.5 and 0.25 of scores 0.9 and 0.7): score 0.8333.
        let (clear, cloud) = (0.5 * 0.1 + 0.25 * 0.3, 0.5 * 0.9 + 0.25 * 0.7);
        assert_eq!(score_class(clear, cloud, 0.8), 1);
        assert_eq!(score_class(clear, cloud, 0.85), 0);
        // Not the argmax: a score of 0.6 is clear under a threshold of 0.7.
        assert_eq!(score_class(0.4, 0.6, 0.7), 0);
        assert_eq!(score_class(0.4, 0.6, 0.5), 1);
    }

    #[test]
    fn argmax_takes_the_first_of_equal_scores() {
        assert_eq!(argmax([0.2, 0.5, 0.5]), 1);
        assert_eq!(argmax([0.7, 0.1, 0.2]), 0);
    }

    #[test]
    fn buffer_is_a_diamond_of_the_given_radius() {
        let (w, h) = (9, 9);
        let mut classes = vec![1u8; w * h];
        classes[4 * w + 4] = 2; // one cloud pixel in the centre
        let valid = valid_mask(&classes, w, h, &Buffers::uniform(2));
        let invalid: usize = valid.iter().filter(|&&v| v == 0).count();
        assert_eq!(invalid, 13); // 1 + 4 + 8 pixels within city-block distance 2
        assert_eq!(valid[4 * w + 6], 0);
        assert_eq!(valid[5 * w + 5], 0);
        assert_eq!(valid[6 * w + 5], 1);
    }

    #[test]
    fn buffers_differ_per_class_and_nodata_is_invalid() {
        let (w, h) = (7, 1);
        let classes = vec![4, 1, 1, 1, 1, 1, 0];
        let mut b = Buffers::uniform(0);
        b.radius[4] = 2;
        let valid = valid_mask(&classes, w, h, &b);
        assert_eq!(valid, vec![0, 0, 0, 1, 1, 1, 0]);
    }
}
