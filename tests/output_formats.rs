//! Output formats and grids: `--of` / `--co` write any GDAL format that writes files (PNG through
//! a working GeoTIFF, GeoTIFF with the user's compression), formats that cannot be written or
//! cannot hold a product are refused before any work, and `--output-grid input` writes a mask
//! computed at a coarser resolution back on the input's grid by nearest neighbour. Generated
//! rasters and a generated network keep every case fast.

mod common;
#[path = "common/tiny.rs"]
mod tiny;

use cloudmask::raster::grid::OutputGrid;
use cloudmask::raster::writer::{Format, Product};
use cloudmask::raster::Dataset;
use cloudmask::scene::mask_scene;
use cloudmask::Model;
use common::{cloudmask_exe, file_names, output_text, read_band_u8, TempDir};
use std::process::Command;
use tiny::{TinyNet, TinyRaster, TINY_GEO_TRANSFORM};

const W: usize = 70;
const H: usize = 50;

struct Fixture {
    tmp: TempDir,
    model_path: String,
    model: Model,
    input: String,
}

impl Fixture {
    fn new(tag: &str) -> Fixture {
        common::require_runtime();
        let tmp = TempDir::new(tag);
        let model = TinyNet::threshold().load(&tmp, "tiny");
        let model_path = tmp.path("tiny.onnx");
        let input = TinyRaster::halves(W, H)
            .georeferenced()
            .write(&tmp.path("scene.tif"));
        Fixture {
            tmp,
            model_path: model_path.to_string_lossy().into_owned(),
            model,
            input,
        }
    }

    fn path(&self, name: &str) -> String {
        self.tmp.path(name).to_string_lossy().into_owned()
    }

    /// Masks the scene into `outputs` (product, file name) with `format` on `grid`.
    fn mask(
        &self,
        outputs: &[(Product, &str)],
        format: Format,
        resolution: Option<f64>,
        grid: OutputGrid,
    ) {
        let outputs = outputs
            .iter()
            .map(|(p, n)| (*p, self.tmp.path(n)))
            .collect();
        let mut job = common::scene_job(&self.input, outputs);
        job.format = format;
        job.input.resolution = resolution;
        job.output_grid = grid;
        mask_scene(&self.model, job, &mut |_, _| true).unwrap();
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(cloudmask_exe())
            .args(["mask", &self.input, "-m", &self.model_path, "-q"])
            .args(["--threads", "1"])
            .args(args)
            .output()
            .unwrap()
    }
}

fn all_f32(path: &str, band: usize) -> Vec<f32> {
    let ds = Dataset::open(path).unwrap();
    let mut v = vec![0f32; ds.width() * ds.height()];
    ds.read(band, 0, 0, ds.width(), ds.height(), &mut v)
        .unwrap();
    v
}

#[test]
fn png_and_creation_options_write_the_same_pixels() {
    let f = Fixture::new("formats-png");
    let tif = [(Product::Classes, "m.tif"), (Product::Valid, "m_valid.tif")];
    f.mask(&tif, Format::default(), None, OutputGrid::Auto);
    let png = [(Product::Classes, "m.png"), (Product::Valid, "m_valid.png")];
    f.mask(
        &png,
        Format::new("png", &[] as &[&str]).unwrap(),
        None,
        OutputGrid::Auto,
    );
    let want = f.path("m.tif");
    let classes = read_band_u8(&want, 1).2;
    assert_eq!(
        classes,
        TinyRaster::halves(W, H).threshold_classes("B04", "B08")
    );
    for (tif, png) in [("m.tif", "m.png"), ("m_valid.tif", "m_valid.png")] {
        let ds = Dataset::open(&f.path(png)).unwrap();
        let product = ds.metadata_item("CLOUDMASK_PRODUCT", "");
        let tif_product = Dataset::open(&f.path(tif))
            .unwrap()
            .metadata_item("CLOUDMASK_PRODUCT", "");
        assert!(
            product.is_some() && product == tif_product,
            "{png}: {product:?}"
        );
        // SAFETY: an open dataset; the driver handle and its name belong to GDAL.
        let driver = unsafe {
            std::ffi::CStr::from_ptr(gdal_sys::GDALGetDriverShortName(
                gdal_sys::GDALGetDatasetDriver(ds.handle()),
            ))
        };
        assert_eq!(driver.to_str().unwrap(), "PNG");
        assert_eq!(ds.geo_transform(), Some(TINY_GEO_TRANSFORM));
        assert_eq!(
            read_band_u8(&f.path(png), 1).2,
            read_band_u8(&f.path(tif), 1).2,
            "{png}"
        );
    }
    // One file per output (its .aux.xml holds what PNG cannot), no temporary left.
    let names = file_names(&f.tmp.0);
    assert!(names.iter().all(|n| !n.contains("partial")), "{names:?}");
    assert!(names.contains(&"m.png.aux.xml".to_string()), "{names:?}");

    // --co adds to the GeoTIFF defaults and overrides them by key.
    let lzw = Format::new("GTiff", &["COMPRESS=LZW"]).unwrap();
    f.mask(
        &[(Product::Classes, "lzw.tif")],
        lzw,
        None,
        OutputGrid::Auto,
    );
    for (file, compression) in [("m.tif", "DEFLATE"), ("lzw.tif", "LZW")] {
        let ds = Dataset::open(&f.path(file)).unwrap();
        assert_eq!(
            ds.metadata_item("COMPRESSION", "IMAGE_STRUCTURE")
                .as_deref(),
            Some(compression)
        );
        assert_eq!(ds.metadata_item("LAYOUT", "IMAGE_STRUCTURE"), None);
    }
    assert_eq!(read_band_u8(&f.path("lzw.tif"), 1).2, classes);
}

#[test]
fn the_command_line_refuses_formats_before_any_work_and_takes_the_old_flag() {
    let f = Fixture::new("formats-cli");
    let cases: [(&[&str], &str); 5] = [
        (&["--of", "NoSuchFormat"], "GDAL has no such driver"),
        (&["--of", "SENTINEL2"], "read-only"),
        (
            &["--of", "PNG", "--output", "classes,probabilities"],
            "cannot hold the probabilities output",
        ),
        (&["--of", "GTiff", "--co", "COMPRESS=NOPE"], "NOPE"),
        (&["--of", "GTiff", "--co", "COMPRESS"], "KEY=VALUE"),
    ];
    for (args, needle) in cases {
        let out = f.path("refused.png");
        let o = f.cli(&[&["-o", out.as_str()], args].concat());
        let text = output_text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {text}");
        assert!(text.contains(needle), "{args:?}: {text}");
        if !needle.contains("KEY") && !needle.contains("NOPE") && !needle.contains("probab") {
            // The message lists what to use.
            assert!(text.contains("GTiff") && text.contains("PNG"), "{text}");
        }
        assert_eq!(
            file_names(&f.tmp.0),
            ["scene.tif", "tiny.onnx"],
            "{args:?} left a file"
        );
    }
    // `--format cog` is `--of COG`; `--co` reaches the file.
    let cog = f.path("cog.tif");
    let o = f.cli(&["-o", &cog, "--format", "cog", "--co", "COMPRESS=LZW"]);
    assert!(o.status.success(), "{}", output_text(&o));
    let ds = Dataset::open(&cog).unwrap();
    assert_eq!(
        ds.metadata_item("LAYOUT", "IMAGE_STRUCTURE").as_deref(),
        Some("COG")
    );
    assert_eq!(
        ds.metadata_item("COMPRESSION", "IMAGE_STRUCTURE")
            .as_deref(),
        Some("LZW")
    );
    let classes = TinyRaster::halves(W, H).threshold_classes("B04", "B08");
    assert_eq!(read_band_u8(&cog, 1).2, classes);
}

#[test]
fn a_mask_at_a_coarser_resolution_is_written_back_on_the_input_grid() {
    let f = Fixture::new("formats-grid");
    let all = |stem: &str| {
        [
            (Product::Classes, format!("{stem}.tif")),
            (Product::Valid, format!("{stem}_valid.tif")),
            (Product::Probabilities, format!("{stem}_probabilities.tif")),
        ]
    };
    let run = |stem: &str, format: Format, grid: OutputGrid| {
        let outputs = all(stem);
        let outputs: Vec<(Product, &str)> = outputs.iter().map(|(p, n)| (*p, n.as_str())).collect();
        f.mask(&outputs, format, Some(20.0), grid);
    };
    run("coarse", Format::default(), OutputGrid::Processing);
    run("auto", Format::default(), OutputGrid::Auto);
    run("fine", Format::default(), OutputGrid::Input);
    let coarse = Dataset::open(&f.path("coarse.tif")).unwrap();
    assert_eq!((coarse.width(), coarse.height()), (W / 2, H / 2));
    let mut coarse_gt = TINY_GEO_TRANSFORM;
    coarse_gt[1] = 20.0;
    coarse_gt[5] = -20.0;
    assert_eq!(coarse.geo_transform(), Some(coarse_gt));
    // A resolution the user asked for keeps its grid unless told otherwise.
    assert_eq!(read_band_u8(&f.path("auto.tif"), 1).0, W / 2);
    for (product, band) in [("", 1), ("_valid", 1), ("_probabilities", 2)] {
        let small = all_f32(&f.path(&format!("coarse{product}.tif")), band);
        let file = f.path(&format!("fine{product}.tif"));
        let fine = Dataset::open(&file).unwrap();
        assert_eq!((fine.width(), fine.height()), (W, H), "{product}");
        assert_eq!(fine.geo_transform(), Some(TINY_GEO_TRANSFORM), "{product}");
        assert_eq!(fine.projection(), coarse.projection());
        let upsampled: Vec<f32> = (0..W * H)
            .map(|i| small[(i / W / 2) * (W / 2) + (i % W) / 2])
            .collect();
        assert_eq!(all_f32(&file, band), upsampled, "{product}");
    }
    let fine = Dataset::open(&f.path("fine.tif")).unwrap();
    assert_eq!(
        fine.metadata_item("CLOUDMASK_PRODUCT", "").as_deref(),
        Some("classes")
    );
    assert_eq!(fine.band_nodata(1), Some(0.0));
    // Through the command line, into another format.
    let png = f.path("fine.png");
    let o = f.cli(&[
        "-o",
        &png,
        "--resolution",
        "20",
        "--output-grid",
        "input",
        "--of",
        "PNG",
    ]);
    assert!(o.status.success(), "{}", output_text(&o));
    assert_eq!(
        read_band_u8(&png, 1).2,
        read_band_u8(&f.path("fine.tif"), 1).2
    );
    assert_eq!(
        Dataset::open(&png).unwrap().geo_transform(),
        Some(TINY_GEO_TRANSFORM)
    );
}
