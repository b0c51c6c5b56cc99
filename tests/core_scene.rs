//! The scene writer (whole rasters to files) on generated rasters and a generated network: what
//! each product holds, the georeferencing, colour table and metadata copied into it, and that
//! a cancel or a bad output leaves no file behind.

mod common;
#[path = "common/tiny.rs"]
mod tiny;

use cloudmask::model::CommonClass;
use cloudmask::postprocess::Buffers;
use cloudmask::raster::writer::{Format, Product};
use cloudmask::raster::Dataset;
use cloudmask::scene::{mask_scene, SceneJob};
use cloudmask::{ErrorKind, Model};
use common::TempDir;
use gdal_sys as g;
use std::path::Path;
use tiny::{class_counts, valid_by_distance, TinyNet, TinyRaster, TINY_GEO_TRANSFORM};

const W: usize = 70;
const H: usize = 50;

/// [`TinyRaster::halves`] with blue and green bands too (for the quicklook), georeferenced.
fn scene() -> TinyRaster {
    let mut raster = TinyRaster::halves(W, H).georeferenced();
    let blue = TinyRaster::float(W, H, &[("B02", &|x, _| 0.05 + x as f32 / 1000.0)]);
    let green = TinyRaster::float(W, H, &[("B03", &|_, y| 0.07 + y as f32 / 1000.0)]);
    raster.bands.extend(blue.bands);
    raster.bands.extend(green.bands);
    raster
}

struct Fixture {
    tmp: TempDir,
    model: Model,
    raster: TinyRaster,
    input: String,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        let tmp = TempDir::new(tag);
        let model = TinyNet::threshold().load(&tmp, "tiny");
        let raster = scene();
        let input = raster.write(&tmp.path("scene.tif"));
        Fixture {
            tmp,
            model,
            raster,
            input,
        }
    }

    fn job(&self, outputs: &[(Product, &str)]) -> SceneJob {
        let outputs = outputs
            .iter()
            .map(|(p, name)| (*p, self.tmp.path(name)))
            .collect();
        common::scene_job(&self.input, outputs)
    }

    /// File names in the fixture's folder, sorted.
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.tmp.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// RGBA of one colour table entry of band 1.
fn colour(ds: &Dataset, code: i32) -> [i16; 4] {
    // SAFETY: open dataset with band 1; the entry pointer is checked and read at once.
    unsafe {
        let table = g::GDALGetRasterColorTable(g::GDALGetRasterBand(ds.handle(), 1));
        assert!(!table.is_null(), "no colour table in {}", ds.description);
        let e = g::GDALGetColorEntry(table, code);
        assert!(!e.is_null());
        [(*e).c1, (*e).c2, (*e).c3, (*e).c4]
    }
}

#[test]
fn every_product_is_written_with_the_input_georeferencing_and_styling() {
    let f = Fixture::new("core-scene-products");
    let mut job = f.job(&[
        (Product::Classes, "classes.tif"),
        (Product::Probabilities, "probabilities.tif"),
        (Product::Valid, "valid.tif"),
    ]);
    let quicklook_path = f.tmp.path("quicklook.png");
    job.quicklook = Some(quicklook_path.clone());
    let outputs = job.outputs.clone();
    let mut stages = Vec::new();
    let report = mask_scene(&f.model, job, &mut |_, stage| {
        if stages.last().map(String::as_str) != Some(stage) {
            stages.push(stage.to_string());
        }
        true
    })
    .unwrap();
    assert_eq!(stages, ["masking", "valid mask", "done"]);
    let want = f.raster.threshold_classes("B04", "B08");
    assert_eq!(report.class_counts, [0, 1730, 1750, 0, 20]);
    assert_eq!(report.class_counts, class_counts(&want));
    assert_eq!((report.width, report.height), (W, H));
    assert_eq!(
        report.outputs,
        outputs.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>()
    );

    let classes = Dataset::open(&path(&outputs[0].1)).unwrap();
    assert_eq!(common::read_band_u8(&classes.description, 1).2, want);
    assert_eq!(classes.geo_transform(), Some(TINY_GEO_TRANSFORM));
    assert!(
        classes.projection().contains("UTM zone 33N"),
        "{}",
        classes.projection()
    );
    assert_eq!(classes.band_nodata(1), Some(0.0));
    for class in CommonClass::ALL {
        assert_eq!(
            colour(&classes, class.code() as i32),
            class.colour().map(i16::from)
        );
    }
    assert_eq!(
        classes.metadata_item("CLOUDMASK_MODEL", "").as_deref(),
        Some("tiny")
    );
    assert_eq!(
        classes.metadata_item("CLOUDMASK_PRODUCT", "").as_deref(),
        Some("classes")
    );
    assert_eq!(
        classes
            .metadata_item("CLOUDMASK_INPUT_BANDS", "")
            .as_deref(),
        Some("1,2")
    );

    let probabilities = Dataset::open(&path(&outputs[1].1)).unwrap();
    assert_eq!(probabilities.band_count(), 3);
    assert_eq!(probabilities.band_type_name(1), "Float32");
    assert_eq!(probabilities.band_description(2), "probability of cloud");
    assert_eq!(probabilities.geo_transform(), Some(TINY_GEO_TRANSFORM));
    let mut cloud = vec![0f32; W * H];
    probabilities.read(2, 0, 0, W, H, &mut cloud).unwrap();
    for (i, &p) in cloud.iter().enumerate() {
        let is_cloud = want[i] == CommonClass::Cloud.code();
        // Cloud has the largest logit exactly where the class is cloud (3 classes: > 1/3).
        assert_eq!(p > 1.0 / 3.0, is_cloud, "pixel {i}: {p}");
    }

    let valid = common::read_band_u8(&path(&outputs[2].1), 1).2;
    let radius = Buffers::default().radius;
    assert_eq!(valid, valid_by_distance(&want, W, H, &radius));
    // Invalid pixels in red (GeoTIFF colour tables keep no alpha: the valid entry reads opaque).
    let valid_ds = Dataset::open(&path(&outputs[2].1)).unwrap();
    assert_eq!(colour(&valid_ds, 0)[..3], [220, 40, 40]);

    let quicklook = Dataset::open(&path(&quicklook_path)).unwrap();
    assert_eq!((quicklook.width(), quicklook.height()), (W, H));
    // Nothing but the outputs, their GDAL sidecars, the input and the network are left.
    let leftovers: Vec<String> = f
        .files()
        .into_iter()
        .filter(|n| n.starts_with('.') || n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_cancel_in_either_stage_leaves_no_file() {
    let f = Fixture::new("core-scene-cancel");
    let before = f.files();
    assert_eq!(before, ["scene.tif", "tiny.onnx"]);
    let job = || {
        f.job(&[
            (Product::Classes, "classes.tif"),
            (Product::Probabilities, "probabilities.tif"),
            (Product::Valid, "valid.tif"),
        ])
    };
    for cancel_in in ["masking", "valid mask"] {
        let mut calls = 0;
        let e = mask_scene(&f.model, job(), &mut |_, stage| {
            calls += 1;
            stage != cancel_in
        })
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Cancelled, "{cancel_in}: {}", e.message);
        assert!(calls >= 1);
        assert_eq!(f.files(), before, "cancelled in {cancel_in}");
    }
}

#[test]
fn the_valid_mask_alone_leaves_no_scratch_class_map() {
    let f = Fixture::new("core-scene-valid-only");
    let job = f.job(&[(Product::Valid, "valid.tif")]);
    let report = mask_scene(&f.model, job, &mut |_, _| true).unwrap();
    assert_eq!(report.outputs, [f.tmp.path("valid.tif")]);
    let files: Vec<String> = f
        .files()
        .into_iter()
        .filter(|n| !n.ends_with(".aux.xml"))
        .collect();
    assert_eq!(files, ["scene.tif", "tiny.onnx", "valid.tif"]);
    let want = f.raster.threshold_classes("B04", "B08");
    let valid = common::read_band_u8(&path(&f.tmp.path("valid.tif")), 1).2;
    assert_eq!(
        valid,
        valid_by_distance(&want, W, H, &Buffers::default().radius)
    );
}

#[test]
fn a_cloud_optimised_geotiff_holds_the_same_classes() {
    let f = Fixture::new("core-scene-cog");
    let mut job = f.job(&[(Product::Classes, "classes.tif")]);
    job.format = Format::cog();
    mask_scene(&f.model, job, &mut |_, _| true).unwrap();
    let cog = Dataset::open(&path(&f.tmp.path("classes.tif"))).unwrap();
    assert_eq!(
        cog.metadata_item("LAYOUT", "IMAGE_STRUCTURE").as_deref(),
        Some("COG")
    );
    assert_eq!(cog.geo_transform(), Some(TINY_GEO_TRANSFORM));
    let want = f.raster.threshold_classes("B04", "B08");
    assert_eq!(common::read_band_u8(&cog.description, 1).2, want);
}

#[test]
fn unwritable_outputs_are_refused_before_any_work() {
    let f = Fixture::new("core-scene-unwritable");
    let before = f.files();
    let missing = f.tmp.path("no-such-folder").join("classes.tif");
    let folder = f.tmp.path("a-folder");
    std::fs::create_dir(&folder).unwrap();
    for target in [missing, folder] {
        let mut job = f.job(&[]);
        job.outputs = vec![(Product::Classes, target.clone())];
        let mut called = false;
        let e = mask_scene(&f.model, job, &mut |_, _| {
            called = true;
            true
        })
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Output, "{}", e.message);
        assert!(e.message.contains(&path(&target)), "{}", e.message);
        assert!(!called, "work started for {}", target.display());
    }
    std::fs::remove_dir(f.tmp.path("a-folder")).unwrap();
    assert_eq!(f.files(), before);
    let e = mask_scene(&f.model, f.job(&[]), &mut |_, _| true).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument, "{}", e.message);
}

#[test]
fn a_coarser_resolution_is_masked_on_the_averaged_grid() {
    let f = Fixture::new("core-scene-resolution");
    let mut job = f.job(&[(Product::Classes, "classes.tif")]);
    job.input.resolution = Some(20.0);
    let report = mask_scene(&f.model, job, &mut |_, _| true).unwrap();
    assert_eq!((report.width, report.height), (W / 2, H / 2));
    // Each 20 m pixel averages 2 x 2 input pixels; the class follows from the averages.
    let average = |name: &str, x: usize, y: usize| {
        let band = f.raster.band(name);
        let at = |dx: usize, dy: usize| band[(2 * y + dy) * W + 2 * x + dx] as f64;
        ((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4.0) as f32
    };
    let want: Vec<u8> = (0..W / 2 * (H / 2))
        .map(|i| {
            let (x, y) = (i % (W / 2), i / (W / 2));
            TinyNet::threshold_class(average("B04", x, y), average("B08", x, y))
        })
        .collect();
    let classes = path(&f.tmp.path("classes.tif"));
    assert_eq!(common::read_band_u8(&classes, 1).2, want);
    // Cloud in the 17 whole 20 m columns of the left half and the one straddling its edge; the
    // shadow block's 4 x 5 pixels touch 2 x 3 coarse ones.
    assert_eq!(report.class_counts, [0, 419, 450, 0, 6]);
    let gt = Dataset::open(&classes).unwrap().geo_transform().unwrap();
    assert_eq!(
        (gt[0], gt[1], gt[3], gt[5]),
        (500000.0, 20.0, 4000000.0, -20.0)
    );
}
