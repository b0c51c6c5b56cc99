//! The correctness anchor: `--tiling ukis` reproduces the ukis-csmask Python package's own
//! output on the sample scene, for each of its four models, pixel for pixel.

mod common;

use cloudmask::engine::{MaskOptions, Products, Region, Tiling};

/// ukis codes (0 clear, 1 cloud, 2 shadow) in cloudmask's common codes.
fn ukis_to_common(c: u8) -> u8 {
    match c {
        0 => 1,
        1 => 2,
        2 => 4,
        other => panic!("unexpected ukis class {other}"),
    }
}

#[test]
fn ukis_mode_reproduces_all_four_reference_outputs() {
    let dir = common::data_dir();
    let scene = common::sample_scene();
    for (model_name, reference) in [
        ("ukis-6b-l1c", "ukis_6b_l1c.tif"),
        ("ukis-6b-l2a", "ukis_6b_l2a.tif"),
        ("ukis-4b-l1c", "ukis_4b_l1c.tif"),
        ("ukis-4b-l2a", "ukis_4b_l2a.tif"),
    ] {
        let model = common::model(model_name, 2);
        let options = MaskOptions {
            tiling: Tiling::Ukis,
            ..Default::default()
        };
        let window = Region {
            x: 0,
            y: 0,
            w: 512,
            h: 512,
        };
        let products = Products {
            valid: true,
            probabilities: false,
        };
        let result = common::mask_file(&model, &scene, window, &options, products).unwrap();

        let ref_path = dir
            .join("ukis-s2/reference")
            .join(reference)
            .to_string_lossy()
            .into_owned();
        let (_, _, ref_classes) = common::read_band_u8(&ref_path, 1);
        let (_, _, ref_valid) = common::read_band_u8(&ref_path, 2);
        let want: Vec<u8> = ref_classes.iter().map(|&c| ukis_to_common(c)).collect();
        let class_diff = want
            .iter()
            .zip(&result.classes)
            .filter(|(a, b)| a != b)
            .count();
        let valid = result.valid.unwrap();
        let valid_diff = ref_valid.iter().zip(&valid).filter(|(a, b)| a != b).count();
        assert_eq!(
            class_diff, 0,
            "{model_name}: {class_diff} class pixels differ from ukis-csmask"
        );
        assert_eq!(
            valid_diff, 0,
            "{model_name}: {valid_diff} valid-mask pixels differ from ukis-csmask"
        );
        if model_name == "ukis-6b-l1c" {
            let count = |code: u8| result.classes.iter().filter(|&&c| c == code).count();
            assert_eq!([count(1), count(2), count(4)], [160416, 63643, 38085]);
        }
    }
}
