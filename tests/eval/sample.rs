//! The sample tile of ../shared/data: the published kappa of ukis-csmask, the variant that is
//! not it, and a model run on the fly scoring like its reference output.

use crate::common::{self, output_text as text};
use crate::{cloudmask, predictor, report, s, write_tif};

#[test]
fn kappa_of_ukis_csmask_6b_l1c_on_the_sample_tile_is_0_8095() {
    let data = common::data_dir();
    let d = data.join("ukis-s2");
    let tmp = common::TempDir::new("eval-kappa");
    let mut args: Vec<String> = [
        "eval",
        "-r",
        &s(&d.join("labels.tif")),
        "--reference-scheme",
        "0=shadow,1-3=clear,4=cloud",
        "-o",
        &s(&tmp.0),
        "-q",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    for m in ["6b_l1c", "6b_l2a", "4b_l1c", "4b_l2a"] {
        let name = format!("ukis-{}", m.replace('_', "-"));
        args.push("-p".into());
        args.push(format!(
            "{name}={}",
            s(&d.join(format!("reference/ukis_{m}.tif")))
        ));
        args.push("--scheme".into());
        args.push(format!("{name}=ukis"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = cloudmask(&refs);
    assert!(o.status.success(), "{}", text(&o));
    let r = report(&tmp.0);
    let p = predictor(&r, "ukis-6b-l1c");
    // Over all 512 x 512 pixels (labels.tif has no nodata), band 1 of the reference output.
    assert_eq!(p["pixels"], 262_144);
    let kappa = p["kappa"].as_f64().unwrap();
    assert!((kappa - 0.8095).abs() <= 0.0005, "kappa {kappa}");
    assert!(
        text(&o).contains("ukis-6b-l1c") && text(&o).contains("0.8095"),
        "{}",
        text(&o)
    );
    // The other models are scored too, each differently.
    let kappas: Vec<f64> = ["ukis-6b-l2a", "ukis-4b-l1c", "ukis-4b-l2a"]
        .iter()
        .map(|n| predictor(&r, n)["kappa"].as_f64().unwrap())
        .collect();
    assert!(
        kappas.iter().all(|k| (k - kappa).abs() > 0.01 && *k > 0.7),
        "{kappas:?}"
    );
}

#[test]
fn valid_pixels_only_is_not_the_published_variant() {
    // The other natural variant: only pixels the reference output marks valid (band 2). There
    // ukis-csmask predicts clear everywhere, so kappa collapses to 0: 0.8095 is over all pixels.
    let data = common::data_dir();
    let d = data.join("ukis-s2");
    let (w, h, labels) = common::read_band_u8(&s(&d.join("labels.tif")), 1);
    let (_, _, valid) = common::read_band_u8(&s(&d.join("reference/ukis_6b_l1c.tif")), 2);
    let masked: Vec<u8> = labels
        .iter()
        .zip(&valid)
        .map(|(&l, &v)| if v == 1 { l } else { 255 })
        .collect();
    let tmp = common::TempDir::new("eval-valid-only");
    let reference = tmp.path("labels_valid_only.tif");
    write_tif(&reference, w, h, &masked, None, None);
    let out = tmp.path("report");
    let o = cloudmask(&[
        "eval",
        "-r",
        &s(&reference),
        "--reference-scheme",
        "0=shadow,1-3=clear,4=cloud,255=nodata",
        "-p",
        &format!("u={}", s(&d.join("reference/ukis_6b_l1c.tif"))),
        "--scheme",
        "u=ukis",
        "-o",
        &s(&out),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let p = predictor(&report(&out), "u").clone();
    let n_valid = valid.iter().filter(|&&v| v == 1).count();
    assert_eq!(p["pixels"], n_valid as u64);
    assert!(p["kappa"].as_f64().unwrap().abs() < 1e-9, "{p}");
}

#[test]
fn a_model_run_on_the_fly_scores_like_its_reference_output() {
    let data = common::data_dir();
    common::require_model("ukis-6b-l1c");
    let d = data.join("ukis-s2");
    let tmp = common::TempDir::new("eval-model");
    let o = cloudmask(&[
        "eval",
        "-r",
        &s(&d.join("labels.tif")),
        "--reference-scheme",
        "0=shadow,1-3=clear,4=cloud",
        "-p",
        &format!("python={}", s(&d.join("reference/ukis_6b_l1c.tif"))),
        "--scheme",
        "python=ukis",
        "-p",
        "ours=model:ukis-6b-l1c",
        "--images",
        &s(&d.join("s2_6band.tif")),
        "--threads",
        "2",
        "-o",
        &s(&tmp.0),
        "--format",
        "json",
        "-q",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let r = report(&tmp.0);
    let (python, ours) = (predictor(&r, "python"), predictor(&r, "ours"));
    assert_eq!(ours["source"], "model:ukis-6b-l1c");
    // The engine reproduces ukis-csmask pixel for pixel, so the matrices are identical.
    assert_eq!(ours["confusion"], python["confusion"]);
    assert!((ours["kappa"].as_f64().unwrap() - 0.8095).abs() <= 0.0005);

    let o = cloudmask(&[
        "eval",
        "-r",
        &s(&d.join("labels.tif")),
        "-p",
        "ours=model:ukis-6b-l1c",
        "-o",
        &s(&tmp.0),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("needs the image to mask"), "{}", text(&o));
}
