//! What bad input to `cloudmask eval` gets: an exit status and a message that says what is
//! wrong, and no report.

use crate::common::{self, output_text as text};
use crate::fixture::Fixture;
use crate::{cloudmask, s, write_tif};
use std::path::PathBuf;

/// Runs `cloudmask ARGS…`, which must exit with `code` and say every one of `needles`.
fn expect_failure(args: &[&str], code: i32, needles: &[&str]) {
    let o = cloudmask(args);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(code), "{t}");
    for n in needles {
        assert!(t.contains(n), "{n:?} not in: {t}");
    }
}

#[test]
fn bad_input_gets_a_message_that_says_what_is_wrong() {
    let f = Fixture::new("eval-bad");
    let dir = &f.dir;
    let out = s(&dir.path("report"));
    let reference = s(&dir.path("ref/a.tif"));
    // Sizes differ: exit status 2 (CM_ERROR_INPUT).
    write_tif(&dir.path("small.tif"), 3, 2, &[0; 6], None, None);
    let small = format!("p={}", s(&dir.path("small.tif")));
    expect_failure(
        &[
            "eval", "-r", &reference, "-p", &small, "--scheme", "p=ukis", "-o", &out,
        ],
        2,
        &["prediction of p", "is 3 x 2 pixels but reference", "4 x 2"],
    );
    rasters_in_another_crs_are_input_errors(dir, &out);
    codes_the_scheme_does_not_map_are_named(dir, &reference, &out);
    bad_schemes_predictors_paths_and_beta_are_refused(dir, &reference, &small, &out);
    assert!(!PathBuf::from(&out).join("evaluation.json").exists());
}

/// A reference in UTM zone 33N and a prediction in 32N: exit status 2, both CRSs named.
fn rasters_in_another_crs_are_input_errors(dir: &common::TempDir, out: &str) {
    let utm32 = utm32();
    write_tif(
        &dir.path("r33.tif"),
        4,
        2,
        &[1; 8],
        Some(common::UTM33_WKT),
        None,
    );
    write_tif(&dir.path("p32.tif"), 4, 2, &[1; 8], Some(&utm32), None);
    let p32 = format!("p={}", s(&dir.path("p32.tif")));
    expect_failure(
        &[
            "eval",
            "-r",
            &s(&dir.path("r33.tif")),
            "-p",
            &p32,
            "-o",
            out,
        ],
        2,
        &["in CRS 'WGS 84 / UTM zone 32N'", "'WGS 84 / UTM zone 33N'"],
    );
}

/// Codes the scheme does not map (cloudmask's codes stop at 4): exit status 1, the codes, how
/// many pixels and which rows; a nodata value is not among them.
fn codes_the_scheme_does_not_map_are_named(dir: &common::TempDir, reference: &str, out: &str) {
    write_tif(
        &dir.path("odd.tif"),
        4,
        2,
        &[1, 7, 7, 9, 1, 1, 1, 1],
        None,
        None,
    );
    let odd = format!("p={}", s(&dir.path("odd.tif")));
    expect_failure(
        &["eval", "-r", reference, "-p", &odd, "-o", out],
        1,
        &[
            "prediction of p",
            "holds codes 7, 9 (3 pixels in rows 0-1)",
            "class scheme cloudmask",
        ],
    );
    // The same raster with its nodata value set: 7 and 9 are then the only codes that fail.
    write_tif(
        &dir.path("odd_nodata.tif"),
        4,
        2,
        &[1, 7, 7, 9, 1, 1, 1, 1],
        None,
        Some(9.0),
    );
    let odd_nodata = format!("p={}", s(&dir.path("odd_nodata.tif")));
    expect_failure(
        &["eval", "-r", reference, "-p", &odd_nodata, "-o", out],
        1,
        &["holds code 7 (2 pixels in rows 0-1)"],
    );
}

/// An unknown scheme, a scheme for no predictor, a missing reference and beta 0.
fn bad_schemes_predictors_paths_and_beta_are_refused(
    dir: &common::TempDir,
    reference: &str,
    small: &str,
    out: &str,
) {
    expect_failure(
        &[
            "eval",
            "-r",
            reference,
            "-p",
            small,
            "--scheme",
            "p=sen2cor",
            "-o",
            out,
        ],
        1,
        &["unknown class scheme 'sen2cor'", "scl"],
    );
    expect_failure(
        &[
            "eval", "-r", reference, "-p", small, "--scheme", "q=ukis", "-o", out,
        ],
        1,
        &["there is no --predictor q"],
    );
    expect_failure(
        &[
            "eval",
            "-r",
            &s(&dir.path("nowhere")),
            "-p",
            small,
            "-o",
            out,
        ],
        2,
        &["reference", "nowhere does not exist"],
    );
    expect_failure(
        &[
            "eval", "-r", reference, "-p", small, "--beta", "0", "-o", out,
        ],
        1,
        &["beta is 0"],
    );
}

/// common::UTM33_WKT moved to zone 32N: another CRS for the same pixels.
fn utm32() -> String {
    common::UTM33_WKT
        .replace("zone 33N", "zone 32N")
        .replace("\"central_meridian\",15", "\"central_meridian\",9")
        .replace("32633", "32632")
}
