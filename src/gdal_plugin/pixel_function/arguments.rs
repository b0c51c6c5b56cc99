//! The pixel function's arguments: the list published with it
//! (`<PixelFunctionArgumentsList>`) and the parsing of a VRT's `<PixelFunctionArguments>`, with
//! messages that name the argument and what to write instead.

use crate::error::{Error, Result};
use crate::limits::{self, MAX_BUFFER, MAX_THREADS};
use crate::model::{Device, ModelOptions, Precision};
use crate::options::Choice;
use crate::postprocess::DEFAULT_BUFFER;
use crate::raster::Product;
use std::ffi::{CStr, CString};
use std::sync::OnceLock;

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

/// The parsed `<PixelFunctionArguments>`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Arguments {
    pub(super) model: String,
    pub(super) output: Product,
    /// With `output=prob`: the model class, by index or name (resolved once the model is loaded).
    pub(super) class: Option<String>,
    pub(super) buffer: u32,
    pub(super) nodata: Option<f32>,
    pub(super) threads: usize,
    pub(super) device: Device,
    pub(super) precision: Precision,
}

impl Arguments {
    pub(super) fn model_options(&self) -> ModelOptions {
        ModelOptions {
            threads: self.threads,
            device: self.device,
            precision: self.precision,
            // A VRT is data: it cannot name the library to load (see `parse`).
            ort_lib: None,
        }
    }

    /// Parses name=value pairs; every message names the argument and what to write instead.
    pub(super) fn parse(get: impl Fn(&str) -> Option<String>) -> Result<Arguments> {
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
