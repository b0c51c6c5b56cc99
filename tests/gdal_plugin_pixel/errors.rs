//! A VRT the pixel function cannot serve fails with a message and an exit status, no crash, no
//! output and the VRT unchanged; a VRT without SourceTransferType gets a warning.

use crate::common::{self, output_text as text};
use crate::{gdal, percent_identical, reference, setup, vrt, Setup, MODEL};

/// Runs gdal_translate on a VRT that must fail: non-zero exit (not a signal), the message,
/// and no complete output.
fn fails_with(
    s: &Setup,
    tmp: &common::TempDir,
    name: &str,
    vrt_text: &str,
    env: &[(&str, &str)],
    message: &str,
) {
    let vrt_path = tmp.path(&format!("{name}.vrt"));
    std::fs::write(&vrt_path, vrt_text).unwrap();
    let out = tmp.path(&format!("{name}.tif"));
    let o = gdal(
        s,
        "gdal_translate",
        &["-q", &vrt_path.to_string_lossy(), &out.to_string_lossy()],
        env,
    );
    let all = text(&o);
    assert!(
        o.status.code().is_some(),
        "{name}: killed by a signal: {all}"
    );
    assert!(!o.status.success(), "{name}: succeeded: {all}");
    assert!(
        all.contains(message),
        "{name}: expected '{message}' in: {all}"
    );
    assert!(!all.contains("panicked"), "{name}: {all}");
    // gdal_translate (GDAL 3.6.2) deletes the output it created when a read fails.
    assert!(!out.exists(), "{name}: {} was left behind", out.display());
    // The user's VRT is never written to.
    assert_eq!(
        std::fs::read_to_string(&vrt_path).unwrap(),
        vrt_text,
        "{name}: VRT modified"
    );
}

#[test]
fn bad_input_fails_with_a_message_and_no_crash() {
    let s = setup();
    let tmp = common::TempDir::new("pixel-bad");
    let good = format!("model=\"{MODEL}\" threads=\"1\"");
    sources_models_and_runtimes_that_do_not_fit(&s, &tmp, &good);
    arguments_the_function_refuses(&s, &tmp, &good);
}

/// Too few sources for the model, an unknown or missing model, a missing ONNX Runtime.
fn sources_models_and_runtimes_that_do_not_fit(s: &Setup, tmp: &common::TempDir, good: &str) {
    fails_with(
        s,
        tmp,
        "five",
        &vrt(s, "Byte", 512, good, true, 5),
        &[],
        "the VRT band has 5 source(s) but model ukis-6b-l1c needs 6",
    );
    fails_with(
        s,
        tmp,
        "unknown",
        &vrt(s, "Byte", 512, "model=\"no-such-model\"", true, 6),
        &[],
        "unknown model 'no-such-model'",
    );
    fails_with(
        s,
        tmp,
        "nomodel",
        &vrt(s, "Byte", 512, "threads=\"1\"", true, 6),
        &[],
        "argument model is missing",
    );
    fails_with(
        s,
        tmp,
        "noort",
        &vrt(s, "Byte", 512, good, true, 6),
        &[("CLOUDMASK_ORT_LIB", "/nonexistent")],
        "$CLOUDMASK_ORT_LIB: ONNX Runtime library /nonexistent does not exist",
    );
}

/// A library named in the VRT, output=prob without a class or with a class the model lacks,
/// an unknown output.
fn arguments_the_function_refuses(s: &Setup, tmp: &common::TempDir, good: &str) {
    fails_with(
        s,
        tmp,
        "ortarg",
        &vrt(
            s,
            "Byte",
            512,
            &format!("{good} ort=\"/nonexistent/libonnxruntime.so\""),
            true,
            6,
        ),
        &[],
        "argument ort: a VRT cannot name a library to load",
    );
    fails_with(
        s,
        tmp,
        "ortrelative",
        &vrt(
            s,
            "Byte",
            512,
            &format!("{good} ort=\"libonnxruntime.so\""),
            true,
            6,
        ),
        &[],
        "argument ort: a VRT cannot name a library to load",
    );
    fails_with(
        s,
        tmp,
        "noclass",
        &vrt(
            s,
            "Float32",
            512,
            &format!("{good} output=\"prob\""),
            true,
            6,
        ),
        &[],
        "output=prob needs class=<index>",
    );
    fails_with(
        s,
        tmp,
        "badclass",
        &vrt(
            s,
            "Float32",
            512,
            &format!("{good} output=\"prob\" class=\"7\""),
            true,
            6,
        ),
        &[],
        "class=\"7\" is not a class of model ukis-6b-l1c",
    );
    fails_with(
        s,
        tmp,
        "badoutput",
        &vrt(s, "Byte", 512, &format!("{good} output=\"mask\""), true, 6),
        &[],
        "use classes, valid or probabilities",
    );
}

/// Without `<SourceTransferType>Float32</SourceTransferType>`, GDAL 3.6 hands the float
/// reflectance to the function as Byte (the band's type), rounded to 0 or 1: the mask is wrong
/// and the function warns once.
#[test]
fn missing_source_transfer_type_warns_and_differs() {
    let s = setup();
    let tmp = common::TempDir::new("pixel-transfer");
    let vrt_path = tmp.path("notransfer.vrt");
    let args = format!("model=\"{MODEL}\" threads=\"2\"");
    let text_vrt = vrt(&s, "Byte", 512, &args, false, 6);
    std::fs::write(&vrt_path, &text_vrt).unwrap();
    let out = tmp.path("notransfer.tif");
    let o = gdal(
        &s,
        "gdal_translate",
        &[&vrt_path.to_string_lossy(), &out.to_string_lossy()],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("<SourceTransferType>Float32</SourceTransferType>"),
        "{}",
        text(&o)
    );
    let (_, _, got) = common::read_band_u8(&out.to_string_lossy(), 1);
    let parity = percent_identical(&got, &reference(&s).classes);
    let counts = |v: &[u8]| {
        (0..5)
            .map(|c| v.iter().filter(|&&x| x == c).count())
            .collect::<Vec<_>>()
    };
    eprintln!(
        "pixel function without SourceTransferType: {parity:.3} % identical to the CLI; class counts {:?} (CLI {:?})",
        counts(&got),
        counts(&reference(&s).classes)
    );
    assert!(parity < 100.0);
}
