//! Landsat Collection 2 scenes (Level-1 top-of-atmosphere, Level-2 surface reflectance) opened
//! from their MTL (.txt, .json), their folder or their .tar mask exactly like a float GeoTIFF
//! of the same reflectance. Fixtures: tests/landsat/fixture.rs.

mod common;
#[path = "landsat/fixture.rs"]
mod fixture;

use cloudmask::error::ErrorKind;
use cloudmask::raster::products::{self, ProductLevel, LEVEL_KEY, PRODUCT_KEY};
use cloudmask::raster::Dataset;
use cloudmask::{MaskOptions, Model, Products, Region};
use fixture::{make, Kind, Scene, COMMON};
use std::path::Path;
use std::process::Command;

/// How many classes a mask holds, to check a fixture shows more than one.
fn classes_present(classes: &[u8]) -> usize {
    let mut seen = [false; 256];
    for &c in classes {
        seen[c as usize] = true;
    }
    seen.iter().filter(|&&s| s).count()
}

fn mask(model: &Model, path: &str, size: usize) -> Vec<u8> {
    let whole = Region {
        x: 0,
        y: 0,
        w: size,
        h: size,
    };
    let got = common::mask_file(
        model,
        path,
        whole,
        &MaskOptions::default(),
        Products::default(),
    )
    .unwrap_or_else(|e| panic!("masking {path}: {e}"));
    got.classes
}

/// A .tar of the scene's files, flat as USGS packs them.
fn tar(scene: &fixture::Scene, archive: &str) {
    let o = Command::new("tar")
        .args(["-cf", archive, "-C"])
        .arg(&scene.dir)
        .arg(".")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::output_text(&o));
}

/// The stack holds exactly the model's bands, scaled as the MTL says, fill as nodata, and
/// reads none of the QA or thermal files.
fn check_stack(path: &str, scene: &fixture::Scene, product: &str, level: &str) {
    let bands: Vec<String> = COMMON.iter().map(|s| s.to_string()).collect();
    let opened = products::open(path, &bands, None).unwrap();
    assert!(opened.stacked);
    let ds = &opened.dataset;
    assert_eq!(ds.band_count(), 6);
    assert_eq!(ds.metadata_item(PRODUCT_KEY, "").as_deref(), Some(product));
    assert_eq!(ds.metadata_item(LEVEL_KEY, "").as_deref(), Some(level));
    for (i, name) in COMMON.iter().enumerate() {
        assert_eq!(ds.band_description(i + 1), *name);
        assert_eq!(ds.band_nodata(i + 1), Some(0.0));
        assert_eq!(ds.band_type_name(i + 1), "UInt16");
        // SAFETY: open dataset, band in range.
        let (scale, offset) = unsafe {
            let b = gdal_sys::GDALGetRasterBand(ds.handle(), (i + 1) as i32);
            (
                gdal_sys::GDALGetRasterScale(b, std::ptr::null_mut()),
                gdal_sys::GDALGetRasterOffset(b, std::ptr::null_mut()),
            )
        };
        assert_eq!((scale, offset), scene.scaling[i], "band {name}");
    }
    assert_eq!(
        ds.geo_transform(),
        Some([399_960.0, 30.0, 0.0, 5_000_040.0, 0.0, -30.0])
    );
    let files = file_list(ds);
    assert_eq!(files.len(), 6, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| !f.contains("QA_PIXEL") && !f.contains("B10") && !f.contains("ST_B6")),
        "{files:?}"
    );
}

fn file_list(ds: &Dataset) -> Vec<String> {
    let mut out = Vec::new();
    // SAFETY: the CSL list is ours, read then destroyed.
    unsafe {
        let list = gdal_sys::GDALGetFileList(ds.handle());
        let mut p = list;
        while !p.is_null() && !(*p).is_null() {
            out.push(std::ffi::CStr::from_ptr(*p).to_string_lossy().into_owned());
            p = p.add(1);
        }
        gdal_sys::CSLDestroy(list);
    }
    // The VRT lists itself first when it is a file; in memory it lists only its sources.
    out.retain(|f| f.to_ascii_uppercase().ends_with(".TIF"));
    out
}

const SIZE: usize = 256;

/// A scene of `kind` written as `folder_name` (with its `.tar` as `archive_name`): its MTL (text
/// and JSON), its folder and its archive each stack as `product` at `level` and mask with
/// `model` exactly like the reflectance GeoTIFF of the same pixels. Returns the scene, the
/// reference mask and the temporary folder holding them.
fn masks_like_its_reflectance(
    kind: Kind,
    folder_name: &str,
    archive_name: &str,
    product: &str,
    level: ProductLevel,
    model: &str,
) -> (Scene, Vec<u8>, common::TempDir) {
    let tmp = common::TempDir::new(&format!("landsat-{}", level.card_name()));
    let folder = tmp.path(folder_name);
    let reference = tmp.path("reflectance.tif").to_string_lossy().into_owned();
    let scene = make(kind, &folder, SIZE, Path::new(&reference));
    let archive = tmp.path(archive_name).to_string_lossy().into_owned();
    tar(&scene, &archive);
    let folder = folder.to_string_lossy().into_owned();
    let inputs = [scene.mtl_txt(), scene.mtl_json(), folder, archive];
    for input in &inputs {
        assert_eq!(
            products::product_level(input).unwrap(),
            Some(level),
            "{input}"
        );
        check_stack(input, &scene, product, level.card_name());
    }
    assert_eq!(products::product_level(&reference).unwrap(), None);

    let model = common::model(model, 2);
    let want = mask(&model, &reference, SIZE);
    assert!(
        classes_present(&want) >= 2,
        "the fixture should hold more than one class"
    );
    for input in &inputs {
        assert!(
            mask(&model, input, SIZE) == want,
            "{input} masks differently from its reflectance"
        );
    }
    (scene, want, tmp)
}

#[test]
fn level_1_oli_scene_masks_like_its_top_of_atmosphere_reflectance() {
    let (scene, want, tmp) = masks_like_its_reflectance(
        Kind::OliL1,
        "LC08_L1TP_193026_20200423_20200822_02_T1",
        "LC08_L1TP_193026_20200423_20200822_02_T1.tar",
        "Landsat 8 OLI/TIRS Collection 2 Level-1 L1TP",
        ProductLevel::TopOfAtmosphere,
        "ukis-6b-l1c",
    );
    // The CLI, default model, given the MTL as USGS names it.
    let out = tmp.path("mask.tif").to_string_lossy().into_owned();
    let o = Command::new(common::cloudmask_exe())
        .args(["mask", &scene.mtl_txt(), "-o", &out, "-q"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::output_text(&o));
    assert!(common::read_band_u8(&out, 1).2 == want);
}

#[test]
fn level_2_tm_scene_masks_like_its_surface_reflectance() {
    masks_like_its_reflectance(
        Kind::TmL2,
        "LT05_L2SP_193026_20100716_20200823_02_T1",
        "scene.tar",
        "Landsat 5 TM Collection 2 Level-2 L2SP",
        ProductLevel::Surface,
        "ukis-6b-l2a",
    );
}

#[test]
fn broken_scenes_are_refused_naming_what_is_missing() {
    let tmp = common::TempDir::new("landsat-bad");
    let folder = tmp.path("scene");
    let reference = tmp.path("ref.tif");
    let mut scene = make(Kind::OliL1, &folder, 16, &reference);
    let bands: Vec<String> = COMMON.iter().map(|s| s.to_string()).collect();
    let open_err = |path: &str| match products::open(path, &bands, None) {
        Ok(_) => panic!("{path} opened"),
        Err(e) => e,
    };

    // A band file named by the MTL but absent.
    let red = scene.file("B4.TIF");
    std::fs::rename(&red, tmp.path("moved.TIF")).unwrap();
    for mtl in [scene.mtl_txt(), scene.mtl_json()] {
        let e = open_err(&mtl);
        assert_eq!(e.kind, ErrorKind::Input);
        assert!(e.message.contains(&red), "{}", e.message);
        assert!(e.message.contains("the model's band red"), "{}", e.message);
    }
    std::fs::rename(tmp.path("moved.TIF"), &red).unwrap();
    assert!(products::open(&scene.mtl_txt(), &bands, None).is_ok());

    // The MTL does not name the red band's file.
    scene.mtl.remove("PRODUCT_CONTENTS", "FILE_NAME_BAND_4");
    scene.write_mtl();
    for mtl in [scene.mtl_txt(), scene.mtl_json()] {
        let e = open_err(&mtl);
        assert_eq!(e.kind, ErrorKind::Input);
        assert!(
            e.message.contains(
                "FILE_NAME_BAND_4 (band 4, the model's red) is missing from PRODUCT_CONTENTS"
            ),
            "{}",
            e.message
        );
    }

    // A damaged MTL.txt: the line is named, for the probe and the opener alike.
    let text = scene
        .mtl
        .to_text()
        .replace("SUN_ELEVATION =", "SUN_ELEVATION");
    std::fs::write(scene.mtl_txt(), &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("SUN_ELEVATION"))
        .unwrap()
        + 1;
    let e = products::product_level(&scene.mtl_txt()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Input);
    assert!(
        e.message.contains(&format!(
            "is not a valid Landsat MTL: line {line}: expected KEY = value"
        )),
        "{}",
        e.message
    );
    assert_eq!(open_err(&scene.mtl_txt()).message, e.message);

    // Through the CLI: the exit code of bad input and no output left behind.
    let out = tmp.path("mask.tif");
    let o = Command::new(common::cloudmask_exe())
        .args(["mask", &scene.mtl_json(), "-o"])
        .arg(&out)
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", common::output_text(&o));
    assert!(common::output_text(&o).contains("FILE_NAME_BAND_4"));
    assert!(!out.exists());
}
