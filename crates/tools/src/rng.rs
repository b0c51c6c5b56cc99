//! The one seeded random generator of the splitter and the trainer (SplitMix64), so the same
//! seed gives the same splits and the same training run on every machine and with every build.
//!
//! Not `rand`: its generators and its bounded sampling are not promised to stay the same across
//! its releases, and the trainer's tests assert results measured with these exact sequences.
//! The two ways of deriving independent streams, [`Rng::stream`] (splitter) and
//! [`Rng::derived`] (trainer), stay as they were for the same reason.

/// SplitMix64: fast, with good statistical quality for shuffling; not for cryptography.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// An independent stream for one purpose (`"cap"`, `"deal"`, …) and index, derived from the
    /// user's seed: changing how one step draws does not change what the others draw.
    pub fn stream(seed: u64, purpose: &str, index: u64) -> Rng {
        // FNV-1a of the purpose, mixed with the seed and the index.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in purpose.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut r = Rng(seed ^ h);
        let a = r.next_u64();
        Rng(a ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// An independent generator for one purpose of one epoch of a training run (e.g.
    /// `(seed, epoch, PATCHES)`), so a resumed run rebuilds the generator of any epoch.
    pub fn derived(seed: u64, epoch: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ 0x9e37_79b9_7f4a_7c15u64.wrapping_mul(stream + 1));
        for _ in 0..epoch % 7 + 1 {
            r.next_u64();
        }
        Rng(r.next_u64() ^ epoch.wrapping_mul(0xd1b5_4a32_d192_ed03))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..n` (`n` > 0), without modulo bias: a draw in the last,
    /// incomplete multiple of `n` below 2^64 is drawn again. That happens with probability
    /// below n / 2^64, so the draws equal `next_u64() % n` (what the trainer drew before it
    /// shared this generator) in practice.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next_u64();
            if v < zone {
                return (v % n) as usize;
            }
        }
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn gaussian(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map(|_| Rng::stream(7, "cap", 0).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::stream(7, "cap", 0).next_u64(),
            Rng::stream(7, "deal", 0).next_u64()
        );
        assert_ne!(
            Rng::stream(7, "cap", 0).next_u64(),
            Rng::stream(7, "cap", 1).next_u64()
        );
        assert_ne!(
            Rng::stream(7, "cap", 0).next_u64(),
            Rng::stream(8, "cap", 0).next_u64()
        );
    }

    #[test]
    fn derived_generators_are_reproducible_and_distinct() {
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
    }

    #[test]
    fn below_draws_what_the_plain_modulo_drew() {
        // The trainer's sequences (and the results its tests measured) depend on this.
        let (mut a, mut b) = (Rng::derived(3, 2, 1), Rng::derived(3, 2, 1));
        for n in (1..10_000).chain([1 << 20, 1 << 31, (1 << 40) + 7]) {
            assert_eq!(a.below(n), (b.next_u64() % n as u64) as usize);
        }
    }

    #[test]
    fn below_is_in_range_and_shuffle_is_a_permutation() {
        let mut r = Rng::new(1);
        let mut seen = [0usize; 5];
        for _ in 0..5000 {
            seen[r.below(5)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
        let mut v: Vec<usize> = (0..100).collect();
        r.shuffle(&mut v);
        assert_ne!(v, (0..100).collect::<Vec<_>>());
        v.sort();
        assert_eq!(v, (0..100).collect::<Vec<_>>());
        assert!((0..1000).map(|_| r.unit()).all(|u| (0.0..1.0).contains(&u)));
    }
}
