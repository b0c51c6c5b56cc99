//! The `cloudmask` VRT pixel function: a cloud mask as a `VRTDerivedRasterBand` whose sources
//! are the model's input bands, computed by any GDAL program that reads the VRT.
//!
//! ```xml
//! <VRTRasterBand dataType="Byte" band="1" subClass="VRTDerivedRasterBand"
//!                blockXSize="512" blockYSize="512">
//!   <PixelFunctionType>cloudmask</PixelFunctionType>
//!   <PixelFunctionArguments model="ukis-6b-l1c" output="class"/>
//!   <SourceTransferType>Float32</SourceTransferType>
//!   <SimpleSource><SourceFilename>/abs/s2.tif</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
//!   … one source per model band, in the model card's band order …
//! </VRTRasterBand>
//! ```
//!
//! **A convenience mode, not the exact one.** GDAL 3.6 hands a C pixel function only the buffer
//! it requests: no halo and no window position. The buffer is therefore masked as a whole raster
//! of its own (`Tiling::Exact` on a [`MemorySource`] of the buffer, mirrored at the buffer's
//! edges), so the mask depends on the request: it equals the CLI's whole-raster mask only when
//! the request is the whole raster (blocks as large as the raster). The `CLOUDMASK` raster driver
//! of this plugin is the exact path.
//!
//! **`<SourceTransferType>Float32</SourceTransferType>` is required** for float sources: without
//! it GDAL 3.6 delivers the sources in the buffer type (Byte for a class band), which rounds
//! reflectance to whole numbers. Any source type is accepted and converted with `GDALCopyWords`;
//! sources must hold reflectance (scale digital numbers in the VRT with a `ComplexSource`'s
//! `ScaleRatio`/`ScaleOffset`).
//!
//! ONNX Runtime and the model load on the first call, never at registration; models come from
//! the process's model cache (`model::cache`). A [`Model`] is `Sync` (a session pool), so GDAL
//! worker threads may call the function concurrently.

use crate::engine::{mask_window, MaskOptions, Plane, Region, Tiling};
use crate::error::guarded;
use crate::error::{Error, Result};
use crate::limits::{self, MAX_BUFFER, MAX_THREADS};
use crate::model::{cache, Device, Model, ModelOptions, Precision};
use crate::options::Choice;
use crate::postprocess::{Buffers, DEFAULT_BUFFER};
use crate::raster::{MemorySource, Product, Products};
use gdal_sys::{CPLErr, CSLConstList, GDALDataType};
use std::ffi::{c_int, c_void, CStr, CString};
use std::panic::catch_unwind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, OnceLock};

/// The name used in `<PixelFunctionType>`.
pub const NAME: &CStr = c"cloudmask";

/// Published with the function (`<PixelFunctionArgumentsList>`); `output`'s values are the
/// product names. The builtin `NoData` is not declared on purpose: GDAL 3.6 then fails every
/// read of a band without `<NoDataValue>` ("Raster has no NoData"), and it is the output band's
/// nodata, not the sources'; the `nodata` argument names the sources' nodata instead.
pub fn arguments() -> &'static CStr {
    static ARGUMENTS: OnceLock<CString> = OnceLock::new();
    ARGUMENTS.get_or_init(|| {
        let values: String = Product::ALL
            .iter()
            .map(|p| format!("<Value>{}</Value>", p.name()))
            .collect();
        let text = format!("<PixelFunctionArgumentsList>\
<Argument name='model' type='string' mandatory='1' description='Model name (see cloudmask models) or path to an .onnx file'/>\
<Argument name='output' type='string-select' default='{default}' description='The product shown: {names} (with class); \
class and prob are accepted for classes and probabilities'>{values}</Argument>\
<Argument name='class' type='string' description='With output=probabilities: model class index (0-based, card order) or name'/>\
<Argument name='buffer' type='integer' default='{DEFAULT_BUFFER}' min='0' description='Valid mask: pixels of buffer around clouds and shadows'/>\
<Argument name='nodata' type='double' description='Source value that marks nodata (in any band); NaN and infinities always do'/>\
<Argument name='threads' type='integer' default='0' min='0' description='ONNX Runtime intra-op threads per session (0 = all cores)'/>\
<Argument name='device' type='string-select' default='{device}' description='Execution provider; cuda and openvino fall back to cpu with a warning'>\
{devices}</Argument>\
<Argument name='precision' type='string-select' default='{precision}' description='bf16 needs device openvino and a CPU with native bf16'>\
{precisions}</Argument>\
</PixelFunctionArgumentsList>",
            default = Product::Classes.name(),
            names = Product::names(),
            device = ModelOptions::default().device,
            devices = values_of::<Device>(),
            precision = ModelOptions::default().precision,
            precisions = values_of::<Precision>(),
        );
        CString::new(text).unwrap_or_default()
    })
}

/// `<Value>` elements of every name of an option.
fn values_of<T: Choice + std::fmt::Display>() -> String {
    T::ALL
        .iter()
        .map(|v| format!("<Value>{v}</Value>"))
        .collect()
}

/// Registers the pixel function with GDAL, once per process (GDAL may call the plugin's entry
/// point several times; re-adding would be harmless, but there is no need).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: NUL-terminated strings that live for the process and a function with GDAL's callback signature.
        let err = unsafe {
            gdal_sys::GDALAddDerivedBandPixelFuncWithArgs(
                NAME.as_ptr(),
                Some(pixel_function),
                arguments().as_ptr(),
            )
        };
        if err != CPLErr::CE_None {
            super::report_error(
                "cloudmask plugin: could not register the `cloudmask` pixel function",
            );
        }
    });
}

/// The parsed `<PixelFunctionArguments>`.
#[derive(Debug, Clone, PartialEq)]
struct Arguments {
    model: String,
    output: Product,
    /// With `output=prob`: the model class, by index or name (resolved once the model is loaded).
    class: Option<String>,
    buffer: u32,
    nodata: Option<f32>,
    threads: usize,
    device: Device,
    precision: Precision,
}

impl Arguments {
    fn model_options(&self) -> ModelOptions {
        ModelOptions {
            threads: self.threads,
            device: self.device,
            precision: self.precision,
            // A VRT is data: it cannot name the library to load (see `parse`).
            ort_lib: None,
        }
    }

    /// Parses name=value pairs; every message names the argument and what to write instead.
    fn parse(get: impl Fn(&str) -> Option<String>) -> Result<Arguments> {
        let model = get("model")
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .ok_or_else(|| {
                Error::invalid(
                    "argument model is missing: add model=\"ukis-6b-l1c\" (a name from `cloudmask models`, \
                     or a path to an .onnx file) to <PixelFunctionArguments>",
                )
            })?;
        let output = match get("output") {
            None => Product::Classes,
            Some(o) => Product::parse(&o).map_err(|e| {
                Error::invalid(format!("argument output=\"{}\": {}", o.trim(), e.message))
            })?,
        };
        let class = match output {
            Product::Probabilities => Some(
                get("class")
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| {
                        Error::invalid(
                            "output=prob needs class=<index> (0-based model class, e.g. class=\"1\") or class=<name>",
                        )
                    })?,
            ),
            _ => None,
        };
        // Parsed wide and checked against the documented limits, so no value wraps.
        let whole = |name: &str, default: u64, max: u64| -> Result<u64> {
            match get(name) {
                None => Ok(default),
                Some(v) => {
                    let n = v.trim().parse::<i128>().map_err(|_| {
                        Error::invalid(format!(
                            "argument {name}=\"{v}\" is not a whole number (0 to {max})"
                        ))
                    })?;
                    limits::check(&format!("argument {name}"), n, 0, max)
                }
            }
        };
        let buffer = whole("buffer", DEFAULT_BUFFER.into(), MAX_BUFFER)? as u32;
        let threads = whole("threads", 0, MAX_THREADS)? as usize;
        let nodata =
            match get("nodata") {
                None => None,
                Some(v) => Some(v.trim().parse::<f32>().map_err(|_| {
                    Error::invalid(format!("argument nodata=\"{v}\" is not a number"))
                })?),
            };
        fn choice<T: Choice>(key: &str, value: Option<String>, default: T) -> Result<T> {
            match value {
                None => Ok(default),
                Some(name) => crate::options::parse(&name).map_err(|e| {
                    Error::new(e.kind, format!("argument {key}=\"{name}\": {}", e.message))
                }),
            }
        }
        let defaults = ModelOptions::default();
        let device = choice("device", get("device"), defaults.device)?;
        let precision = choice("precision", get("precision"), defaults.precision)?;
        if get("ort").is_some() {
            return Err(Error::invalid(
                "argument ort: a VRT cannot name a library to load (opening a raster must not run code it names); \
                 remove the argument and set CLOUDMASK_ORT_LIB to the absolute path of libonnxruntime.so if ONNX Runtime is not found",
            ));
        }
        Ok(Arguments {
            model,
            output,
            class,
            buffer,
            nodata,
            threads,
            device,
            precision,
        })
    }
}

/// GDAL's callback. Never unwinds: a panic becomes a `CPLError` and `CE_Failure`.
unsafe extern "C" fn pixel_function(
    sources: *mut *mut c_void,
    n_sources: c_int,
    data: *mut c_void,
    nx: c_int,
    ny: c_int,
    src_type: GDALDataType::Type,
    buf_type: GDALDataType::Type,
    pixel_space: c_int,
    line_space: c_int,
    args: CSLConstList,
) -> CPLErr::Type {
    let outcome = guarded(|| {
        // SAFETY: GDAL passes `n_sources` source buffers of nx × ny values of `src_type`, an
        // output buffer laid out by `pixel_space`/`line_space`, and a NULL-terminated list.
        let destination = Destination {
            data,
            buf_type,
            pixel_space,
            line_space,
        };
        unsafe { run(sources, n_sources, src_type, (nx, ny), destination, args) }
    });
    let message = match outcome.and_then(|r| r) {
        Ok(()) => return CPLErr::CE_None,
        Err(e) => format!("cloudmask pixel function: {e}"),
    };
    // Reporting must not unwind either.
    let _ = catch_unwind(|| super::report_error(&message));
    CPLErr::CE_Failure
}

/// GDAL's output buffer: nx × ny pixels of `buf_type`, `pixel_space` bytes apart within a row
/// and `line_space` bytes between rows.
struct Destination {
    data: *mut c_void,
    buf_type: GDALDataType::Type,
    pixel_space: c_int,
    line_space: c_int,
}

unsafe fn run(
    sources: *mut *mut c_void,
    n_sources: c_int,
    src_type: GDALDataType::Type,
    (nx, ny): (c_int, c_int),
    destination: Destination,
    args: CSLConstList,
) -> Result<()> {
    let Destination {
        data,
        buf_type,
        pixel_space,
        line_space,
    } = destination;
    if nx <= 0 || ny <= 0 || data.is_null() {
        return Ok(());
    }
    let arguments = Arguments::parse(|name| {
        let key = CString::new(name).ok()?;
        // SAFETY: `args` is GDAL's NULL-terminated name=value list (or NULL).
        let value = unsafe { gdal_sys::CSLFetchNameValue(args, key.as_ptr()) };
        // SAFETY: a non-NULL result points into the list, NUL-terminated.
        (!value.is_null()).then(|| {
            unsafe { CStr::from_ptr(value) }
                .to_string_lossy()
                .into_owned()
        })
    })?;
    let model = cache::shared(&arguments.model, &arguments.model_options(), |m| {
        for note in m.notes() {
            report_warning(&format!("cloudmask pixel function: {note}"));
        }
    })?;
    let n_sources = usize::try_from(n_sources).unwrap_or(0);
    if n_sources != model.n_bands() {
        return Err(Error::bands(format!(
            "the VRT band has {n_sources} source(s) but model {} needs {}: one source per band, in this order: {}",
            model.name(),
            model.n_bands(),
            model.card.band_names().join(", ")
        )));
    }
    if sources.is_null() {
        return Err(Error::invalid("GDAL passed no source buffers"));
    }
    let index = match &arguments.class {
        Some(which) => class_index(&model, which)?,
        None => 0,
    };
    let (w, h) = (nx as usize, ny as usize);
    let n = w * h;
    warn_if_rounded(src_type, buf_type);
    let bands = read_sources(sources, model.n_bands(), n, src_type)?;
    let mut source = MemorySource::new(&bands, model.n_bands(), w, h, arguments.nodata)?;
    let options = MaskOptions {
        tiling: Tiling::Exact,
        buffers: Buffers::uniform(arguments.buffer),
        ..Default::default()
    };
    let products = Products::of(&[arguments.output]);
    let region = Region { x: 0, y: 0, w, h };
    let result = mask_window(&model, &mut source, region, &options, products, &mut |_| {
        true
    })?;
    let write_rows = |values: *const c_void, ty: GDALDataType::Type, size: c_int| {
        for row in 0..h {
            // SAFETY: row `row` of `values` holds w values of `ty`; GDAL's output row starts at
            // data + row * line_space and holds w pixels `pixel_space` bytes apart.
            unsafe {
                gdal_sys::GDALCopyWords64(
                    values.cast::<u8>().add(row * w * size as usize).cast(),
                    ty,
                    size,
                    data.cast::<u8>()
                        .offset(row as isize * line_space as isize)
                        .cast(),
                    buf_type,
                    pixel_space,
                    w as i64,
                );
            }
        }
    };
    match result.band(arguments.output, index) {
        Some(Plane::U8(v)) => write_rows(v.as_ptr().cast(), GDALDataType::GDT_Byte, 1),
        Some(Plane::F32(v)) => write_rows(v.as_ptr().cast(), GDALDataType::GDT_Float32, 4),
        None => {
            return Err(Error::invalid(format!(
                "the engine returned no {}",
                arguments.output.name()
            )))
        }
    }
    Ok(())
}

/// The sources as (band, row, column) float32 planes of `n` values each.
///
/// # Safety
/// `sources` holds `n_bands` pointers (each NULL or `n` values of `src_type`).
unsafe fn read_sources(
    sources: *mut *mut c_void,
    n_bands: usize,
    n: usize,
    src_type: GDALDataType::Type,
) -> Result<Vec<f32>> {
    let src_size = gdal_sys::GDALGetDataTypeSizeBytes(src_type);
    if src_size <= 0 {
        return Err(Error::invalid(format!(
            "the sources arrive in an unknown GDAL data type ({src_type})"
        )));
    }
    let mut bands = vec![0f32; n_bands * n];
    for (k, plane) in bands.chunks_exact_mut(n).enumerate() {
        let src = *sources.add(k);
        if src.is_null() {
            return Err(Error::invalid(format!(
                "GDAL passed no buffer for source {}",
                k + 1
            )));
        }
        gdal_sys::GDALCopyWords64(
            src,
            src_type,
            src_size,
            plane.as_mut_ptr().cast(),
            GDALDataType::GDT_Float32,
            4,
            n as i64,
        );
    }
    Ok(bands)
}

/// The model class that `output=prob` shows: a 0-based index or a class name of the card.
fn class_index(model: &Model, which: &str) -> Result<usize> {
    let classes = &model.card.classes;
    let by_index = which.parse::<usize>().ok().filter(|&i| i < classes.len());
    by_index
        .or_else(|| {
            classes
                .iter()
                .position(|c| c.name.eq_ignore_ascii_case(which))
        })
        .ok_or_else(|| {
            let names: Vec<String> = classes
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{i} {}", c.name))
                .collect();
            Error::invalid(format!(
                "class=\"{which}\" is not a class of model {}: use an index or name among {}",
                model.name(),
                names.join(", ")
            ))
        })
}

/// Without `<SourceTransferType>`, GDAL 3.6 delivers the sources in the buffer type: float
/// reflectance read for a Byte band arrives rounded to 0 or 1. That cannot be told apart from
/// genuine integer sources, so this warns once per process when the types match and are integers.
fn warn_if_rounded(src_type: GDALDataType::Type, buf_type: GDALDataType::Type) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    // SAFETY: plain queries on data type enums.
    let integer = unsafe {
        gdal_sys::GDALDataTypeIsInteger(src_type) != 0
            && gdal_sys::GDALDataTypeIsComplex(src_type) == 0
    };
    if integer && src_type == buf_type && !WARNED.swap(true, Ordering::Relaxed) {
        report_warning(
            "cloudmask pixel function: the sources arrive as integers of the band's own type; if the \
             source rasters hold float reflectance, add <SourceTransferType>Float32</SourceTransferType> \
             to the VRT band, or GDAL rounds them before the model sees them",
        );
    }
}

fn report_warning(message: &str) {
    const CPLE_APP_DEFINED: i32 = 1;
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: variadic CPLError with a "%s" format and one C string argument.
    unsafe {
        gdal_sys::CPLError(
            CPLErr::CE_Warning,
            CPLE_APP_DEFINED,
            c"%s".as_ptr(),
            text.as_ptr(),
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Arguments> {
        Arguments::parse(|name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_and_every_argument() {
        let a = parse(&[("model", "ukis-6b-l1c")]).unwrap();
        assert_eq!((a.output, a.class.clone()), (Product::Classes, None));
        assert_eq!((a.buffer, a.threads, a.nodata), (4, 0, None));
        assert_eq!(a.device, Device::Cpu);
        assert_eq!(a.precision, Precision::F32);
        let a = parse(&[
            ("model", "/m/x.onnx"),
            ("output", "prob"),
            ("class", "cloud"),
            ("buffer", "2"),
            ("nodata", "0"),
            ("threads", "1"),
            ("device", "cuda"),
            ("precision", "auto"),
        ])
        .unwrap();
        assert_eq!(a.output, Product::Probabilities);
        assert_eq!(a.class.as_deref(), Some("cloud"));
        assert_eq!((a.buffer, a.threads, a.nodata), (2, 1, Some(0.0)));
        assert_eq!(a.device, Device::Cuda);
        assert_eq!(a.precision, Precision::Auto);
        assert_eq!(a.model_options().precision, Precision::Auto);
        assert_eq!(
            parse(&[("model", "m"), ("output", "valid")])
                .unwrap()
                .output,
            Product::Valid
        );
    }

    #[test]
    fn bad_arguments_say_what_to_write() {
        let msg = |pairs: &[(&str, &str)]| parse(pairs).unwrap_err().message;
        assert!(msg(&[]).contains("model is missing"));
        assert!(msg(&[("model", " ")]).contains("model is missing"));
        assert!(
            msg(&[("model", "m"), ("output", "x")]).contains("use classes, valid or probabilities")
        );
        assert!(msg(&[("model", "m"), ("output", "prob")]).contains("class=<index>"));
        assert!(msg(&[("model", "m"), ("buffer", "-1")]).contains("buffer"));
        assert!(msg(&[("model", "m"), ("threads", "two")]).contains("threads"));
        assert!(msg(&[("model", "m"), ("nodata", "none")]).contains("nodata"));
        assert!(msg(&[("model", "m"), ("device", "gpu")]).contains("cpu, cuda, openvino or auto"));
        assert!(msg(&[("model", "m"), ("precision", "fp16")]).contains(
            "argument precision=\"fp16\": unknown precision 'fp16': use f32, bf16 or auto"
        ));
        for ort in ["/usr/lib/libonnxruntime.so", "lib/ort.so", ""] {
            assert!(msg(&[("model", "m"), ("ort", ort)])
                .contains("a VRT cannot name a library to load"));
        }
    }

    #[test]
    fn the_argument_list_is_well_formed_xml() {
        let text = arguments().to_str().unwrap();
        assert!(text.starts_with("<PixelFunctionArgumentsList>"));
        assert!(text.ends_with("</PixelFunctionArgumentsList>"));
        for name in [
            "model",
            "output",
            "class",
            "buffer",
            "nodata",
            "threads",
            "device",
            "precision",
        ] {
            assert!(text.contains(&format!("name='{name}'")), "{name}");
        }
        assert!(!text.contains("name='ort'"), "{text}");
        assert!(text.contains("<Value>probabilities</Value>"), "{text}");
        // SAFETY: parse and free a copy of the static string.
        unsafe {
            let node = gdal_sys::CPLParseXMLString(arguments().as_ptr());
            assert!(!node.is_null());
            gdal_sys::CPLDestroyXMLNode(node);
        }
    }

    #[test]
    fn published_arguments_state_the_library_defaults_and_devices() {
        use crate::options::Choice;
        let xml = arguments().to_str().unwrap();
        assert!(xml.contains(&format!(
            "name='buffer' type='integer' default='{DEFAULT_BUFFER}'"
        )));
        let device = ModelOptions::default().device;
        assert!(xml.contains(&format!(
            "name='device' type='string-select' default='{device}'"
        )));
        let values: String = Device::ALL
            .iter()
            .map(|d| format!("<Value>{d}</Value>"))
            .collect();
        assert!(xml.contains(&values), "{xml}");
        assert!(xml.contains(
            "name='precision' type='string-select' default='f32' description='bf16 needs device openvino and a CPU with native bf16'><Value>f32</Value><Value>bf16</Value><Value>auto</Value></Argument>"
        ), "{xml}");
    }
}
