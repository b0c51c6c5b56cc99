//! Tiny generated fixtures for the core tests: networks of a few hundred bytes whose outputs are a
//! known function of the input, and small rasters written by GDAL, so the engine, the scene
//! writer and the raster layer are tested on exact expected values without ../shared/data or
//! the ukis models (ONNX Runtime is still needed to run a network).
//!
//! Rasters are written through gdal-sys, a dependency of the library package only, so the
//! library's tests include this file beside `common` (`#[path = "common/tiny.rs"] mod tiny;`)
//! and the other packages' tests, which share `common`, do not.
#![allow(dead_code)]

use crate::common::TempDir;
use cloudmask::model::card::{BandSpec, ClassSpec, ModelCard, CARD_FORMAT, CARD_METADATA_KEY};
use cloudmask::model::{CommonClass, OutputKind};
use cloudmask::onnx::graph::{Attr, GraphBuilder};
use cloudmask::{Model, ModelOptions};
use gdal_sys as g;
use std::ffi::CString;
use std::path::{Path, PathBuf};

/// Reflectance below which [`TinyNet::threshold`] calls a pixel clear.
pub const CLEAR_BELOW: f32 = 0.3;

/// A one-layer network: a `kernel` x `kernel` convolution (stride 1, zero padding that keeps the
/// size) from the card's bands to one logit per class, softmaxed by the engine. Bands are fed as
/// they are (mean 0, standard deviation 1).
#[derive(Debug, Clone)]
pub struct TinyNet {
    pub bands: Vec<&'static str>,
    pub classes: Vec<CommonClass>,
    pub kernel: usize,
    /// (class, band, row, column) of the kernel.
    pub weights: Vec<f32>,
    /// One per class.
    pub bias: Vec<f32>,
    pub tile: usize,
}

impl TinyNet {
    /// Bands red and nir, classes clear, cloud, shadow, pixel by pixel: the logits are
    /// ([`CLEAR_BELOW`], red, nir), so a pixel is clear when both bands are below 0.3, else cloud
    /// where red is the brighter band and shadow where nir is. Tiles of 32 pixels.
    pub fn threshold() -> TinyNet {
        TinyNet {
            bands: vec!["red", "nir"],
            classes: vec![CommonClass::Clear, CommonClass::Cloud, CommonClass::Shadow],
            kernel: 1,
            weights: vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0],
            bias: vec![CLEAR_BELOW, 0.0, 0.0],
            tile: 32,
        }
    }

    /// [`TinyNet::threshold`]'s bands and classes through a 5 x 5 kernel of uneven weights: each
    /// pixel depends on its neighbours and tile borders (zero padding) change the logits, so
    /// results depend on which tiles cover a pixel.
    pub fn spatial() -> TinyNet {
        let n = 3 * 2 * 25;
        let weights = (0..n)
            .map(|i| (((i * 37 + 11) % 29) as f32 - 14.0) / 20.0)
            .collect();
        TinyNet {
            kernel: 5,
            weights,
            bias: vec![0.1, 0.0, -0.1],
            ..TinyNet::threshold()
        }
    }

    /// The class [`TinyNet::threshold`] gives a pixel, as a common class code.
    pub fn threshold_class(red: f32, nir: f32) -> u8 {
        let logits = [CLEAR_BELOW, red, nir];
        let best = (0..3).fold(0, |b, i| if logits[i] > logits[b] { i } else { b });
        [CommonClass::Clear, CommonClass::Cloud, CommonClass::Shadow][best].code()
    }

    /// The card embedded in the network's `metadata_props`.
    pub fn card(&self) -> ModelCard {
        let n = self.bands.len();
        ModelCard {
            format: CARD_FORMAT.to_string(),
            name: "tiny".to_string(),
            version: "1".to_string(),
            description: "a generated test network".to_string(),
            licence: String::new(),
            product_level: "any".to_string(),
            bands: self
                .bands
                .iter()
                .map(|b| BandSpec {
                    name: b.to_string(),
                    wavelength_nm: None,
                })
                .collect(),
            reflectance_scale: 1.0,
            mean: vec![0.0; n],
            std: vec![1.0; n],
            classes: self
                .classes
                .iter()
                .enumerate()
                .map(|(i, c)| ClassSpec {
                    id: i as u8,
                    name: c.name().to_string(),
                    colour: c.colour(),
                    common: c.name().to_string(),
                })
                .collect(),
            output: OutputKind::Logits,
            tile_size: self.tile,
            context: self.kernel / 2,
            size_multiple: 16,
            resolution_m: None,
            training: serde_json::Value::Null,
        }
    }

    /// The ONNX file, written with the library's own graph writer.
    pub fn bytes(&self) -> Vec<u8> {
        self.bytes_with_card(Some(&self.card()))
    }

    /// The ONNX file with `card` embedded (it may contradict the network), or none (for a
    /// sidecar card beside the file).
    pub fn bytes_with_card(&self, card: Option<&ModelCard>) -> Vec<u8> {
        let (b, k, s) = (self.bands.len(), self.classes.len(), self.kernel as i64);
        let mut graph = GraphBuilder::new();
        let w = graph.weight("w", &[k as i64, b as i64, s, s], &self.weights);
        let bias = graph.weight("b", &[k as i64], &self.bias);
        let logits = graph.node(
            "Conv",
            &["image", &w, &bias],
            &[
                ("kernel_shape", Attr::Ints(vec![s, s])),
                ("pads", Attr::Ints(vec![s / 2; 4])),
            ],
        );
        graph.identity(&logits, "logits");
        let card: Vec<(String, String)> = card
            .map(|c| (CARD_METADATA_KEY.to_string(), c.to_json()))
            .into_iter()
            .collect();
        graph.finish("image", b, "logits", k, &card)
    }

    /// Writes the network as `<dir>/<name>.onnx`.
    pub fn write(&self, dir: &TempDir, name: &str) -> PathBuf {
        let path = dir.path(&format!("{name}.onnx"));
        std::fs::write(&path, self.bytes()).unwrap();
        path
    }

    /// Writes the network as `<dir>/<name>.onnx` with its weights as ONNX external data in
    /// `<dir>/<name>.weights`, named relative to the model's folder (the layout of models over
    /// 2 GB): `raw_data` of every initializer moves to the weights file.
    pub fn write_external(&self, dir: &TempDir, name: &str) -> PathBuf {
        use cloudmask::onnx::wire::{parse_fields, Encoder, Field};
        // onnx.proto: ModelProto.graph 7, GraphProto.initializer 5, TensorProto.raw_data 9,
        // .external_data 13 (StringStringEntryProto: key 1, value 2), .data_location 14.
        fn fields<'a>(f: &Field<'a>) -> Vec<Field<'a>> {
            f.message_fields().unwrap().map(Result::unwrap).collect()
        }
        let weights_file = format!("{name}.weights");
        let mut weights: Vec<u8> = Vec::new();
        let mut external = |raw: &[u8], tensor: &mut Encoder| {
            let entries = [
                ("location", weights_file.clone()),
                ("offset", weights.len().to_string()),
                ("length", raw.len().to_string()),
            ];
            weights.extend_from_slice(raw);
            for (key, value) in entries {
                let mut entry = Encoder::new();
                entry.string(1, key);
                entry.string(2, &value);
                tensor.bytes(13, &entry.finish());
            }
            tensor.varint(14, 1);
        };
        let bytes = self.bytes();
        let mut model = Encoder::new();
        for field in parse_fields(&bytes, 0).unwrap() {
            if field.number != 7 {
                model.copy(&field);
                continue;
            }
            let mut graph = Encoder::new();
            for g in fields(&field) {
                if g.number != 5 {
                    graph.copy(&g);
                    continue;
                }
                let mut tensor = Encoder::new();
                for t in fields(&g) {
                    match t.number {
                        9 => external(t.payload, &mut tensor),
                        _ => tensor.copy(&t),
                    }
                }
                graph.bytes(5, &tensor.finish());
            }
            model.bytes(7, &graph.finish());
        }
        std::fs::write(dir.path(&weights_file), weights).unwrap();
        let path = dir.path(&format!("{name}.onnx"));
        std::fs::write(&path, model.finish()).unwrap();
        path
    }

    /// Writes and loads the network (one ONNX Runtime thread); fails with what to install when
    /// ONNX Runtime is missing.
    pub fn load(&self, dir: &TempDir, name: &str) -> Model {
        crate::common::require_runtime();
        let path = self.write(dir, name);
        let options = ModelOptions {
            threads: 1,
            ..Default::default()
        };
        Model::load(&path.to_string_lossy(), &options)
            .unwrap_or_else(|e| panic!("loading the generated network {}: {e}", path.display()))
    }
}

/// A band's value at (x, y), for [`TinyRaster::float`].
pub type Fill<'a> = &'a dyn Fn(usize, usize) -> f32;

/// A small multi-band raster for [`TinyRaster::write`].
#[derive(Debug, Clone)]
pub struct TinyRaster {
    pub width: usize,
    pub height: usize,
    /// Band description and row-major values, converted to `data_type` by GDAL.
    pub bands: Vec<(String, Vec<f32>)>,
    pub data_type: g::GDALDataType::Type,
    pub nodata: Option<f64>,
    /// Geotransform and WKT.
    pub georef: Option<([f64; 6], String)>,
    /// Dataset metadata items (default domain).
    pub metadata: Vec<(String, String)>,
}

/// A 10 m grid in UTM zone 33N.
pub const TINY_GEO_TRANSFORM: [f64; 6] = [500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0];

impl TinyRaster {
    /// Float32 bands named as given, each filled by `f(x, y)`.
    pub fn float(width: usize, height: usize, bands: &[(&str, Fill)]) -> TinyRaster {
        TinyRaster {
            width,
            height,
            bands: bands
                .iter()
                .map(|(name, f)| {
                    let values = (0..width * height)
                        .map(|i| f(i % width, i / width))
                        .collect();
                    (name.to_string(), values)
                })
                .collect(),
            data_type: g::GDALDataType::GDT_Float32,
            nodata: None,
            georef: None,
            metadata: Vec::new(),
        }
    }

    /// The same raster on [`TINY_GEO_TRANSFORM`] in UTM 33N.
    pub fn georeferenced(mut self) -> TinyRaster {
        self.georef = Some((TINY_GEO_TRANSFORM, crate::common::UTM33_WKT.to_string()));
        self
    }

    /// Bands "B04" (red) and "B08" (nir) for [`TinyNet::threshold`]: the left half cloud (red
    /// 0.6), the right half clear (both bands at most 0.2) with a 4 x 5 shadow block (nir 0.75) at
    /// (3/4 of the width, 1/4 of the height). Values vary a little from pixel to pixel.
    pub fn halves(width: usize, height: usize) -> TinyRaster {
        let shadow = move |x: usize, y: usize| {
            (width * 3 / 4..width * 3 / 4 + 4).contains(&x)
                && (height / 4..height / 4 + 5).contains(&y)
        };
        let ripple = |x: usize, y: usize| ((x * 7 + y * 13) % 10) as f32 / 100.0;
        let red = move |x: usize, y: usize| {
            if x < width / 2 {
                0.6 + ripple(x, y)
            } else {
                0.1 + ripple(x, y)
            }
        };
        let nir = move |x: usize, y: usize| {
            if shadow(x, y) {
                0.75
            } else {
                0.2 - ripple(y, x)
            }
        };
        TinyRaster::float(width, height, &[("B04", &red), ("B08", &nir)])
    }

    /// The class map [`TinyNet::threshold`] gives this raster, red and nir named by description.
    pub fn threshold_classes(&self, red: &str, nir: &str) -> Vec<u8> {
        let (red, nir) = (self.band(red), self.band(nir));
        red.iter()
            .zip(nir)
            .map(|(&r, &n)| TinyNet::threshold_class(r, n))
            .collect()
    }

    /// Values of one band (by description).
    pub fn band(&self, name: &str) -> &[f32] {
        &self.bands.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// Writes the raster as a GeoTIFF and returns its path as a string.
    pub fn write(&self, path: &Path) -> String {
        cloudmask::raster::gdal::register_drivers();
        let name = path.to_string_lossy().into_owned();
        let c_path = CString::new(name.clone()).unwrap();
        // SAFETY: valid C strings; every band index is in 1..=bands of the dataset created here,
        // every buffer holds width x height floats, and the dataset is closed exactly once.
        unsafe {
            let driver = g::GDALGetDriverByName(c"GTiff".as_ptr());
            let ds = g::GDALCreate(
                driver,
                c_path.as_ptr(),
                self.width as i32,
                self.height as i32,
                self.bands.len() as i32,
                self.data_type,
                std::ptr::null_mut(),
            );
            assert!(!ds.is_null(), "GDAL cannot create {name}");
            for (i, (description, values)) in self.bands.iter().enumerate() {
                assert_eq!(values.len(), self.width * self.height, "band {description}");
                let band = g::GDALGetRasterBand(ds, i as i32 + 1);
                let d = CString::new(description.as_str()).unwrap();
                g::GDALSetDescription(band as g::GDALMajorObjectH, d.as_ptr());
                if let Some(nodata) = self.nodata {
                    g::GDALSetRasterNoDataValue(band, nodata);
                }
                let err = g::GDALRasterIO(
                    band,
                    g::GDALRWFlag::GF_Write,
                    0,
                    0,
                    self.width as i32,
                    self.height as i32,
                    values.as_ptr() as *mut libc::c_void,
                    self.width as i32,
                    self.height as i32,
                    g::GDALDataType::GDT_Float32,
                    0,
                    0,
                );
                assert_eq!(err, g::CPLErr::CE_None, "writing band {description}");
            }
            if let Some((mut gt, wkt)) = self.georef.clone() {
                let wkt = CString::new(wkt).unwrap();
                g::GDALSetGeoTransform(ds, gt.as_mut_ptr());
                g::GDALSetProjection(ds, wkt.as_ptr());
            }
            for (key, value) in &self.metadata {
                let (k, v) = (CString::new(key.as_str()), CString::new(value.as_str()));
                g::GDALSetMetadataItem(
                    ds as g::GDALMajorObjectH,
                    k.unwrap().as_ptr(),
                    v.unwrap().as_ptr(),
                    std::ptr::null(),
                );
            }
            g::GDALClose(ds);
        }
        name
    }
}

/// The valid mask computed the slow, obvious way: a pixel is invalid when it is not clear, or
/// lies within its radius (4-connected steps) of a pixel of a class with that radius.
pub fn valid_by_distance(classes: &[u8], w: usize, h: usize, radius: &[u32; 5]) -> Vec<u8> {
    let seeds: Vec<(usize, usize, u32)> = (0..w * h)
        .filter(|&i| classes[i] != CommonClass::Clear.code())
        .map(|i| (i % w, i / w, radius[classes[i] as usize]))
        .collect();
    (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let hit = seeds
                .iter()
                .any(|&(sx, sy, r)| (x.abs_diff(sx) + y.abs_diff(sy)) as u32 <= r);
            u8::from(!hit)
        })
        .collect()
}

/// How many pixels hold each common class code (0 nodata … 4 shadow).
pub fn class_counts(classes: &[u8]) -> [u64; 5] {
    let mut counts = [0u64; 5];
    for &c in classes {
        counts[c as usize] += 1;
    }
    counts
}
