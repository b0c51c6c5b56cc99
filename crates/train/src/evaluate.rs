//! Scoring a checkpoint on a labelled scene in-process (the experiment's held-out tile):
//! libtorch's evaluation forward pass over the whole scene, then the evaluation module's
//! confusion matrix over common classes.

use crate::checkpoint;
use crate::data::labels::{LabelScheme, IGNORE};
use crate::data::scene::{Scene, SceneSpec};
use crate::prepare::classes;
use cloudmask::error::Result;
use cloudmask::eval::confusion::Confusion;
use cloudmask::model::classes::CommonClass;
use cloudmask::raster::bandmap::BandSelection;
use cloudmask::raster::scaling::Scaling;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Confusion of the checkpoint's class map against `labels` (mapped by `label_map`).
pub fn score(
    ckpt: &Path,
    image: &str,
    labels: &str,
    label_map: &str,
    device: Device,
) -> Result<Confusion> {
    let (info, net) = checkpoint::load_network(ckpt, None, device)?;
    let model_classes: Vec<CommonClass> = classes(&info.classes)?;
    let scheme = LabelScheme::parse(label_map)?;
    let lookup = scheme.lookup(&model_classes)?;
    let scene = Scene::load(&SceneSpec {
        image,
        labels,
        window: None,
        band_names: &info.bands,
        selection: &BandSelection::Auto,
        scaling: Scaling::Auto,
        lookup: &lookup,
        scheme_name: &scheme.name,
    })?;
    let (w, h, c) = (
        scene.width as i64,
        scene.height as i64,
        scene.n_bands as i64,
    );
    let mut input = scene.bands.clone();
    let plane = (w * h) as usize;
    for b in 0..scene.n_bands {
        for v in &mut input[b * plane..(b + 1) * plane] {
            *v = ((*v as f64 - info.mean[b]) / info.std[b]) as f32;
        }
    }
    let m = info.spec.size_multiple() as i64;
    let (pw, ph) = ((m - w % m) % m, (m - h % m) % m);
    let x = Tensor::from_slice(&input)
        .view([1, c, h, w])
        .to_device(device);
    let x = if pw > 0 || ph > 0 {
        x.reflection_pad2d([0, pw, 0, ph])
    } else {
        x
    };
    let pred = tch::no_grad(|| net.forward_t(&x, false))
        .argmax(1, false)
        .narrow(1, 0, h)
        .narrow(2, 0, w)
        .to_kind(Kind::Int64)
        .to_device(Device::Cpu)
        .flatten(0, -1);
    let pred = Vec::<i64>::try_from(pred).expect("class indices");
    let code = |i: i64| model_classes[i as usize].code();
    let (mut reference, mut predicted) = (Vec::with_capacity(plane), Vec::with_capacity(plane));
    for (&truth, &p) in scene.labels.iter().zip(&pred) {
        if truth != IGNORE {
            reference.push(code(truth));
            predicted.push(code(p));
        }
    }
    let mut confusion = Confusion::default();
    confusion.add(&reference, &predicted);
    Ok(confusion)
}
