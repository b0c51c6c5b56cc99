//! A bounded cache of tile outputs shared by overlapping requests: GDAL reads a virtual mask
//! block by block, and neighbouring blocks need the same overlapping tiles.

use lru::LruCache;
use std::sync::{Arc, Mutex};

/// What one tile produced: probabilities (class, row, column) after softmax, and which of its
/// pixels were nodata.
#[derive(Debug, Clone, PartialEq)]
pub struct TileOutput {
    pub probabilities: Vec<f32>,
    pub nodata: Vec<bool>,
}

impl TileOutput {
    fn bytes(&self) -> usize {
        self.probabilities.len() * std::mem::size_of::<f32>() + self.nodata.len()
    }
}

pub type TileProbabilities = Arc<TileOutput>;

/// Tile outputs keyed by their grid row and column, least recently used evicted first once
/// `max_bytes` is exceeded. One cache belongs to one raster, model and tile geometry: whoever
/// creates it must not share it across those. Safe to use from several threads.
pub struct TileCache {
    max_bytes: usize,
    inner: Mutex<Lru>,
}

/// The `lru` crate bounds a cache by its number of entries; tiles are bounded by their bytes,
/// so the cache is unbounded and `put` evicts until the bytes fit.
struct Lru {
    tiles: LruCache<(usize, usize), TileProbabilities>,
    bytes: usize,
    hits: u64,
    misses: u64,
}

impl std::fmt::Debug for TileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (hits, misses) = self.stats();
        write!(
            f,
            "TileCache {{ max_bytes: {}, hits: {hits}, misses: {misses} }}",
            self.max_bytes
        )
    }
}

impl TileCache {
    pub fn new(max_bytes: usize) -> Self {
        TileCache {
            max_bytes,
            inner: Mutex::new(Lru {
                tiles: LruCache::unbounded(),
                bytes: 0,
                hits: 0,
                misses: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, row: usize, col: usize) -> Option<TileProbabilities> {
        let mut lru = self.lock();
        let tile = lru.tiles.get(&(row, col)).cloned();
        match tile {
            Some(_) => lru.hits += 1,
            None => lru.misses += 1,
        }
        tile
    }

    pub fn put(&self, row: usize, col: usize, probabilities: TileProbabilities) {
        let size = probabilities.bytes();
        if size > self.max_bytes {
            return;
        }
        let mut lru = self.lock();
        // Unbounded, `push` only hands back the tile it replaces.
        if let Some((_, old)) = lru.tiles.push((row, col), probabilities) {
            lru.bytes -= old.bytes();
        }
        lru.bytes += size;
        while lru.bytes > self.max_bytes {
            let Some((_, oldest)) = lru.tiles.pop_lru() else {
                break;
            };
            lru.bytes -= oldest.bytes();
        }
    }

    /// (hits, misses) since creation.
    pub fn stats(&self) -> (u64, u64) {
        let lru = self.lock();
        (lru.hits, lru.misses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used_tile_first() {
        let tile = |v: f32| {
            Arc::new(TileOutput {
                probabilities: vec![v; 10],
                nodata: vec![false; 10],
            })
        };
        let cache = TileCache::new(3 * (4 * 10 + 10)); // room for three tiles
        for c in 0..3 {
            cache.put(0, c, tile(c as f32));
        }
        assert!(cache.get(0, 0).is_some()); // 0 becomes the most recent
        cache.put(0, 3, tile(3.0)); // evicts 1
        assert!(cache.get(0, 1).is_none());
        assert_eq!(cache.get(0, 0).unwrap().probabilities[0], 0.0);
        assert!(cache.get(0, 2).is_some() && cache.get(0, 3).is_some());
        assert_eq!(cache.stats(), (4, 1));
    }
}
