//! `cm_write_virtual_mask`, the C API's way to write the same virtual mask.

use crate::common::output_text as text;
use crate::{agreement, path, reference, setup};

#[test]
fn the_c_api_writes_the_same_virtual_mask() {
    use cloudmask::ffi::{cm_status, cm_write_virtual_mask};
    use std::ffi::CString;
    let s = setup();
    let (dir, cli, _) = reference();
    let c = |t: &str| CString::new(t).unwrap();
    let vrt = dir.join("c_api.vrt");
    let (image, model, outputs, out) =
        (c(&s.scene), c("ukis-6b-l1c"), c("classes"), c(&path(&vrt)));
    let status = cm_write_virtual_mask(
        image.as_ptr(),
        model.as_ptr(),
        std::ptr::null(),
        std::ptr::null(),
        outputs.as_ptr(),
        out.as_ptr(),
    );
    assert_eq!(status, cm_status::CM_OK);
    let tif = dir.join("c_api.tif");
    let o = s.run("gdal_translate", &["-q", &path(&vrt), &path(&tif)]);
    assert!(o.status.success(), "gdal_translate: {}", text(&o));
    assert_eq!(agreement(&path(&tif), cli), (512 * 512, 512 * 512));

    // Georeferencing is carried into the virtual mask.
    let geo = dir.join("geo.tif");
    let o = s.run(
        "gdal_translate",
        &[
            "-q",
            "-a_srs",
            "EPSG:32632",
            "-a_ullr",
            "500000",
            "5015360",
            "515360",
            "5000000",
            &s.scene,
            &path(&geo),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (geo_image, geo_out) = (c(&path(&geo)), c(&path(&dir.join("geo_mask.vrt"))));
    let status = cm_write_virtual_mask(
        geo_image.as_ptr(),
        model.as_ptr(),
        std::ptr::null(),
        std::ptr::null(),
        outputs.as_ptr(),
        geo_out.as_ptr(),
    );
    assert_eq!(status, cm_status::CM_OK);
    let ds = cloudmask::raster::Dataset::open(&path(&dir.join("geo_mask.vrt"))).unwrap();
    assert_eq!(
        ds.geo_transform(),
        Some([500000.0, 30.0, 0.0, 5015360.0, 0.0, -30.0])
    );
    assert!(ds.projection().contains("32632"), "{}", ds.projection());

    let bad = dir.join("c_api_bad.vrt");
    let (nope, bad_out) = (c("no-such-model"), c(&path(&bad)));
    let status = cm_write_virtual_mask(
        image.as_ptr(),
        nope.as_ptr(),
        std::ptr::null(),
        std::ptr::null(),
        std::ptr::null(),
        bad_out.as_ptr(),
    );
    assert_eq!(status, cm_status::CM_ERROR_MODEL);
    assert!(!bad.exists());
}
