//! XML documents read with GDAL's own parser (CPL minixml), for the product metadata that GDAL
//! hands over as text (an `xml:` metadata domain) but does not break into metadata items.

use super::cpl::{cstring, opt_str};
use crate::error::{Error, Result};
use gdal_sys as g;
use std::marker::PhantomData;

/// `s` escaped for XML text and attribute values (the VRTs cloudmask writes in memory).
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A parsed document, freed on drop. Namespace prefixes are stripped, so elements are found by
/// their local names.
pub struct XmlDoc {
    root: *mut g::CPLXMLNode,
}

impl Drop for XmlDoc {
    fn drop(&mut self) {
        // SAFETY: the tree is ours and freed once.
        unsafe { g::CPLDestroyXMLNode(self.root) };
    }
}

impl XmlDoc {
    pub fn parse(text: &str) -> Result<XmlDoc> {
        let c = cstring(text)?;
        // SAFETY: valid C string; the returned tree is ours (NULL when the text is not XML).
        let root = unsafe { g::CPLParseXMLString(c.as_ptr()) };
        if root.is_null() {
            return Err(Error::input(format!(
                "metadata is not well-formed XML: {}",
                super::take_last_error()
            )));
        }
        // SAFETY: valid tree; NULL namespace strips every prefix.
        unsafe { g::CPLStripXMLNamespace(root, std::ptr::null(), 1) };
        Ok(XmlDoc { root })
    }

    /// The first element called `name` anywhere in the document.
    pub fn find(&self, name: &str) -> Option<XmlNode<'_>> {
        // The parsed tree starts with the `<?xml?>` declaration, the document's element being
        // its sibling: "=" makes GDAL search siblings too.
        let c = cstring(&format!("={name}")).ok()?;
        // SAFETY: valid tree and C string; the node lives as long as the document.
        let node = unsafe { g::CPLSearchXMLNode(self.root, c.as_ptr()) };
        XmlNode::new(node)
    }
}

/// An element of an [`XmlDoc`].
#[derive(Clone, Copy)]
pub struct XmlNode<'a> {
    node: *mut g::CPLXMLNode,
    _doc: PhantomData<&'a XmlDoc>,
}

impl<'a> XmlNode<'a> {
    fn new(node: *mut g::CPLXMLNode) -> Option<XmlNode<'a>> {
        (!node.is_null()).then_some(XmlNode {
            node,
            _doc: PhantomData,
        })
    }

    /// The value at `path` below this element ("" for its own text, "band_id" for an attribute,
    /// "A.B" for a nested element's text), trimmed.
    pub fn value(&self, path: &str) -> Option<String> {
        let c = cstring(path).ok()?;
        // SAFETY: valid node and C string; the value is copied at once.
        opt_str(unsafe { g::CPLGetXMLValue(self.node, c.as_ptr(), std::ptr::null()) })
            .map(|v| v.trim().to_string())
    }

    /// The child elements called `name`, in document order.
    pub fn children(&self, name: &str) -> Vec<XmlNode<'a>> {
        let mut out = Vec::new();
        // SAFETY: walking the sibling list of a valid tree.
        unsafe {
            let mut child = (*self.node).psChild;
            while !child.is_null() {
                let is_element = (*child).eType == g::CPLXMLNodeType::CXT_Element;
                if is_element && opt_str((*child).pszValue).as_deref() == Some(name) {
                    out.extend(XmlNode::new(child));
                }
                child = (*child).psNext;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_found_by_local_name_with_attributes_and_text() {
        let doc = XmlDoc::parse(
            r#"<?xml version="1.0"?><n1:Root xmlns:n1="x"><A><L><V id="3"> -1000 </V><V id="4">7</V><W/></L></A></n1:Root>"#,
        )
        .unwrap();
        let list = doc.find("L").unwrap();
        let v = list.children("V");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].value("id").as_deref(), Some("3"));
        assert_eq!(v[0].value("").as_deref(), Some("-1000"));
        assert_eq!(v[1].value("").as_deref(), Some("7"));
        assert!(doc.find("Missing").is_none());
        assert!(XmlDoc::parse("<unclosed>").is_err());
    }
}
