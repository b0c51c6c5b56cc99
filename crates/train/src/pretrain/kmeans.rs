//! k-means on rows of f32 features, for DeepCluster's pseudo-labels.
//!
//! - Initialisation: k-means++ (the first centre uniformly, each next one with probability
//!   proportional to the squared distance to the nearest centre chosen so far), seeded.
//! - Lloyd iterations: assign every row to its nearest centroid (squared Euclidean distance, ties
//!   to the lower index), recompute centroids as means, stop when no assignment changes.
//! - Empty clusters are refilled as DeepCluster does (through faiss): a non-empty cluster is drawn
//!   with probability proportional to its size minus one and split in two, the empty cluster
//!   taking one half. We split along the line from the donor's mean to its farthest member: the
//!   members whose projection on that line lies above the median move to the empty cluster.
//!   (faiss perturbs the donor centroid into two and lets the next assignment split the points;
//!   splitting the points directly guarantees that both halves are non-empty, even when members
//!   coincide.) The returned clustering therefore never has an empty cluster.

use cloudmask::error::{Error, Result};
use cloudmask_tools::rng::Rng;

/// A clustering of `n` rows of `dim` features into `k` clusters.
#[derive(Debug, Clone)]
pub struct Clustering {
    pub k: usize,
    /// k x dim, row-major: the mean of each cluster's members (DeepCluster needs only the
    /// assignments; the tests check the centroids).
    #[allow(dead_code)]
    pub centroids: Vec<f32>,
    /// Cluster of each row.
    pub assignments: Vec<usize>,
    /// Sum of squared distances of the rows to their centroids.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
    /// Times an empty cluster was refilled by splitting another.
    pub reassigned: usize,
}

impl Clustering {
    /// Members per cluster.
    pub fn sizes(&self) -> Vec<usize> {
        sizes(&self.assignments, self.k)
    }
}

/// Members per cluster.
pub fn sizes(assignments: &[usize], k: usize) -> Vec<usize> {
    let mut n = vec![0; k];
    for &a in assignments {
        n[a] += 1;
    }
    n
}

/// Clusters `points` (n rows of `dim`) into `k` groups with at most `max_iterations` Lloyd
/// iterations.
pub fn kmeans(
    points: &[f32],
    dim: usize,
    k: usize,
    max_iterations: usize,
    seed: u64,
) -> Result<Clustering> {
    if dim == 0 || points.len() % dim != 0 {
        return Err(Error::invalid(format!(
            "k-means: {} values do not make rows of {dim}",
            points.len()
        )));
    }
    let n = points.len() / dim;
    if k == 0 || n < k {
        return Err(Error::invalid(format!(
            "k-means: cannot make {k} clusters of {n} rows (need 1 <= clusters <= rows)"
        )));
    }
    let mut rng = Rng::derived(seed, 0, 31);
    let mut centroids = plus_plus(points, dim, k, &mut rng);
    let mut assignments = vec![usize::MAX; n];
    let mut reassigned = 0;
    let mut iterations = 0;
    for _ in 0..max_iterations.max(1) {
        iterations += 1;
        let mut changed = assign(points, dim, &centroids, &mut assignments);
        let refilled = fill_empty(points, dim, k, &mut assignments, &mut rng);
        reassigned += refilled;
        changed |= refilled > 0;
        centroids = means(points, dim, k, &assignments);
        if !changed {
            break;
        }
    }
    let inertia = (0..n)
        .map(|i| sq_dist(row(points, dim, i), row(&centroids, dim, assignments[i])) as f64)
        .sum();
    Ok(Clustering {
        k,
        centroids,
        assignments,
        inertia,
        iterations,
        reassigned,
    })
}

fn row(data: &[f32], dim: usize, i: usize) -> &[f32] {
    &data[i * dim..(i + 1) * dim]
}

fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// k-means++ seeding: k rows of `points` as the first centroids.
fn plus_plus(points: &[f32], dim: usize, k: usize, rng: &mut Rng) -> Vec<f32> {
    let n = points.len() / dim;
    let mut centroids = Vec::with_capacity(k * dim);
    let first = rng.below(n);
    centroids.extend_from_slice(row(points, dim, first));
    let mut nearest: Vec<f64> = (0..n)
        .map(|i| sq_dist(row(points, dim, i), row(points, dim, first)) as f64)
        .collect();
    for _ in 1..k {
        let total: f64 = nearest.iter().sum();
        let pick = if total > 0.0 {
            let mut u = rng.unit() * total;
            let mut pick = n - 1;
            for (i, d) in nearest.iter().enumerate() {
                if u < *d {
                    pick = i;
                    break;
                }
                u -= d;
            }
            pick
        } else {
            // Every row coincides with a centre already: any row will do.
            rng.below(n)
        };
        let c = row(points, dim, pick).to_vec();
        for (i, d) in nearest.iter_mut().enumerate() {
            *d = d.min(sq_dist(row(points, dim, i), &c) as f64);
        }
        centroids.extend_from_slice(&c);
    }
    centroids
}

/// Nearest centroid of every row; true when any assignment changed.
fn assign(points: &[f32], dim: usize, centroids: &[f32], assignments: &mut [usize]) -> bool {
    let k = centroids.len() / dim;
    let mut changed = false;
    for (i, a) in assignments.iter_mut().enumerate() {
        let p = row(points, dim, i);
        let mut best = (f32::INFINITY, 0);
        for c in 0..k {
            let d = sq_dist(p, row(centroids, dim, c));
            if d < best.0 {
                best = (d, c);
            }
        }
        if *a != best.1 {
            *a = best.1;
            changed = true;
        }
    }
    changed
}

/// Mean of each cluster's members (a cluster without members keeps a zero centroid; `kmeans`
/// calls this only after `fill_empty`).
fn means(points: &[f32], dim: usize, k: usize, assignments: &[usize]) -> Vec<f32> {
    let mut sum = vec![0f64; k * dim];
    let counts = sizes(assignments, k);
    for (i, &a) in assignments.iter().enumerate() {
        for (s, v) in sum[a * dim..(a + 1) * dim]
            .iter_mut()
            .zip(row(points, dim, i))
        {
            *s += *v as f64;
        }
    }
    sum.iter()
        .enumerate()
        .map(|(j, s)| (s / counts[j / dim].max(1) as f64) as f32)
        .collect()
}

/// Gives every empty cluster half of a non-empty one (see the module notes); returns how many
/// clusters were refilled. Needs at least `k` rows.
pub fn fill_empty(
    points: &[f32],
    dim: usize,
    k: usize,
    assignments: &mut [usize],
    rng: &mut Rng,
) -> usize {
    let mut counts = sizes(assignments, k);
    let mut refilled = 0;
    for empty in 0..k {
        if counts[empty] > 0 {
            continue;
        }
        // faiss's rule: a donor with probability proportional to (size - 1); singletons never.
        let weight: usize = counts.iter().map(|&c| c.saturating_sub(1)).sum();
        if weight == 0 {
            break; // fewer rows than clusters: nothing left to split
        }
        let mut u = rng.below(weight);
        let mut donor = 0;
        for (j, &c) in counts.iter().enumerate() {
            let w = c.saturating_sub(1);
            if u < w {
                donor = j;
                break;
            }
            u -= w;
        }
        let members: Vec<usize> = (0..assignments.len())
            .filter(|&i| assignments[i] == donor)
            .collect();
        let mut mean = vec![0f64; dim];
        for &i in &members {
            for (m, v) in mean.iter_mut().zip(row(points, dim, i)) {
                *m += *v as f64 / members.len() as f64;
            }
        }
        let dist = |i: usize| -> f64 {
            row(points, dim, i)
                .iter()
                .zip(&mean)
                .map(|(v, m)| (*v as f64 - m).powi(2))
                .sum()
        };
        let far = *members
            .iter()
            .max_by(|&&a, &&b| dist(a).total_cmp(&dist(b)))
            .expect("a donor has at least two members");
        let direction: Vec<f64> = row(points, dim, far)
            .iter()
            .zip(&mean)
            .map(|(v, m)| *v as f64 - m)
            .collect();
        let project = |i: usize| -> f64 {
            row(points, dim, i)
                .iter()
                .zip(&direction)
                .map(|(v, d)| *v as f64 * d)
                .sum()
        };
        let mut order = members.clone();
        // Ascending projection, ties by row index: the upper half moves.
        order.sort_by(|&a, &b| project(a).total_cmp(&project(b)).then(a.cmp(&b)));
        let moving = order.len() / 2;
        for &i in &order[order.len() - moving..] {
            assignments[i] = empty;
        }
        counts[donor] -= moving;
        counts[empty] += moving;
        refilled += 1;
    }
    refilled
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `per` rows around each of `centres` (dim 3), with noise far smaller than the spacing,
    /// returned with the true blob of each row.
    fn blobs(centres: &[[f32; 3]], per: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
        let mut rng = Rng::new(seed);
        let mut points = Vec::new();
        let mut truth = Vec::new();
        for i in 0..per * centres.len() {
            // Interleave the blobs so that no blob sits in one block of rows.
            let b = i % centres.len();
            for c in centres[b] {
                points.push(c + 0.3 * rng.gaussian() as f32);
            }
            truth.push(b);
        }
        (points, truth)
    }

    /// True when `got` equals `truth` up to a renaming of the clusters.
    fn same_partition(got: &[usize], truth: &[usize], k: usize) -> bool {
        let mut map = vec![usize::MAX; k];
        let mut used = vec![false; k];
        for (&g, &t) in got.iter().zip(truth) {
            if map[t] == usize::MAX {
                if used[g] {
                    return false;
                }
                map[t] = g;
                used[g] = true;
            } else if map[t] != g {
                return false;
            }
        }
        true
    }

    #[test]
    fn separable_blobs_are_recovered_up_to_permutation() {
        let centres = [
            [0.0, 0.0, 0.0],
            [10.0, 0.0, 0.0],
            [0.0, 10.0, 0.0],
            [0.0, 0.0, 10.0],
            [10.0, 10.0, 10.0],
        ];
        let (points, truth) = blobs(&centres, 40, 3);
        for seed in 0..5 {
            let c = kmeans(&points, 3, 5, 50, seed).unwrap();
            assert!(
                same_partition(&c.assignments, &truth, 5),
                "seed {seed}: {:?}",
                c.assignments
            );
            assert_eq!(c.sizes(), vec![40; 5]);
            // Each centroid is the mean of its blob, close to the true centre.
            for (i, &t) in truth.iter().enumerate().take(5) {
                let centroid = row(&c.centroids, 3, c.assignments[i]);
                assert!(
                    sq_dist(centroid, &centres[t]) < 0.05,
                    "{centroid:?} vs {:?}",
                    centres[t]
                );
            }
            // Inertia is the sum of squared noise: about 200 rows x 3 x 0.09.
            assert!(c.inertia < 80.0, "{}", c.inertia);
        }
        // Seeded: the same seed gives the same clustering.
        let a = kmeans(&points, 3, 5, 50, 7).unwrap();
        let b = kmeans(&points, 3, 5, 50, 7).unwrap();
        assert_eq!(a.assignments, b.assignments);
    }

    #[test]
    fn refilling_splits_a_large_cluster_until_none_is_empty() {
        // 12 rows on a line; every row put in cluster 0, clusters 1..4 empty.
        let points: Vec<f32> = (0..12).flat_map(|i| [i as f32, 0.0]).collect();
        let mut assignments = vec![0; 12];
        let mut rng = Rng::new(1);
        let refilled = fill_empty(&points, 2, 4, &mut assignments, &mut rng);
        assert_eq!(refilled, 3);
        let n = sizes(&assignments, 4);
        assert!(n.iter().all(|&c| c > 0), "{n:?}");
        assert_eq!(n.iter().sum::<usize>(), 12);
        // A split moves a contiguous half along the line: each cluster is an interval of rows.
        for c in 0..4 {
            let rows: Vec<usize> = (0..12).filter(|&i| assignments[i] == c).collect();
            assert_eq!(
                rows.last().unwrap() - rows[0] + 1,
                rows.len(),
                "cluster {c}: {rows:?}"
            );
        }
    }

    #[test]
    fn duplicated_rows_still_give_no_empty_cluster() {
        // 30 rows but only 2 distinct values, 6 clusters: Lloyd alone would leave clusters empty
        // (coinciding centroids lose every tie), so the result relies on refilling.
        let points: Vec<f32> = (0..30)
            .flat_map(|i| if i % 3 == 0 { [5.0, 5.0] } else { [0.0, 1.0] })
            .collect();
        for seed in 0..4 {
            let c = kmeans(&points, 2, 6, 20, seed).unwrap();
            let n = c.sizes();
            assert!(n.iter().all(|&s| s > 0), "seed {seed}: {n:?}");
            assert!(c.reassigned > 0);
            // The two distinct values are never mixed in one cluster.
            for k in 0..6 {
                let vals: Vec<f32> = (0..30)
                    .filter(|&i| c.assignments[i] == k)
                    .map(|i| points[2 * i])
                    .collect();
                assert!(vals.iter().all(|&v| v == vals[0]), "cluster {k}: {vals:?}");
            }
        }
    }

    #[test]
    fn too_few_rows_or_ragged_input_is_refused() {
        assert!(kmeans(&[0.0; 6], 2, 4, 10, 0).is_err());
        assert!(kmeans(&[0.0; 7], 2, 2, 10, 0).is_err());
        assert!(kmeans(&[0.0; 8], 2, 0, 10, 0).is_err());
    }
}
