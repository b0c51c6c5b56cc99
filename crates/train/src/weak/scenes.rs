//! The scenes of a weak run and their labelled blocks: listed or derived from label rasters,
//! then split into training and validation.

use super::blocks::{self, DeriveRule, ListedBlock};
use super::{BlockSource, WeakSettings};
use crate::data::labels::{LabelScheme, IGNORE};
use crate::data::samples::Sample;
use crate::data::scene::{Scene, SceneSpec, Window};
use cloudmask::error::{Error, Result};
use cloudmask::model::classes::CommonClass;
use cloudmask::raster::bandmap::BandSelection;
use cloudmask::raster::scaling::Scaling;
use std::path::Path;

/// A block ready to train: scene index, window, label.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    pub scene: usize,
    pub window: Window,
    pub cloudy: bool,
}

/// Scenes (bands only: labels are reduced to "has data") and their labelled blocks.
pub fn load(s: &WeakSettings) -> Result<(Vec<Scene>, Vec<Block>)> {
    let (mut scenes, blocks) = match &s.source {
        BlockSource::List { path } => load_list(Path::new(path), &s.bands)?,
        BlockSource::Labels {
            samples,
            label_map,
            rule,
        } => load_derived(samples, label_map, rule, &s.bands)?,
    };
    // From here on nothing but the block labels supervises: pixel labels are forgotten.
    for sc in &mut scenes {
        for l in &mut sc.labels {
            if *l != IGNORE {
                *l = 0;
            }
        }
    }
    if !blocks.iter().any(|b| b.cloudy) || blocks.iter().all(|b| b.cloudy) {
        return Err(Error::invalid(format!(
            "the block labels hold {} cloudy and {} clear blocks: training needs both (change --weak-clear-max / --weak-cloudy-min or --weak-block)",
            blocks.iter().filter(|b| b.cloudy).count(),
            blocks.iter().filter(|b| !b.cloudy).count()
        )));
    }
    Ok((scenes, blocks))
}

fn load_list(path: &Path, bands: &[String]) -> Result<(Vec<Scene>, Vec<Block>)> {
    let listed: Vec<ListedBlock> = blocks::read_list(path)?;
    let mut images: Vec<String> = Vec::new();
    let mut scenes: Vec<Scene> = Vec::new();
    let mut out = Vec::new();
    for b in listed {
        let scene = match images.iter().position(|i| *i == b.image) {
            Some(i) => i,
            None => {
                scenes.push(Scene::load_unlabelled(&b.image, bands)?);
                images.push(b.image.clone());
                images.len() - 1
            }
        };
        let sc = &scenes[scene];
        let (x, y, w, h) = b.window;
        if x + w > sc.width || y + h > sc.height {
            return Err(Error::window(format!(
                "{}: block {x} {y} {w} {h} does not fit {} ({} x {})",
                path.display(),
                b.image,
                sc.width,
                sc.height
            )));
        }
        out.push(Block {
            scene,
            window: b.window,
            cloudy: b.cloudy,
        });
    }
    Ok((scenes, out))
}

fn load_derived(
    samples: &[Sample],
    label_map: &str,
    rule: &DeriveRule,
    bands: &[String],
) -> Result<(Vec<Scene>, Vec<Block>)> {
    use CommonClass::{Clear, Cloud, Shadow};
    let scheme = LabelScheme::parse(label_map)?;
    // Thin cloud falls back to cloud; every other class is "not cloud".
    let lookup = scheme.lookup(&[Clear, Cloud, Shadow])?;
    let mut scenes = Vec::new();
    let mut out = Vec::new();
    for sample in samples {
        let sc = Scene::load(&SceneSpec {
            image: &sample.image,
            labels: &sample.labels,
            window: sample.window,
            band_names: bands,
            selection: &BandSelection::Auto,
            scaling: Scaling::Auto,
            lookup: &lookup,
            scheme_name: &scheme.name,
        })?;
        let cloud: Vec<Option<bool>> = sc
            .labels
            .iter()
            .map(|&l| (l != IGNORE).then_some(l == 1))
            .collect();
        if sc.width < rule.size || sc.height < rule.size {
            return Err(Error::invalid(format!(
                "{} ({} x {}) is smaller than one {}-pixel block; lower --weak-block",
                sc.name, sc.width, sc.height, rule.size
            )));
        }
        let scene = scenes.len();
        out.extend(
            blocks::derive(&cloud, sc.width, sc.height, rule)
                .into_iter()
                .map(|(window, cloudy)| Block {
                    scene,
                    window,
                    cloudy,
                }),
        );
        scenes.push(sc);
    }
    Ok((scenes, out))
}

/// Training and validation blocks: a block wholly inside the bottom `fraction` of its scene
/// validates, one crossing into it is dropped (its pixels would be seen by both).
pub fn split(scenes: &[Scene], blocks: &[Block], fraction: f64) -> (Vec<Block>, Vec<Block>) {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for b in blocks {
        let h = scenes[b.scene].height;
        let top = h - (h as f64 * fraction).round() as usize;
        let (_, y, _, bh) = b.window;
        if fraction == 0.0 || y + bh <= top {
            train.push(*b);
        } else if y >= top {
            val.push(*b);
        }
    }
    (train, val)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(w: usize, h: usize) -> Scene {
        Scene {
            name: "s".into(),
            width: w,
            height: h,
            bands: vec![0.0; w * h],
            n_bands: 1,
            labels: vec![0; w * h],
        }
    }

    #[test]
    fn validation_blocks_lie_wholly_in_the_bottom_strip() {
        let scenes = [scene(64, 64)];
        let b = |y: usize| Block {
            scene: 0,
            window: (0, y, 16, 16),
            cloudy: false,
        };
        let blocks = [b(0), b(32), b(40), b(48)];
        // Bottom quarter: rows 48..64.
        let (train, val) = split(&scenes, &blocks, 0.25);
        assert_eq!(train, [b(0), b(32)]);
        assert_eq!(val, [b(48)]);
        let (train, val) = split(&scenes, &blocks, 0.0);
        assert_eq!((train.len(), val.len()), (4, 0));
    }
}
