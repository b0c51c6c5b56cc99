//! Landsat Collection 2 scenes made by the tests from the float reflectance samples of
//! ../shared/data/ukis-landsat: each band turned into digital numbers for the product's
//! scaling and written as USGS names it (`<ID>_B4.TIF`, `<ID>_SR_B3.TIF`), a QA_PIXEL and a
//! thermal band beside them, and an MTL (.txt and .json) in USGS's layout. The reference is a
//! float32 GeoTIFF of the same digital numbers scaled with the same arithmetic.
//!
//! Not in tests/common: that module is shared with packages that do not depend on gdal-sys.

use crate::common::{data_dir, UTM33_WKT};
use cloudmask::raster::gdal::PixelType;
use cloudmask::raster::Dataset;
use std::path::{Path, PathBuf};

/// The model's bands in the order of the samples' bands.
pub const COMMON: [&str; 6] = ["blue", "green", "red", "nir", "swir16", "swir22"];
const GEO: [f64; 6] = [399_960.0, 30.0, 0.0, 5_000_040.0, 0.0, -30.0];

/// A value in the MTL: quoted text or a bare token (numbers, dates).
pub enum V {
    Q(String),
    B(String),
}

/// An MTL as groups of keys in order, written as USGS writes both forms.
pub struct MtlDoc {
    pub groups: Vec<(String, Vec<(String, V)>)>,
}

impl MtlDoc {
    pub fn to_text(&self) -> String {
        let mut t = "GROUP = LANDSAT_METADATA_FILE\n".to_string();
        for (g, keys) in &self.groups {
            t += &format!("  GROUP = {g}\n");
            for (k, v) in keys {
                match v {
                    V::Q(s) => t += &format!("    {k} = \"{s}\"\n"),
                    V::B(s) => t += &format!("    {k} = {s}\n"),
                }
            }
            t += &format!("  END_GROUP = {g}\n");
        }
        t + "END_GROUP = LANDSAT_METADATA_FILE\nEND\n"
    }

    /// USGS's JSON holds every value as a string.
    pub fn to_json(&self) -> String {
        let mut root = serde_json::Map::new();
        for (g, keys) in &self.groups {
            let mut m = serde_json::Map::new();
            for (k, v) in keys {
                let (V::Q(s) | V::B(s)) = v;
                m.insert(k.clone(), serde_json::Value::String(s.clone()));
            }
            root.insert(g.clone(), serde_json::Value::Object(m));
        }
        let doc = serde_json::json!({ "LANDSAT_METADATA_FILE": root });
        serde_json::to_string_pretty(&doc).unwrap()
    }

    pub fn remove(&mut self, group: &str, key: &str) {
        for (g, keys) in &mut self.groups {
            if g == group {
                keys.retain(|(k, _)| k != key);
            }
        }
    }
}

/// Which product to make.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    /// Landsat 8 OLI/TIRS Level-1 L1TP (band numbers 2..7).
    OliL1,
    /// Landsat 5 TM Level-2 L2SP (band numbers 1..5, 7).
    TmL2,
}

/// Level-1 rescaling of this fixture: a different multiplier per band so that a band read
/// with another band's numbers shows.
pub const L1_ADD: &str = "-0.100000";
pub fn l1_mult(n: u32) -> String {
    format!("2.0{n}00E-05")
}
pub const SUN_ELEVATION: &str = "41.53260000";

/// A scene written to `dir`: its product id, the MTL document, the band files by common name.
pub struct Scene {
    pub dir: PathBuf,
    pub id: String,
    pub mtl: MtlDoc,
    /// (scale, offset) per common band, as the test computes them.
    pub scaling: Vec<(f64, f64)>,
}

impl Scene {
    pub fn file(&self, suffix: &str) -> String {
        self.dir
            .join(format!("{}_{suffix}", self.id))
            .to_string_lossy()
            .into_owned()
    }
    pub fn mtl_txt(&self) -> String {
        self.file("MTL.txt")
    }
    pub fn mtl_json(&self) -> String {
        self.file("MTL.json")
    }
    /// (Re)writes both MTL files from `self.mtl`.
    pub fn write_mtl(&self) {
        std::fs::write(self.mtl_txt(), self.mtl.to_text()).unwrap();
        std::fs::write(self.mtl_json(), self.mtl.to_json()).unwrap();
    }
}

fn georeference(ds: &Dataset) {
    let wkt = std::ffi::CString::new(UTM33_WKT).unwrap();
    let mut geo = GEO;
    // SAFETY: open dataset, valid pointers for the duration of the calls.
    unsafe {
        gdal_sys::GDALSetGeoTransform(ds.handle(), geo.as_mut_ptr());
        gdal_sys::GDALSetProjection(ds.handle(), wkt.as_ptr());
    }
}

/// A one-band UInt16 GeoTIFF (the library writes only bytes and floats; Landsat bands are
/// UInt16), georeferenced.
fn write_u16(path: &str, w: usize, h: usize, values: &[u16]) {
    use gdal_sys as g;
    let c_path = std::ffi::CString::new(path).unwrap();
    // SAFETY: GDAL calls on a dataset created and closed here; `values` holds w * h pixels.
    unsafe {
        let drv = g::GDALGetDriverByName(c"GTiff".as_ptr());
        let ds = g::GDALCreate(
            drv,
            c_path.as_ptr(),
            w as i32,
            h as i32,
            1,
            g::GDALDataType::GDT_UInt16,
            std::ptr::null_mut(),
        );
        assert!(!ds.is_null(), "cannot create {path}");
        let wkt = std::ffi::CString::new(UTM33_WKT).unwrap();
        let mut geo = GEO;
        g::GDALSetGeoTransform(ds, geo.as_mut_ptr());
        g::GDALSetProjection(ds, wkt.as_ptr());
        let err = g::GDALRasterIO(
            g::GDALGetRasterBand(ds, 1),
            g::GDALRWFlag::GF_Write,
            0,
            0,
            w as i32,
            h as i32,
            values.as_ptr() as *mut std::ffi::c_void,
            w as i32,
            h as i32,
            g::GDALDataType::GDT_UInt16,
            0,
            0,
        );
        assert_eq!(err, g::CPLErr::CE_None, "writing {path}");
        g::GDALClose(ds);
    }
}

/// The sample's reflectance (band-major), cropped to `size` x `size`.
fn sample(name: &str, size: usize) -> Vec<Vec<f32>> {
    let path = data_dir().join("ukis-landsat").join(name);
    let ds = Dataset::open(&path.to_string_lossy()).unwrap();
    (1..=6)
        .map(|b| {
            let mut v = vec![0f32; size * size];
            ds.read(b, 0, 0, size, size, &mut v).unwrap();
            v
        })
        .collect()
}

fn q(s: &str) -> V {
    V::Q(s.to_string())
}
fn b(s: &str) -> V {
    V::B(s.to_string())
}

/// Writes a scene of `kind` (`size` x `size` pixels) into `dir` and the reference float
/// GeoTIFF `reference`.
pub fn make(kind: Kind, dir: &Path, size: usize, reference: &Path) -> Scene {
    std::fs::create_dir_all(dir).unwrap();
    let (id, sample_name, numbers, prefix): (&str, &str, [u32; 6], &str) = match kind {
        Kind::OliL1 => (
            "LC08_L1TP_193026_20200423_20200822_02_T1",
            "landsat7_6band.tif",
            [2, 3, 4, 5, 6, 7],
            "B",
        ),
        Kind::TmL2 => (
            "LT05_L2SP_193026_20100716_20200823_02_T1",
            "landsat5_6band.tif",
            [1, 2, 3, 4, 5, 7],
            "SR_B",
        ),
    };
    let refl = sample(sample_name, size);
    let sin = SUN_ELEVATION.parse::<f64>().unwrap().to_radians().sin();
    let add: f64 = L1_ADD.parse().unwrap();
    let mut scene = Scene {
        dir: dir.to_path_buf(),
        id: id.to_string(),
        mtl: MtlDoc { groups: Vec::new() },
        scaling: Vec::new(),
    };
    let refds = Dataset::create(
        "GTiff",
        &reference.to_string_lossy(),
        size,
        size,
        6,
        PixelType::F32,
        &[],
    )
    .unwrap();
    georeference(&refds);
    for (i, (&n, band)) in numbers.iter().zip(&refl).enumerate() {
        let (scale, offset) = match kind {
            Kind::OliL1 => {
                let mult: f64 = l1_mult(n).parse().unwrap();
                (mult / sin, add / sin)
            }
            Kind::TmL2 => (2.75e-5, -0.2),
        };
        scene.scaling.push((scale, offset));
        // DN = (reflectance - offset) / scale, rounded into the products' 1..65535.
        let dn: Vec<u16> = band
            .iter()
            .map(|&r| {
                if r.is_finite() {
                    ((r as f64 - offset) / scale).round().clamp(1.0, 65535.0) as u16
                } else {
                    0
                }
            })
            .collect();
        let back: Vec<f32> = dn
            .iter()
            .map(|&d| {
                if d == 0 {
                    f32::NAN
                } else {
                    (d as f64 * scale + offset) as f32
                }
            })
            .collect();
        refds.write(i + 1, (0, 0, size, size), &back).unwrap();
        refds.set_band_description(i + 1, COMMON[i]).unwrap();
        write_u16(&scene.file(&format!("{prefix}{n}.TIF")), size, size, &dn);
    }
    drop(refds);
    // Files a product has beside its reflective bands, never to be stacked: QA_PIXEL (clear
    // land bits) and a thermal band.
    let qa = vec![21824u16; size * size];
    write_u16(&scene.file("QA_PIXEL.TIF"), size, size, &qa);
    let thermal = match kind {
        Kind::OliL1 => "B10",
        Kind::TmL2 => "ST_B6",
    };
    write_u16(
        &scene.file(&format!("{thermal}.TIF")),
        size,
        size,
        &vec![40000u16; size * size],
    );
    scene.mtl = mtl_doc(kind, id, &numbers, prefix, thermal);
    scene.write_mtl();
    scene
}

fn mtl_doc(kind: Kind, id: &str, numbers: &[u32; 6], prefix: &str, thermal: &str) -> MtlDoc {
    let (level, craft, sensor) = match kind {
        Kind::OliL1 => ("L1TP", "LANDSAT_8", "OLI_TIRS"),
        Kind::TmL2 => ("L2SP", "LANDSAT_5", "TM"),
    };
    let mut contents = vec![
        (
            "ORIGIN".into(),
            q("Image courtesy of the U.S. Geological Survey"),
        ),
        ("LANDSAT_PRODUCT_ID".into(), q(id)),
        ("PROCESSING_LEVEL".into(), q(level)),
        ("COLLECTION_NUMBER".into(), b("02")),
        ("COLLECTION_CATEGORY".into(), q("T1")),
        ("OUTPUT_FORMAT".into(), q("GEOTIFF")),
    ];
    for n in numbers {
        contents.push((
            format!("FILE_NAME_BAND_{n}"),
            q(&format!("{id}_{prefix}{n}.TIF")),
        ));
    }
    let thermal_key = match kind {
        Kind::OliL1 => "FILE_NAME_BAND_10".to_string(),
        Kind::TmL2 => "FILE_NAME_BAND_ST_B6".to_string(),
    };
    contents.push((thermal_key, q(&format!("{id}_{thermal}.TIF"))));
    contents.push((
        "FILE_NAME_QUALITY_L1_PIXEL".into(),
        q(&format!("{id}_QA_PIXEL.TIF")),
    ));
    contents.push(("FILE_NAME_METADATA_ODL".into(), q(&format!("{id}_MTL.txt"))));
    let attributes = vec![
        ("SPACECRAFT_ID".into(), q(craft)),
        ("SENSOR_ID".into(), q(sensor)),
        ("WRS_PATH".into(), b("193")),
        ("WRS_ROW".into(), b("026")),
        ("DATE_ACQUIRED".into(), b("2020-04-23")),
        ("SCENE_CENTER_TIME".into(), q("10:03:33.0040110Z")),
        ("SUN_AZIMUTH".into(), b("151.26943430")),
        ("SUN_ELEVATION".into(), b(SUN_ELEVATION)),
    ];
    let mut groups = vec![
        ("PRODUCT_CONTENTS".to_string(), contents),
        ("IMAGE_ATTRIBUTES".to_string(), attributes),
    ];
    // Level-1 rescaling (in a Level-2 MTL too, where it must not be used).
    let mut l1 = Vec::new();
    for n in 1..=9u32 {
        l1.push((format!("RADIANCE_MULT_BAND_{n}"), b("1.2000E-02")));
        l1.push((format!("REFLECTANCE_MULT_BAND_{n}"), b(&l1_mult(n))));
        l1.push((format!("REFLECTANCE_ADD_BAND_{n}"), b(L1_ADD)));
    }
    if kind == Kind::TmL2 {
        let mut sr = Vec::new();
        for n in numbers {
            sr.push((format!("REFLECTANCE_MULT_BAND_{n}"), b("2.75e-05")));
            sr.push((format!("REFLECTANCE_ADD_BAND_{n}"), b("-0.2")));
        }
        groups.push(("LEVEL2_SURFACE_REFLECTANCE_PARAMETERS".to_string(), sr));
        groups.push((
            "LEVEL1_PROCESSING_RECORD".to_string(),
            vec![
                ("LANDSAT_PRODUCT_ID".into(), q(&id.replace("L2SP", "L1TP"))),
                ("PROCESSING_LEVEL".into(), q("L1TP")),
            ],
        ));
    }
    groups.push(("LEVEL1_RADIOMETRIC_RESCALING".to_string(), l1));
    MtlDoc { groups }
}
