//! The exported ONNX file computes the same function as the trained network: libtorch's
//! evaluation-mode forward pass against ONNX Runtime's, on random inputs, for both networks.

use crate::checkpoint::{self, CheckpointInfo};
use crate::export::{export, ExportOptions};
use crate::nets::{Arch, NetSpec, Network};
use tch::{Device, Kind, Tensor};

fn parity(arch: &str, size: i64) -> f32 {
    tch::manual_seed(11);
    let spec = NetSpec {
        arch: Arch::parse(arch).unwrap(),
        in_channels: 6,
        classes: 3,
    };
    let net = Network::new(&spec, Device::Cpu);
    // Move the batch-norm running statistics away from their initial 0/1, and perturb every
    // weight, so the test sees them all.
    tch::no_grad(|| {
        for _ in 0..3 {
            let x = Tensor::randn([4, 6, size, size], (Kind::Float, Device::Cpu)) * 2.0 + 0.5;
            let _ = net.forward_t(&x, true);
        }
        for (_, mut v) in net.vs.variables() {
            let noise = v.randn_like() * 0.05;
            let _ = v.g_add_(&noise);
        }
    });
    let dir = std::env::temp_dir().join(format!(
        "cm-parity-{}-{}",
        std::process::id(),
        arch.replace([':', ','], "_")
    ));
    let info = CheckpointInfo {
        format: checkpoint::FORMAT.into(),
        spec: spec.clone(),
        bands: ["blue", "green", "red", "nir", "swir16", "swir22"]
            .map(String::from)
            .to_vec(),
        classes: ["clear", "cloud", "cloud shadow"]
            .map(String::from)
            .to_vec(),
        mean: vec![0.1; 6],
        std: vec![0.2; 6],
        epoch: 1,
        settings: serde_json::Value::Null,
        best_val_loss: None,
        best_epoch: 1,
        stale_epochs: 0,
        history: Vec::new(),
        data: serde_json::Value::Null,
    };
    checkpoint::save(&dir.join("ckpt"), &info, &net, None).unwrap();
    let onnx = dir.join("m.onnx");
    let card = export(
        &dir.join("ckpt"),
        &onnx,
        &ExportOptions {
            name: "parity",
            product_level: "any",
            tile_size: None,
            resolution_m: None,
            description: None,
        },
    )
    .unwrap();
    assert_eq!(card.size_multiple, spec.size_multiple());

    let x = Tensor::randn([2, 6, size, size], (Kind::Float, Device::Cpu));
    let expected =
        Vec::<f32>::try_from(tch::no_grad(|| net.forward_t(&x, false)).flatten(0, -1)).unwrap();
    let input = Vec::<f32>::try_from(x.flatten(0, -1)).unwrap();
    let model =
        match cloudmask::Model::load(onnx.to_str().unwrap(), &cloudmask::ModelOptions::default()) {
            Ok(m) => m,
            Err(e) if e.kind == cloudmask::ErrorKind::RuntimeNotFound => {
                eprintln!("skipping: ONNX Runtime not found ({e})");
                return 0.0;
            }
            Err(e) => panic!("{e}"),
        };
    let got = model.run(&input, 2, size as usize).unwrap();
    assert_eq!(got.len(), expected.len());
    let diff = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{arch} {size}: max abs difference {diff:e}");
    diff
}

#[test]
fn exported_unet_matches_libtorch() {
    for size in [64, 96] {
        let d = parity("unet:8,16,32,64", size);
        assert!(d < 1e-4, "U-Net {size}: max abs difference {d}");
    }
}

#[test]
fn exported_resnet_matches_libtorch() {
    for size in [64, 128] {
        let d = parity("resnet18:64", size);
        assert!(d < 1e-4, "ResNet-18 {size}: max abs difference {d}");
    }
}
