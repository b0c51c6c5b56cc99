//! Reading a descriptor: which names GDAL hands to the driver ([`identify`]), and a connection
//! string or `.cmask` file parsed into a checked [`Descriptor`] (version, limits, no `"ort"`).

use super::{Descriptor, EXTENSION, FORMAT_VERSION, PREFIX};
use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// True when GDAL should hand `filename` to this driver.
pub fn identify(filename: &str, header: &[u8]) -> bool {
    if has_prefix(filename) {
        return true;
    }
    let is_cmask = Path::new(filename)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(EXTENSION));
    is_cmask
        && header
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{')
}

fn has_prefix(s: &str) -> bool {
    s.len() >= PREFIX.len()
        && s.is_char_boundary(PREFIX.len())
        && s[..PREFIX.len()].eq_ignore_ascii_case(PREFIX)
}

impl Descriptor {
    /// Reads the descriptor GDAL was given: `CLOUDMASK:{json}`, `CLOUDMASK:/path/file.cmask`,
    /// or `/path/file.cmask`. Relative paths inside a file are relative to the file's folder.
    pub fn from_filename(filename: &str) -> Result<(Descriptor, Option<PathBuf>)> {
        let rest = if has_prefix(filename) {
            filename[PREFIX.len()..].trim()
        } else {
            filename.trim()
        };
        if rest.starts_with('{') {
            return Ok((Descriptor::parse(rest, "the connection string")?, None));
        }
        if rest.is_empty() {
            return Err(Error::invalid(format!(
                "{PREFIX} needs a descriptor: CLOUDMASK:{{\"image\": \"/path/to/scene.tif\"}} or CLOUDMASK:/path/to/mask.{EXTENSION}"
            )));
        }
        let text = std::fs::read_to_string(rest)
            .map_err(|e| Error::input(format!("cannot read the mask descriptor {rest}: {e}")))?;
        let dir = Path::new(rest).parent().map(Path::to_path_buf);
        Ok((Descriptor::parse(&text, rest)?, dir))
    }

    pub fn parse(json: &str, origin: &str) -> Result<Descriptor> {
        refuse_a_named_library(json, origin)?;
        let d: Descriptor = serde_json::from_str(json).map_err(|e| {
            Error::invalid(format!(
                "the mask descriptor in {origin} is not valid: {e}; see docs/gdal-plugin.md for its fields"
            ))
        })?;
        if d.version != FORMAT_VERSION {
            return Err(Error::invalid(format!(
                "the mask descriptor in {origin} has version {}, but this cloudmask ({}) reads version {FORMAT_VERSION}; write it again with `cloudmask vrt`",
                d.version,
                crate::VERSION
            )));
        }
        d.check_sizes().map_err(|e| {
            Error::new(
                e.kind,
                format!("the mask descriptor in {origin}: {}", e.message),
            )
        })?;
        Ok(d)
    }
}

/// Refuses a descriptor with an `"ort"` key before anything else reads it.
fn refuse_a_named_library(json: &str, origin: &str) -> Result<()> {
    /// Only the key, whatever its value (`null` too); other fields are the typed parse's
    /// business.
    #[derive(Deserialize)]
    struct NamesALibrary {
        #[serde(default, deserialize_with = "present")]
        ort: bool,
    }
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| true)
    }
    match serde_json::from_str::<NamesALibrary>(json) {
        Ok(NamesALibrary { ort: true }) => Err(Error::invalid(format!(
            "the mask descriptor in {origin} names an ONNX Runtime library (\"ort\"): a virtual mask cannot name a library to load; \
             remove the key (write the mask again with `cloudmask vrt`) and set CLOUDMASK_ORT_LIB to the absolute path of libonnxruntime.so if ONNX Runtime is not found"
        ))),
        _ => Ok(()),
    }
}
