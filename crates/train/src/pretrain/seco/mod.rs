//! SeCo, Seasonal Contrast (Mañas et al., ICCV 2021): contrastive pretraining on images of the
//! same footprint taken at different dates, with three embedding subspaces.
//!
//! **Data** (`--locations FILE`): one location per line, `name: date1.tif date2.tif …`, at least
//! two co-registered rasters (same size, and the same CRS and geotransform where the files say)
//! per location; whitespace or commas separate paths, relative paths are relative to the list,
//! `#` starts a comment. Windows (`--window`, half-overlapping grid) are kept where every date
//! has data on at least half the pixels; a window is the same footprint on every date.
//!
//! **Sampling** (one item of a batch): a location uniformly, one of its windows uniformly, a
//! reference date t0, and two other dates t1 ≠ t0 and t2 ≠ t0 (t1 ≠ t2 when the location has
//! three dates or more; with two dates t1 = t2). Four views of that footprint, each with its own
//! random crop of `--patch` pixels inside the window (the paper's random resized crop, applied to
//! every view):
//! - `q`: t0, no artificial augmentation;
//! - `k_both`: t1 with an artificial augmentation (flips, a rotation by a multiple of 90°,
//!   per-band gain and offset, noise: `views.rs`): another season *and* another augmentation;
//! - `k_season`: t2, no artificial augmentation: another season only;
//! - `k_aug`: t0 with an artificial augmentation: another augmentation only.
//!
//! **Objective**: a query encoder (trained) and a key encoder (momentum copy, `momentum.rs`), one
//! shared 512-feature representation, and three projection heads per side (`heads.rs`), one per
//! embedding subspace, each with its own queue of negatives (`queue.rs`). The loss is the sum of
//! three InfoNCE terms; per subspace, the query is `head_i(q)` and:
//! - **Z0, invariant to everything**: positive `k_both`; negatives: queue 0 (keys of other
//!   windows from earlier batches). Nothing about the footprint's season or augmentation may
//!   move it.
//! - **Z1, invariant to augmentation, sensitive to season**: positive `k_aug` (same date);
//!   negatives: queue 1, plus the `k_both` and `k_season` keys of the whole batch, the item's own
//!   included. The same place at another date must land elsewhere.
//! - **Z2, invariant to season, sensitive to augmentation**: positive `k_season` (same
//!   augmentation, i.e. none); negatives: queue 2, plus the `k_both` and `k_aug` keys of the
//!   whole batch, the item's own included. The same place under another augmentation must land
//!   elsewhere.
//!
//! Each queue receives its subspace's positive keys after the step. As in the authors' code, the
//! queues start full of random unit vectors, so every step sees the same number of negatives
//! (and losses of different epochs compare). The encoder's pooled features (the concatenation of
//! what the three heads see) are what fine-tuning starts from.

mod locations;

pub use locations::{load, Locations, Pick};

use super::heads::{info_nce, normalise, pooled, Projection};
use super::momentum::{ema_update, key_network, HeadPair};
use super::queue::Queue;
use super::views::{self, Jitter, ViewAug};
use super::PretrainData;
use crate::cli::PretrainArgs;
use crate::data::scene::Window;
use crate::nets::resnet::FEATURES;
use crate::nets::Network;
use crate::optim::{learning_rate, AdamW};
use cloudmask::error::{Error, Result};
use cloudmask_tools::rng::Rng;
use serde_json::json;
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// The subspaces, in the order of the heads, queues and logged losses.
pub const SUBSPACES: [&str; 3] = ["invariant", "season", "augmentation"];

pub struct SecoConfig {
    pub queue: i64,
    pub momentum: f64,
    pub temperature: f64,
    pub dim: i64,
}

/// The four views of a batch (N x C x S x S each); see the module notes.
pub struct Views {
    pub q: Tensor,
    pub k_both: Tensor,
    pub k_season: Tensor,
    pub k_aug: Tensor,
}

/// Losses and top-1 accuracies (the positive scores above every negative) of one step, per
/// subspace.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepStats {
    pub loss: [f64; 3],
    pub accuracy: [f64; 3],
}

pub struct Seco {
    pub query: Network,
    key: Network,
    heads: HeadPair<Vec<Projection>>,
    /// Negatives of each embedding subspace (one per head).
    queues: Vec<Queue>,
    cfg: SecoConfig,
}

impl Seco {
    pub fn new(query: Network, cfg: SecoConfig) -> Seco {
        let device = query.vs.device();
        let key = key_network(&query);
        let heads = HeadPair::new(device, |vs| {
            (0..3)
                .map(|i| {
                    Projection::new(&(vs.root() / format!("z{i}")), FEATURES, FEATURES, cfg.dim)
                })
                .collect::<Vec<_>>()
        });
        let queues = (0..3)
            .map(|_| {
                let mut q = Queue::new(cfg.queue, cfg.dim, device);
                q.push(&normalise(&Tensor::randn(
                    [cfg.queue, cfg.dim],
                    (Kind::Float, device),
                )));
                q
            })
            .collect();
        Seco {
            query,
            key,
            heads,
            queues,
            cfg,
        }
    }

    pub fn optimizer(&self, weight_decay: f64) -> AdamW {
        AdamW::over(
            &[("", &self.query.vs), ("heads.", &self.heads.q_vs)],
            weight_decay,
        )
    }

    /// One step; the loss optimised is the sum of the three subspaces' losses.
    pub fn step(&mut self, v: &Views, opt: &mut AdamW, lr: f64) -> StepStats {
        let encoder = self
            .query
            .encoder()
            .expect("SeCo pretrains a ResNet encoder");
        let h_q = pooled(&encoder.forward_t(&v.q, true));
        // Key features, in the order [k_both, k_aug, k_season]: key j is the positive of
        // subspace j (Z0: k_both, Z1: k_aug, Z2: k_season).
        let h_k: Vec<Tensor> = tch::no_grad(|| {
            let enc = self.key.encoder().expect("ResNet");
            [&v.k_both, &v.k_aug, &v.k_season]
                .iter()
                .map(|x| pooled(&enc.forward_t(x, true)))
                .collect()
        });
        let mut stats = StepStats::default();
        let mut total: Option<Tensor> = None;
        let mut positives = Vec::with_capacity(3);
        for i in 0..3 {
            let z_q = self.heads.q[i].forward(&h_q);
            let z_k: Vec<Tensor> =
                tch::no_grad(|| h_k.iter().map(|h| self.heads.k[i].forward(h)).collect());
            let negatives = negatives(i, self.queues[i].keys(), &z_k);
            let loss = info_nce(&z_q, &z_k[i], &negatives, self.cfg.temperature);
            stats.loss[i] = loss.double_value(&[]);
            stats.accuracy[i] = tch::no_grad(|| top1(&z_q, &z_k[i], &negatives));
            total = Some(match total {
                None => loss,
                Some(t) => t + loss,
            });
            positives.push(z_k[i].shallow_clone());
        }
        let total = total.expect("three subspaces");
        opt.zero_grad();
        total.backward();
        opt.step(lr);
        ema_update(&self.key.vs, &self.query.vs, self.cfg.momentum);
        self.heads.follow(self.cfg.momentum);
        for (queue, k) in self.queues.iter_mut().zip(&positives) {
            queue.push(k);
        }
        stats
    }
}

/// The negatives of subspace `i`: its queue, and for Z1 and Z2 the batch's keys (projected by
/// head `i`) of the two views that are not its positive. `keys` is ordered as the subspaces'
/// positives: `[k_both, k_aug, k_season]`.
fn negatives(i: usize, queue: Tensor, keys: &[Tensor]) -> Tensor {
    let mut all = vec![queue];
    if i > 0 {
        all.extend(
            (0..keys.len())
                .filter(|&j| j != i)
                .map(|j| keys[j].shallow_clone()),
        );
    }
    Tensor::cat(&all, 0)
}

/// Share of rows whose positive scores above every negative.
fn top1(q: &Tensor, positive: &Tensor, negatives: &Tensor) -> f64 {
    let pos = (q * positive).sum_dim_intlist([1i64].as_slice(), false, Kind::Float);
    let neg = q.matmul(&negatives.tr()).amax([1i64].as_slice(), false);
    pos.gt_tensor(&neg)
        .to_kind(Kind::Float)
        .mean(Kind::Float)
        .double_value(&[])
}

/// A view with its own random crop and no artificial augmentation.
fn plain(rng: &mut Rng, window: Window, size: usize, bands: usize) -> ViewAug {
    ViewAug {
        origin: (
            rng.below(window.2 - size + 1),
            rng.below(window.3 - size + 1),
        ),
        ..ViewAug::identity(bands)
    }
}

/// The four views of a batch of picks.
pub fn make_views(
    data: &PretrainData,
    picks: &[Pick],
    size: usize,
    rng: &mut Rng,
    device: Device,
) -> Views {
    let jitter = Jitter::default();
    let bands = data.bands.len();
    let mut render = |date: fn(&Pick) -> usize, augmented: bool| {
        let items: Vec<_> = picks
            .iter()
            .map(|p| {
                let aug = if augmented {
                    ViewAug::random(rng, p.window, size, bands, jitter)
                } else {
                    plain(rng, p.window, size, bands)
                };
                ((date(p), p.window), aug)
            })
            .collect();
        let noise = if augmented { jitter.noise } else { 0.0 };
        views::batch(&data.scenes, &items, size, noise, &data.norm, device)
    };
    Views {
        q: render(|p| p.t0, false),
        k_both: render(|p| p.t1, true),
        k_season: render(|p| p.t2, false),
        k_aug: render(|p| p.t0, true),
    }
}

pub fn run(
    a: &PretrainArgs,
    data: &PretrainData,
    locations: &Locations,
    net: Network,
    device: Device,
) -> Result<(Network, Vec<serde_json::Value>)> {
    if a.queue < 1 {
        return Err(Error::invalid("--queue must be positive"));
    }
    let mut seco = Seco::new(
        net,
        SecoConfig {
            queue: a.queue,
            momentum: a.momentum,
            temperature: a.temperature,
            dim: 128,
        },
    );
    let mut opt = seco.optimizer(a.weight_decay);
    let total = (a.epochs * a.steps_per_epoch) as i64;
    let mut history = Vec::new();
    for epoch in 1..=a.epochs {
        let started = Instant::now();
        let mut sum = StepStats::default();
        for step in 0..a.steps_per_epoch {
            let mut rng = Rng::derived(a.seed, (epoch * 100_003 + step) as u64, 51);
            let picks: Vec<Pick> = (0..a.batch).map(|_| locations.sample(&mut rng)).collect();
            let views = make_views(data, &picks, a.patch, &mut rng, device);
            let lr = learning_rate(a.lr, opt.step, total);
            let s = seco.step(&views, &mut opt, lr);
            for i in 0..3 {
                sum.loss[i] += s.loss[i] / a.steps_per_epoch as f64;
                sum.accuracy[i] += s.accuracy[i] / a.steps_per_epoch as f64;
            }
        }
        let mut entry = json!({
            "epoch": epoch,
            "loss": sum.loss.iter().sum::<f64>(),
            "seconds": started.elapsed().as_secs_f64(),
        });
        for (i, name) in SUBSPACES.iter().enumerate() {
            entry[format!("loss_{name}")] = json!(sum.loss[i]);
            entry[format!("accuracy_{name}")] = json!(sum.accuracy[i]);
        }
        super::log_epoch(a, &entry, &mut history)?;
    }
    Ok((seco.query, history))
}

#[cfg(test)]
mod tests {
    use super::locations::{check_coregistered, parse_locations, Location};
    use super::*;
    use crate::data::patches::Normalisation;
    use crate::data::scene::Scene;
    use std::path::Path;

    #[test]
    fn the_sampler_pairs_only_dates_of_one_footprint() {
        // Location 0: three dates (scenes 0, 1, 2); location 1: two dates (scenes 3, 4);
        // location 2: four dates (5..9). Windows differ per location.
        let locations = Locations {
            names: vec!["a".into(), "b".into(), "c".into()],
            dates: vec![vec![0, 1, 2], vec![3, 4], vec![5, 6, 7, 8]],
            windows: vec![
                vec![(0, 0, 64, 64), (32, 0, 64, 64)],
                vec![(0, 32, 64, 64)],
                vec![(16, 16, 64, 64), (48, 48, 64, 64), (0, 0, 64, 64)],
            ],
        };
        let mut rng = Rng::new(9);
        let mut seen_reference = [false; 9];
        let mut seen_location = [0usize; 3];
        for _ in 0..3000 {
            let p = locations.sample(&mut rng);
            let dates = &locations.dates[p.location];
            assert!(locations.windows[p.location].contains(&p.window), "{p:?}");
            assert!(
                dates.contains(&p.t0) && dates.contains(&p.t1) && dates.contains(&p.t2),
                "{p:?}"
            );
            assert_ne!(p.t0, p.t1, "{p:?}");
            assert_ne!(p.t0, p.t2, "{p:?}");
            if dates.len() >= 3 {
                assert_ne!(p.t1, p.t2, "three dates available: {p:?}");
            } else {
                assert_eq!(p.t1, p.t2);
            }
            seen_reference[p.t0] = true;
            seen_location[p.location] += 1;
        }
        assert!(
            seen_reference.iter().all(|&s| s),
            "every date serves as reference"
        );
        assert!(
            seen_location.iter().all(|&n| n > 900),
            "locations are drawn uniformly: {seen_location:?}"
        );
    }

    #[test]
    fn views_come_from_the_picked_dates_and_plain_views_are_unaugmented() {
        // Two one-band "dates" of one footprint: date 1 = 10 x date 0.
        let scene = |gain: f32| Scene {
            name: "t".into(),
            width: 8,
            height: 8,
            n_bands: 1,
            bands: (0..64).map(|v| 1.0 + v as f32 * gain).collect(),
            labels: vec![0; 64],
        };
        let data = PretrainData {
            scenes: vec![scene(1.0), scene(10.0)],
            pool: vec![(0, (0, 0, 8, 8))],
            norm: Normalisation {
                mean: vec![0.0],
                std: vec![1.0],
            },
            bands: vec!["blue".into()],
        };
        let pick = Pick {
            location: 0,
            window: (0, 0, 8, 8),
            t0: 0,
            t1: 1,
            t2: 1,
        };
        let v = make_views(&data, &[pick], 8, &mut Rng::new(3), Device::Cpu);
        let values = |t: &Tensor| Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
        assert_eq!(values(&v.q), data.scenes[0].bands, "q: date t0 as it is");
        assert_eq!(
            values(&v.k_season),
            data.scenes[1].bands,
            "k_season: date t2 as it is"
        );
        let (both, aug) = (values(&v.k_both), values(&v.k_aug));
        assert!(
            both.iter().sum::<f32>() > 5.0 * aug.iter().sum::<f32>(),
            "k_both from date t1, k_aug from t0"
        );
        assert_ne!(aug, data.scenes[0].bands, "k_aug is augmented");
    }

    #[test]
    fn each_subspace_gets_the_documented_negatives() {
        // Keys of a batch of 2 as [k_both, k_aug, k_season], marked 1, 2, 3; queue rows 9.
        let mark =
            |v: f32, rows: i64| Tensor::full([rows, 2], v as f64, (Kind::Float, Device::Cpu));
        let keys = [mark(1.0, 2), mark(2.0, 2), mark(3.0, 2)];
        let marks = |i: usize| {
            Vec::<f32>::try_from(negatives(i, mark(9.0, 3), &keys).select(1, 0)).unwrap()
        };
        // Z0, invariant to everything: the queue only.
        assert_eq!(marks(0), [9.0, 9.0, 9.0]);
        // Z1, positive k_aug (same date): other-date keys k_both and k_season are negatives.
        assert_eq!(marks(1), [9.0, 9.0, 9.0, 1.0, 1.0, 3.0, 3.0]);
        // Z2, positive k_season (same augmentation): the augmented keys k_both and k_aug are.
        assert_eq!(marks(2), [9.0, 9.0, 9.0, 1.0, 1.0, 2.0, 2.0]);
    }

    fn write(dir: &Path, name: &str, text: &str) -> String {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_string_lossy().into_owned()
    }

    /// A one-band VRT of `w` x `h` with a geotransform (no sources: it reads as zeros).
    fn vrt(dir: &Path, name: &str, w: usize, h: usize, x0: f64) -> String {
        write(
            dir,
            name,
            &format!(
                r#"<VRTDataset rasterXSize="{w}" rasterYSize="{h}"><GeoTransform>{x0}, 30, 0, 1000, 0, -30</GeoTransform><VRTRasterBand dataType="Float32" band="1"><Description>blue</Description></VRTRasterBand></VRTDataset>"#
            ),
        )
    }

    #[test]
    fn location_lists_parse_and_bad_ones_are_refused() {
        let base = Path::new("/data/series");
        let ok = "# SeCo locations\nalps: 2020-01.tif 2020-07.tif, /abs/2021-01.tif\n\n  coast : a.tif b.tif # two dates\n";
        let l = parse_locations(ok, base, "list").unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].name, "alps");
        assert_eq!(
            l[0].dates,
            [
                "/data/series/2020-01.tif",
                "/data/series/2020-07.tif",
                "/abs/2021-01.tif"
            ]
        );
        assert_eq!((l[1].name.as_str(), l[1].line), ("coast", 4));

        let err = |text: &str| parse_locations(text, base, "list").unwrap_err().to_string();
        let e = err("alps: a.tif b.tif\nlonely: only.tif\n");
        assert!(
            e.contains("line 2") && e.contains("'lonely' has 1 date"),
            "{e}"
        );
        assert!(err("a.tif b.tif\n").contains("no `name:`"));
        assert!(err("x: a.tif a.tif\n").contains("twice"));
        assert!(err("x: a.tif b.tif\nx: c.tif d.tif\n").contains("already on line 1"));
        assert!(err("# nothing\n").contains("names no locations"));
        assert!(err(": a.tif b.tif\n").contains("no name"));

        // Co-registration, on real (virtual) rasters.
        let dir = crate::files::scratch_dir("cloudmask-seco");
        let a = vrt(&dir, "a.vrt", 20, 20, 0.0);
        let b = vrt(&dir, "b.vrt", 20, 20, 0.0);
        let small = vrt(&dir, "small.vrt", 20, 16, 0.0);
        let shifted = vrt(&dir, "shifted.vrt", 20, 20, 300.0);
        let loc = |dates: &[&String]| Location {
            name: "x".into(),
            dates: dates.iter().map(|d| d.to_string()).collect(),
            line: 1,
        };
        check_coregistered(&loc(&[&a, &b])).unwrap();
        let e = check_coregistered(&loc(&[&a, &b, &small]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("20 x 16") && e.contains("co-registered"), "{e}");
        let e = check_coregistered(&loc(&[&a, &shifted]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("geotransforms"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
