//! A small seeded random number generator (SplitMix64), so every random choice of a run (patch
//! positions, augmentations, validation split) follows from `--seed` alone and a resumed run can
//! rebuild the generator of any epoch.

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Standard normal (Box-Muller).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// An independent generator for one purpose of one epoch (e.g. `(seed, epoch, PATCHES)`).
    pub fn derived(seed: u64, epoch: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(stream + 1));
        for _ in 0..epoch % 7 + 1 {
            r.next_u64();
        }
        Rng(r.next_u64() ^ epoch.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_streams_differ() {
        let a: Vec<u64> = (0..4).map(|_| Rng::derived(7, 3, 1).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::derived(7, 3, 1).next_u64(),
            Rng::derived(7, 4, 1).next_u64()
        );
        assert_ne!(
            Rng::derived(7, 3, 1).next_u64(),
            Rng::derived(7, 3, 2).next_u64()
        );
        let mut r = Rng::new(1);
        assert!((0..1000).all(|_| r.below(5) < 5 && (0.0..1.0).contains(&r.unit())));
    }
}
