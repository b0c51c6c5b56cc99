//! Values that cannot be silently wrong: what automatic scaling does with each pixel type
//! (integers without scale/offset or product metadata must be told, Float32 is reflectance),
//! complex rasters, and scaling values that are not positive numbers. Each case runs the
//! `cloudmask` program as users do and checks the exit status, the message, the class map
//! written (or that nothing was written) and that the input is unchanged.

mod common;
#[path = "common/tiny.rs"]
mod tiny;

use common::{output_text as text, TempDir};
use gdal_sys as g;
use std::process::Output;
use tiny::{TinyNet, TinyRaster};

struct Fixture {
    tmp: TempDir,
    model: String,
    ort: std::path::PathBuf,
}

fn fixture(tag: &str) -> Fixture {
    let ort = common::ort_library();
    let tmp = TempDir::new(tag);
    let model = TinyNet::threshold().write(&tmp, "tiny");
    Fixture {
        model: model.to_string_lossy().into_owned(),
        ort,
        tmp,
    }
}

impl Fixture {
    /// [`TinyRaster::halves`] stored as `data_type`, its reflectance multiplied by `scale`.
    fn raster(
        &self,
        name: &str,
        data_type: g::GDALDataType::Type,
        scale: f32,
    ) -> (String, TinyRaster) {
        let mut r = TinyRaster::halves(40, 30);
        for (_, values) in &mut r.bands {
            for v in values.iter_mut() {
                // Integer types hold whole numbers; floats keep the value as it is.
                *v = if scale == 1.0 {
                    *v
                } else {
                    (*v * scale).round()
                };
            }
        }
        r.data_type = data_type;
        (r.write(&self.tmp.path(&format!("{name}.tif"))), r)
    }

    /// `cloudmask mask <input> -o <name>.tif -m tiny --threads 1 <extra>`.
    fn mask(&self, input: &str, name: &str, extra: &[&str]) -> (Output, String) {
        let out = self
            .tmp
            .path(&format!("{name}.tif"))
            .to_string_lossy()
            .into_owned();
        let mut args = vec![
            "mask",
            input,
            "-o",
            &out,
            "-m",
            &self.model,
            "--threads",
            "1",
        ];
        args.extend_from_slice(extra);
        let o = std::process::Command::new(common::cloudmask_exe())
            .args(&args)
            .env("CLOUDMASK_ORT_LIB", &self.ort)
            .output()
            .unwrap();
        (o, out)
    }

    /// The mask must fail with `code` and `message`, write nothing, and leave `input` as it was.
    fn refused(&self, input: &str, extra: &[&str], code: i32, message: &str) {
        let before = std::fs::read(input).unwrap();
        let (o, out) = self.mask(input, "refused", extra);
        let all = text(&o);
        assert_eq!(o.status.code(), Some(code), "{extra:?}: {all}");
        assert!(
            all.contains(message),
            "{extra:?}: expected {message:?} in: {all}"
        );
        assert!(
            !std::path::Path::new(&out).exists(),
            "{extra:?}: {out} was written"
        );
        let left: Vec<_> = std::fs::read_dir(&self.tmp.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("refused"))
            .collect();
        assert!(left.is_empty(), "{extra:?}: left {left:?}");
        assert_eq!(
            std::fs::read(input).unwrap(),
            before,
            "{extra:?}: input changed"
        );
    }

    /// The mask succeeds and its class map is the tiny network's classes of `expected`'s bands.
    fn masks_as(&self, input: &str, name: &str, extra: &[&str], expected: &TinyRaster) {
        let (o, out) = self.mask(input, name, extra);
        assert!(o.status.success(), "{name} {extra:?}: {}", text(&o));
        let (_, _, classes) = common::read_band_u8(&out, 1);
        assert_eq!(
            classes,
            expected.threshold_classes("B04", "B08"),
            "{name} {extra:?}"
        );
    }
}

#[test]
fn automatic_scaling_reads_reflectance_and_refuses_integers_that_say_nothing() {
    let f = fixture("values-auto");
    let reflectance = TinyRaster::halves(40, 30);
    // UInt16 and Int16 without scale/offset or product metadata: DN / 10000 is right for
    // Sentinel-2 and wrong for Landsat Collection 2, so automatic scaling refuses to guess...
    for (name, t) in [
        ("u16", g::GDALDataType::GDT_UInt16),
        ("i16", g::GDALDataType::GDT_Int16),
    ] {
        let (path, _) = f.raster(name, t, 10000.0);
        f.refused(
            &path,
            &[],
            2,
            &format!(
                "holds {} values with no scale/offset and no product metadata, so --scaling auto cannot tell what they mean: give --scaling dn --quantification Q [--dn-offset O]",
                if name == "u16" { "UInt16" } else { "Int16" }
            ),
        );
        // ...and told, masks them as digital numbers.
        f.masks_as(
            &path,
            &format!("{name}-mask"),
            &["--scaling", "dn"],
            &reflectance,
        );
    }
    // Float32: reflectance as it is.
    let (path, _) = f.raster("f32", g::GDALDataType::GDT_Float32, 1.0);
    f.masks_as(&path, "f32-mask", &[], &reflectance);

    // Byte read as DN / 10000 made every pixel dark, hence all "clear", with exit 0.
    let (byte, stored) = f.raster("byte", g::GDALDataType::GDT_Byte, 255.0);
    f.refused(
        &byte,
        &[],
        2,
        "holds Byte values with no scale/offset and no product metadata, so --scaling auto cannot tell what they mean",
    );
    // Told, it masks: the classes of value / 255.
    let mut scaled = stored.clone();
    for (_, values) in &mut scaled.bands {
        for v in values.iter_mut() {
            *v = (*v as f64 / 255.0) as f32;
        }
    }
    f.masks_as(
        &byte,
        "byte-mask",
        &["--scaling", "dn", "--quantification", "255"],
        &scaled,
    );
}

#[test]
fn complex_rasters_are_refused_whatever_the_scaling() {
    let f = fixture("values-complex");
    for (name, t) in [
        ("CFloat32", g::GDALDataType::GDT_CFloat32),
        ("CInt16", g::GDALDataType::GDT_CInt16),
    ] {
        let (path, _) = f.raster(name, t, if name == "CInt16" { 10000.0 } else { 1.0 });
        for scaling in ["auto", "reflectance", "dn"] {
            f.refused(
                &path,
                &["--scaling", scaling],
                2,
                &format!("holds complex values ({name}), which are not reflectance: write the amplitude or the real part to a real-valued raster first"),
            );
        }
    }
}

#[test]
fn scaling_values_that_are_not_positive_numbers_are_refused() {
    let f = fixture("values-scale");
    let (path, _) = f.raster("u16", g::GDALDataType::GDT_UInt16, 10000.0);
    // --quantification 0 gave an all-clear or all-cloud mask with exit 0; usage errors (clap's
    // included) exit with 64. The value is refused whatever --scaling says.
    for q in ["0", "-10000", "nan", "inf"] {
        for scaling in ["dn", "auto"] {
            f.refused(
                &path,
                &["--scaling", scaling, "--quantification", q],
                64,
                &format!(
                    "quantification {} must be a positive number (Sentinel-2: 10000)",
                    q.replace("nan", "NaN")
                ),
            );
        }
    }
    f.refused(
        &path,
        &["--scaling", "dn", "--dn-offset", "inf"],
        64,
        "DN offset inf must be a finite number",
    );

    // A card's reflectance_scale of 0 or below gave all-clear or all-cloud masks.
    for scale in [0.0, -1.0] {
        let net = TinyNet::threshold();
        let mut card = net.card();
        card.reflectance_scale = scale;
        let model = f.tmp.path(&format!("scale{scale}.onnx"));
        std::fs::write(&model, net.bytes_with_card(Some(&card))).unwrap();
        let before = std::fs::read(&path).unwrap();
        let out = f.tmp.path("refused.tif");
        let o = std::process::Command::new(common::cloudmask_exe())
            .args([
                "mask",
                &path,
                "-o",
                &out.to_string_lossy(),
                "-m",
                &model.to_string_lossy(),
            ])
            .env("CLOUDMASK_ORT_LIB", &f.ort)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(4), "{}", text(&o));
        let message = format!("model card: reflectance_scale {scale} must be a positive number");
        assert!(
            text(&o).contains(&message),
            "expected {message:?} in {}",
            text(&o)
        );
        assert!(!out.exists());
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }
}
