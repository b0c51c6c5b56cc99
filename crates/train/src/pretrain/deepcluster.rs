//! DeepCluster (Caron et al., ECCV 2018): the encoder learns to predict pseudo-labels that
//! k-means finds in its own features, re-clustered every epoch.
//!
//! Each epoch:
//! 1. **Features**: the encoder in evaluation mode (batch norm with its running statistics, as
//!    the paper's `compute_features`) on the centre crop (`--patch`) of every pool window
//!    (`--window`, half-overlapping grid), pooled over space: one 512-vector per window.
//! 2. **Preprocessing**: every feature standardised over the windows (zero mean, unit variance),
//!    then every row L2-normalised. The paper PCA-whitens to 256 dimensions before the L2 norm;
//!    with a few hundred to a few thousand windows the 512 x 512 covariance is poorly estimated,
//!    so we keep the diagonal of the whitening (per-feature scaling) only.
//! 3. **k-means** (`kmeans.rs`, `--clusters` k, seeded by `--seed` and the epoch): the cluster of
//!    each window is its pseudo-label. No cluster is left empty (a large cluster is split).
//! 4. **A fresh linear classifier** (512 → k) with fresh optimiser moments: cluster indices are
//!    arbitrary from one clustering to the next, so last epoch's classifier means nothing now.
//!    The encoder keeps its optimiser state across epochs.
//! 5. **Steps**: `--steps-per-epoch` x `--batch` windows drawn uniformly over the non-empty
//!    clusters (each cluster equally often, whatever its size: the paper's guard against a
//!    degenerate solution where one huge cluster is all the classifier has to predict), one
//!    augmented view of each (random crop, flips, rotation, spectral jitter: `views.rs`), and
//!    cross-entropy of `classifier(pooled(encoder(view)))` against the window's pseudo-label;
//!    encoder and classifier are updated together (AdamW) at a constant `--lr`, as the paper
//!    trains at one constant rate. (The other methods' warm-up and cosine decay do not suit
//!    DeepCluster: every epoch starts a new classification problem, and under a decayed rate
//!    the late epochs' loss rises only because the new clusters are learnt more slowly, which
//!    hides whether the features improved; docs/training.md gives the measured losses.)
//!
//! The log records, per epoch, the mean loss and accuracy of the steps, the number of non-empty
//! clusters, the largest cluster's share, k-means' inertia and refills, and the normalised
//! mutual information between this epoch's and the previous epoch's assignments (the paper's
//! measure of how stable the clusters have become).

use super::heads::pooled;
use super::kmeans;
use super::views::{self, ViewAug};
use super::PretrainData;
use crate::cli::PretrainArgs;
use crate::data::patches::Patch;
use crate::nets::resnet::FEATURES;
use crate::nets::Network;
use crate::optim::AdamW;
use cloudmask::error::{Error, Result};
use cloudmask_tools::rng::Rng;
use serde_json::json;
use std::time::Instant;
use tch::{nn, nn::Module, Device, Kind, Tensor};

/// Lloyd iterations per clustering (faiss's default in DeepCluster is 20).
const KMEANS_ITERATIONS: usize = 20;
/// Windows per forward pass when computing features.
const FEATURE_BATCH: usize = 64;

pub fn run(
    a: &PretrainArgs,
    data: &PretrainData,
    net: Network,
    device: Device,
) -> Result<(Network, Vec<serde_json::Value>)> {
    let k = a.clusters;
    if k < 2 || k > data.pool.len() {
        return Err(Error::invalid(format!(
            "--clusters {k}: DeepCluster needs between 2 and the number of windows ({}) clusters",
            data.pool.len()
        )));
    }
    let dim = FEATURES as usize;
    let mut enc_opt = AdamW::over(&[("", &net.vs)], a.weight_decay);
    let mut history = Vec::new();
    let mut previous: Option<Vec<usize>> = None;
    for epoch in 1..=a.epochs {
        let started = Instant::now();
        let mut feats = features(&net, data, a.patch, device);
        standardise_and_normalise(&mut feats, dim);
        let clustering = kmeans::kmeans(
            &feats,
            dim,
            k,
            KMEANS_ITERATIONS,
            Rng::derived(a.seed, epoch as u64, 43).next_u64(),
        )?;
        let clustering_seconds = started.elapsed().as_secs_f64();

        let classifier_vs = nn::VarStore::new(device);
        let classifier = nn::linear(
            classifier_vs.root() / "classifier",
            FEATURES,
            k as i64,
            Default::default(),
        );
        let mut head_opt = AdamW::over(&[("classifier.", &classifier_vs)], a.weight_decay);
        let mut rng = Rng::derived(a.seed, epoch as u64, 41);
        let order = uniform_over_clusters(
            &clustering.assignments,
            k,
            a.steps_per_epoch * a.batch,
            &mut rng,
        );
        let encoder = net
            .encoder()
            .expect("DeepCluster pretrains a ResNet encoder");
        let (mut loss_sum, mut correct) = (0.0, 0i64);
        for (step, chunk) in order.chunks(a.batch).enumerate() {
            let items: Vec<Patch> = chunk.iter().map(|&i| data.pool[i]).collect();
            let labels: Vec<i64> = chunk
                .iter()
                .map(|&i| clustering.assignments[i] as i64)
                .collect();
            let labels = Tensor::from_slice(&labels).to_device(device);
            let mut view_rng = Rng::derived(a.seed, (epoch * 100_003 + step) as u64, 42);
            let x = super::views(data, &items, a.patch, &mut view_rng, device);
            let logits = classifier.forward(&pooled(&encoder.forward_t(&x, true)));
            let loss = logits.cross_entropy_for_logits(&labels);
            enc_opt.zero_grad();
            head_opt.zero_grad();
            loss.backward();
            enc_opt.step(a.lr);
            head_opt.step(a.lr);
            loss_sum += loss.double_value(&[]);
            correct += logits
                .argmax(1, false)
                .eq_tensor(&labels)
                .sum(Kind::Int64)
                .int64_value(&[]);
        }
        let sizes = clustering.sizes();
        let entry = json!({
            "epoch": epoch,
            "loss": loss_sum / a.steps_per_epoch as f64,
            "accuracy": correct as f64 / order.len() as f64,
            "clusters": sizes.iter().filter(|&&s| s > 0).count(),
            "largest_cluster": *sizes.iter().max().unwrap_or(&0) as f64 / data.pool.len() as f64,
            "kmeans_inertia": clustering.inertia,
            "kmeans_iterations": clustering.iterations,
            "kmeans_refills": clustering.reassigned,
            "nmi_previous": previous.as_ref().map(|p| nmi(p, &clustering.assignments)),
            "clustering_seconds": clustering_seconds,
            "seconds": started.elapsed().as_secs_f64(),
        });
        super::log_epoch(a, &entry, &mut history)?;
        previous = Some(clustering.assignments);
    }
    Ok((net, history))
}

/// Pooled evaluation-mode features of the centre crop of every pool window: rows of 512.
fn features(net: &Network, data: &PretrainData, size: usize, device: Device) -> Vec<f32> {
    let encoder = net
        .encoder()
        .expect("DeepCluster pretrains a ResNet encoder");
    let bands = data.bands.len();
    let mut out = Vec::with_capacity(data.pool.len() * FEATURES as usize);
    tch::no_grad(|| {
        for chunk in data.pool.chunks(FEATURE_BATCH) {
            let items: Vec<_> = chunk
                .iter()
                .map(|&(s, win)| {
                    let centre = ViewAug {
                        origin: ((win.2 - size) / 2, (win.3 - size) / 2),
                        ..ViewAug::identity(bands)
                    };
                    ((s, win), centre)
                })
                .collect();
            let x = views::batch(&data.scenes, &items, size, 0.0, &data.norm, device);
            let f = pooled(&encoder.forward_t(&x, false))
                .to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous()
                .view([-1]);
            out.extend(Vec::<f32>::try_from(&f).expect("float features"));
        }
    });
    out
}

/// Standardises each column of `rows` (rows of `dim`) over the rows, then scales each row to
/// unit length. A constant column (e.g. a channel ReLU keeps at zero) becomes zero.
pub fn standardise_and_normalise(rows: &mut [f32], dim: usize) {
    let n = rows.len() / dim;
    if n == 0 {
        return;
    }
    let mut mean = vec![0f64; dim];
    let mut sq = vec![0f64; dim];
    for r in rows.chunks(dim) {
        for (j, &v) in r.iter().enumerate() {
            mean[j] += v as f64;
            sq[j] += v as f64 * v as f64;
        }
    }
    let (mean, inv_std): (Vec<f64>, Vec<f64>) = mean
        .iter()
        .zip(&sq)
        .map(|(s, q)| {
            let m = s / n as f64;
            let sd = (q / n as f64 - m * m).max(0.0).sqrt();
            (m, if sd > 1e-6 { 1.0 / sd } else { 0.0 })
        })
        .unzip();
    for r in rows.chunks_mut(dim) {
        for (j, v) in r.iter_mut().enumerate() {
            *v = ((*v as f64 - mean[j]) * inv_std[j]) as f32;
        }
        let norm = r.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        r.iter_mut().for_each(|v| *v /= norm);
    }
}

/// The windows (indices into the clustered rows) of one epoch: `total` draws spread evenly over
/// the non-empty clusters (counts differ by at most one; which clusters get the extra draw is
/// random), each cluster's members taken in shuffled passes (without replacement until a
/// cluster is exhausted), the whole list shuffled.
pub fn uniform_over_clusters(
    assignments: &[usize],
    k: usize,
    total: usize,
    rng: &mut Rng,
) -> Vec<usize> {
    let mut members = vec![Vec::new(); k];
    for (i, &c) in assignments.iter().enumerate() {
        members[c].push(i);
    }
    let mut non_empty: Vec<usize> = (0..k).filter(|&c| !members[c].is_empty()).collect();
    if non_empty.is_empty() {
        return Vec::new();
    }
    rng.shuffle(&mut non_empty);
    let base = total / non_empty.len();
    let extra = total % non_empty.len();
    let mut out = Vec::with_capacity(total);
    for (rank, &c) in non_empty.iter().enumerate() {
        let want = base + usize::from(rank < extra);
        let pool = &mut members[c];
        let mut taken = 0;
        while taken < want {
            rng.shuffle(pool);
            let take = (want - taken).min(pool.len());
            out.extend_from_slice(&pool[..take]);
            taken += take;
        }
    }
    rng.shuffle(&mut out);
    out
}

/// Normalised mutual information of two labellings of the same items, I(a; b) / sqrt(H(a) H(b))
/// (1 for the same partition under any renaming, near 0 for unrelated ones).
pub fn nmi(a: &[usize], b: &[usize]) -> f64 {
    use std::collections::HashMap;
    let n = a.len() as f64;
    let mut joint: HashMap<(usize, usize), f64> = HashMap::new();
    let mut pa: HashMap<usize, f64> = HashMap::new();
    let mut pb: HashMap<usize, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_default() += 1.0 / n;
        *pa.entry(x).or_default() += 1.0 / n;
        *pb.entry(y).or_default() += 1.0 / n;
    }
    let entropy = |p: &HashMap<usize, f64>| -> f64 { p.values().map(|v| -v * v.ln()).sum() };
    let (ha, hb) = (entropy(&pa), entropy(&pb));
    if ha <= 0.0 || hb <= 0.0 {
        return if ha <= 0.0 && hb <= 0.0 { 1.0 } else { 0.0 };
    }
    let mi: f64 = joint
        .iter()
        .map(|(&(x, y), &p)| p * (p / (pa[&x] * pb[&y])).ln())
        .sum();
    (mi / (ha * hb).sqrt()).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_uniform_over_non_empty_clusters_whatever_their_size() {
        // Cluster 0: 100 windows, cluster 1: none, cluster 2: 10, cluster 3: a single window.
        let mut assignments = vec![0; 100];
        assignments.extend([2; 10]);
        assignments.push(3);
        for total in [90, 91, 7] {
            let mut rng = Rng::new(total as u64);
            let order = uniform_over_clusters(&assignments, 4, total, &mut rng);
            assert_eq!(order.len(), total);
            let counts = kmeans::sizes(
                &order.iter().map(|&i| assignments[i]).collect::<Vec<_>>(),
                4,
            );
            assert_eq!(counts[1], 0, "an empty cluster is never drawn");
            let drawn = [counts[0], counts[2], counts[3]];
            let (lo, hi) = (drawn.iter().min().unwrap(), drawn.iter().max().unwrap());
            assert!(hi - lo <= 1, "total {total}: {counts:?}");
        }
        // The large cluster is drawn without replacement while it has unused members.
        let mut rng = Rng::new(5);
        let order = uniform_over_clusters(&assignments, 4, 90, &mut rng);
        let mut big: Vec<usize> = order.iter().copied().filter(|&i| i < 100).collect();
        big.sort();
        big.dedup();
        assert_eq!(big.len(), 30);
        // The singleton is repeated to fill its share.
        assert_eq!(order.iter().filter(|&&i| i == 110).count(), 30);
        // The list is shuffled, not grouped by cluster.
        assert!(order
            .windows(2)
            .any(|w| assignments[w[0]] != assignments[w[1]]));
        assert!(order[..30]
            .iter()
            .any(|&i| assignments[i] != assignments[order[0]]));
    }

    #[test]
    fn features_are_standardised_then_unit_length() {
        let mut rows = vec![1.0f32, 10.0, 5.0, 3.0, 30.0, 5.0, 5.0, 20.0, 5.0];
        standardise_and_normalise(&mut rows, 3);
        for r in rows.chunks(3) {
            let norm: f32 = r.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-6, "{r:?}");
            assert_eq!(r[2], 0.0, "a constant feature carries nothing");
        }
        // Columns 0 and 1 are standardised to (-1.22, 0, 1.22) and (-1.22, 1.22, 0).
        assert!((rows[0] - rows[1]).abs() < 1e-6 && rows[0] < 0.0);
        assert!((rows[3]).abs() < 1e-6 && rows[4] > 0.9);
    }

    #[test]
    fn nmi_is_one_for_renamed_partitions_and_low_for_unrelated_ones() {
        let a = [0, 0, 1, 1, 2, 2, 2];
        let renamed = [5, 5, 3, 3, 0, 0, 0];
        assert!((nmi(&a, &renamed) - 1.0).abs() < 1e-12);
        let mut rng = Rng::new(2);
        let x: Vec<usize> = (0..5000).map(|_| rng.below(4)).collect();
        let y: Vec<usize> = (0..5000).map(|_| rng.below(4)).collect();
        assert!(nmi(&x, &y) < 0.01, "{}", nmi(&x, &y));
        let half: Vec<usize> = x.iter().map(|&v| v / 2).collect();
        let v = nmi(&x, &half);
        assert!(v > 0.5 && v < 1.0, "{v}");
    }
}
