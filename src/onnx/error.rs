//! The error type of the ONNX reader and editor.

use std::fmt;

use super::wire::WireError;

/// Broad category of an [`OnnxError`], for callers that react differently to a
/// damaged file and to a file of the wrong kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OnnxErrorKind {
    /// The bytes are not well-formed protobuf: truncated, corrupted, or not a
    /// protobuf file at all (a text file, an image, ...).
    Malformed,
    /// Well-formed protobuf, but not shaped like an ONNX `ModelProto`: a
    /// required field is missing, a known field has the wrong type, or a name
    /// is not UTF-8.
    NotAModel,
}

/// Why a byte buffer could not be read or edited as an ONNX model. The message
/// says what is wrong and, where it helps, where (byte offset and the path of
/// the message inside the model, e.g. `graph.input[0].type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnnxError {
    kind: OnnxErrorKind,
    message: String,
    offset: Option<usize>,
}

impl OnnxError {
    /// The category of the error.
    pub fn kind(&self) -> OnnxErrorKind {
        self.kind
    }

    /// Byte offset in the model file where the problem was found, when known.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }

    /// A wire-format error found while reading the message at `path` (empty
    /// for the top-level `ModelProto`).
    pub(super) fn wire(err: WireError, path: &str) -> Self {
        let mut message = format!("not an ONNX model: {err}");
        if !path.is_empty() {
            message.push_str(&format!(" (in {path})"));
        }
        OnnxError {
            kind: OnnxErrorKind::Malformed,
            message,
            offset: Some(err.offset),
        }
    }

    /// Well-formed protobuf that does not fit the ONNX schema.
    pub(super) fn not_a_model(detail: impl fmt::Display, offset: Option<usize>) -> Self {
        OnnxError {
            kind: OnnxErrorKind::NotAModel,
            message: format!("not an ONNX model: {detail}"),
            offset,
        }
    }

    /// A `ModelProto` header without the graph that every usable model has.
    pub(super) fn no_graph() -> Self {
        OnnxError {
            kind: OnnxErrorKind::NotAModel,
            message: "ONNX model has no graph (ModelProto field 7 is missing)".to_owned(),
            offset: None,
        }
    }
}

impl fmt::Display for OnnxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OnnxError {}

#[cfg(test)]
mod tests {
    use super::super::wire::WireErrorKind;
    use super::*;

    #[test]
    fn messages_say_what_and_where() {
        let wire = WireError {
            offset: 12,
            kind: WireErrorKind::TruncatedVarint,
        };
        let top = OnnxError::wire(wire.clone(), "");
        assert_eq!(
            top.to_string(),
            "not an ONNX model: truncated varint at byte 12"
        );
        assert_eq!(top.kind(), OnnxErrorKind::Malformed);
        assert_eq!(top.offset(), Some(12));

        let nested = OnnxError::wire(wire, "graph.input[0]");
        assert_eq!(
            nested.to_string(),
            "not an ONNX model: truncated varint at byte 12 (in graph.input[0])"
        );

        let no_graph = OnnxError::no_graph();
        assert!(no_graph.to_string().starts_with("ONNX model has no graph"));
        assert_eq!(no_graph.kind(), OnnxErrorKind::NotAModel);
        assert_eq!(no_graph.offset(), None);

        // Usable as a boxed std error.
        let boxed: Box<dyn std::error::Error> = Box::new(no_graph);
        assert!(boxed.to_string().contains("no graph"));
    }
}
