//! Bad input to `cloudmask vrt` and to GDAL reading a virtual mask: a message and an exit
//! status, no crash, nothing written, and the user's files left as they were.

use crate::common::{self, output_text as text};
use crate::{cloudmask, path, setup, Setup};
use std::path::Path;

#[test]
fn bad_input_fails_with_a_message_and_leaves_the_vrt_alone() {
    let s = setup();
    let tmp = common::TempDir::new("plugin-exact-bad");
    the_command_refuses_before_writing(&s, &tmp);
    vrts_whose_image_model_or_runtime_went_missing_fail_unchanged(&s, &tmp);
    // A connection string without an image, straight to gdalinfo.
    let o = s.run("gdalinfo", &["CLOUDMASK:{\"model\":\"ukis-6b-l1c\"}"]);
    assert!(o.status.code().is_some_and(|c| c != 0), "{}", text(&o));
    assert!(text(&o).contains("names no image"), "{}", text(&o));
    // Nothing but our own files in the folder (no .aux.xml beside the user's files).
    let mut names: Vec<String> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("out.tif"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bad_model.vrt",
            "mask.vrt",
            "no_image.vrt",
            "scene.tif",
            "unknown_model.vrt"
        ]
    );
}

/// The command refuses what it can check before writing anything: an unknown model, too few
/// bands, a missing image.
fn the_command_refuses_before_writing(s: &Setup, tmp: &common::TempDir) {
    let unwritten = tmp.path("never.vrt");
    let o = cloudmask(s, &s.scene, &unwritten, &["--model", "no-such-model"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains("unknown model 'no-such-model'"),
        "{}",
        text(&o)
    );
    let o = cloudmask(s, &s.scene, &unwritten, &["--bands", "1,2,3"]);
    assert!(
        !o.status.success() && text(&o).contains("model needs 6 bands"),
        "{}",
        text(&o)
    );
    let o = cloudmask(s, "/nonexistent/scene.tif", &unwritten, &[]);
    assert!(
        !o.status.success() && text(&o).contains("does not exist"),
        "{}",
        text(&o)
    );
    assert!(!unwritten.exists());
}

/// A VRT whose image, model or runtime went missing after it was written: gdal_translate fails
/// (an exit status, not a signal) with what is missing, and the VRT is not rewritten.
fn vrts_whose_image_model_or_runtime_went_missing_fail_unchanged(s: &Setup, tmp: &common::TempDir) {
    let image = tmp.path("scene.tif");
    std::fs::copy(&s.scene, &image).unwrap();
    let vrt = tmp.path("mask.vrt");
    s.vrt(&path(&image), &vrt, &[]);
    let xml = std::fs::read_to_string(&vrt).unwrap();
    let model_path = xml
        .split("\"model\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let bad_model = tmp.path("bad_model.vrt");
    std::fs::write(
        &bad_model,
        xml.replace(&model_path, "/nonexistent/model.onnx"),
    )
    .unwrap();
    let no_image = tmp.path("no_image.vrt");
    std::fs::write(
        &no_image,
        xml.replace(&path(&image), "/nonexistent/scene.tif"),
    )
    .unwrap();
    let unknown = tmp.path("unknown_model.vrt");
    std::fs::write(&unknown, xml.replace(&model_path, "no-such-model")).unwrap();
    let cases: [(&Path, Option<&str>, &str); 4] = [
        (
            &bad_model,
            None,
            "model file /nonexistent/model.onnx does not exist",
        ),
        (&unknown, None, "unknown model 'no-such-model'"),
        (
            &no_image,
            None,
            "input raster /nonexistent/scene.tif does not exist",
        ),
        (
            &vrt,
            Some("/nonexistent/libonnxruntime.so"),
            "ONNX Runtime library /nonexistent/libonnxruntime.so does not exist",
        ),
    ];
    for (file, ort, message) in cases {
        let before = std::fs::read(file).unwrap();
        let out = tmp.path("out.tif");
        let mut c = s.command("gdal_translate");
        if let Some(ort) = ort {
            c.env("CLOUDMASK_ORT_LIB", ort);
        }
        let o = c.args([&path(file), &path(&out)]).output().unwrap();
        assert!(
            o.status.code().is_some_and(|c| c != 0),
            "{}: expected a failure without a crash: {:?} {}",
            file.display(),
            o.status,
            text(&o)
        );
        assert!(
            text(&o).contains(message),
            "{}: {}",
            file.display(),
            text(&o)
        );
        assert_eq!(
            std::fs::read(file).unwrap(),
            before,
            "{} changed",
            file.display()
        );
    }
}
