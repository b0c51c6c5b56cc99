//! The mask products: what each output raster is (its name, file suffix, pixel type, bands,
//! nodata, colours and category names) and the set of them one request computes.
//!
//! Every shell (CLI `--output`, the C API, the virtual-mask descriptor, the pixel function's
//! `output` argument) parses product names here, and every writer (GeoTIFF files, the virtual
//! mask's bands) takes the bands' look from here, so a product is described once.

use super::gdal::PixelType;
use crate::error::{Error, Result};
use crate::model::classes::VALID_CATEGORIES;
use crate::model::CommonClass;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One output raster kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum Product {
    /// uint8 common class codes with a colour table.
    Classes,
    /// uint8: 1 valid, 0 invalid (cloud, shadow, buffer, nodata).
    Valid,
    /// float32, one band per model class.
    Probabilities,
}

/// How one band of a product looks in GDAL.
#[derive(Debug, Clone, PartialEq)]
pub struct BandLook {
    pub description: String,
    pub nodata: Option<f64>,
    /// RGBA colour table entries, index = pixel value; empty for none.
    pub colours: Vec<[u8; 4]>,
    /// Category names, index = pixel value; empty for none.
    pub categories: Vec<String>,
}

impl Product {
    /// Every product, in the order they are listed to users.
    pub const ALL: [Product; 3] = [Product::Classes, Product::Valid, Product::Probabilities];

    /// The name written in files' metadata and accepted everywhere.
    pub fn name(self) -> &'static str {
        match self {
            Product::Classes => "classes",
            Product::Valid => "valid",
            Product::Probabilities => "probabilities",
        }
    }

    /// Other spellings accepted on input (the pixel function's `output="class"`, `"prob"`).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Product::Classes => &["class"],
            Product::Valid => &[],
            Product::Probabilities => &["prob", "probs", "probability"],
        }
    }

    /// "classes, valid or probabilities": the names as error messages and help list them.
    pub fn names() -> String {
        let names: Vec<&str> = Product::ALL.iter().map(|p| p.name()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }

    pub fn parse(s: &str) -> Result<Product> {
        let s = s.trim();
        Product::ALL
            .into_iter()
            .find(|p| p.name() == s || p.aliases().contains(&s))
            .ok_or_else(|| {
                Error::invalid(format!("unknown output '{s}': use {}", Product::names()))
            })
    }

    /// Parses a list of names (`--output classes,valid`), in order, without repeats.
    pub fn parse_list<S: AsRef<str>>(names: &[S]) -> Result<Vec<Product>> {
        let products = names
            .iter()
            .map(|n| Product::parse(n.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Product::distinct(&products)
    }

    /// `products` in order without repeats; at least one.
    pub fn distinct(products: &[Product]) -> Result<Vec<Product>> {
        let mut out: Vec<Product> = Vec::new();
        for &p in products {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        if out.is_empty() {
            return Err(Error::invalid(format!(
                "no output requested: use {}",
                Product::names()
            )));
        }
        Ok(out)
    }

    /// Added to the first output's file name for this product's file (`mask_valid.tif`).
    pub fn file_suffix(self) -> String {
        format!("_{}", self.name())
    }

    pub fn pixel_type(self) -> PixelType {
        match self {
            Product::Classes | Product::Valid => PixelType::U8,
            Product::Probabilities => PixelType::F32,
        }
    }

    /// Overview resampling: averages for continuous values, nearest for codes.
    pub fn resampling(self) -> &'static std::ffi::CStr {
        match self {
            Product::Probabilities => c"AVERAGE",
            Product::Classes | Product::Valid => c"NEAREST",
        }
    }

    /// The product's bands for a model with these classes: one, or one per class.
    pub fn bands(self, class_names: &[String]) -> Vec<BandLook> {
        match self {
            Product::Classes => vec![BandLook {
                description: "cloudmask classes".into(),
                nodata: Some(CommonClass::Nodata.code() as f64),
                colours: colours(&CommonClass::categories()),
                categories: names(&CommonClass::categories()),
            }],
            // Invalid pixels as a translucent red overlay, valid ones transparent.
            Product::Valid => vec![BandLook {
                description: "cloudmask valid mask (1 valid, 0 invalid)".into(),
                nodata: None,
                colours: colours(&VALID_CATEGORIES),
                categories: names(&VALID_CATEGORIES),
            }],
            Product::Probabilities => class_names
                .iter()
                .map(|name| BandLook {
                    description: format!("probability of {name}"),
                    nodata: Some(f64::NAN),
                    colours: Vec::new(),
                    categories: Vec::new(),
                })
                .collect(),
        }
    }
}

/// The colours of a category table (the class table's or the valid mask's).
fn colours(table: &[(&str, [u8; 4])]) -> Vec<[u8; 4]> {
    table.iter().map(|(_, colour)| *colour).collect()
}

/// The names of a category table.
fn names(table: &[(&str, [u8; 4])]) -> Vec<String> {
    table.iter().map(|(name, _)| name.to_string()).collect()
}

impl TryFrom<String> for Product {
    type Error = Error;
    fn try_from(s: String) -> Result<Product> {
        Product::parse(&s)
    }
}

impl From<Product> for &'static str {
    fn from(p: Product) -> &'static str {
        p.name()
    }
}

/// Each product's file: the first goes to `first`, the others get their
/// [`Product::file_suffix`] before its extension.
pub fn output_paths(first: &Path, products: &[Product]) -> Vec<(Product, PathBuf)> {
    let stem = first.file_stem().unwrap_or_default().to_string_lossy();
    let ext = first
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    products
        .iter()
        .enumerate()
        .map(|(i, &p)| match i {
            0 => (p, first.to_path_buf()),
            _ => (
                p,
                first.with_file_name(format!("{stem}{}{ext}", p.file_suffix())),
            ),
        })
        .collect()
}

/// The set of products one computation delivers. The class map is always computed (every other
/// product derives from the same pass); these say what to compute besides it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Products {
    pub probabilities: bool,
    pub valid: bool,
}

impl Products {
    pub fn of(products: &[Product]) -> Products {
        Products {
            probabilities: products.contains(&Product::Probabilities),
            valid: products.contains(&Product::Valid),
        }
    }

    pub fn contains(self, product: Product) -> bool {
        match product {
            Product::Classes => true,
            Product::Valid => self.valid,
            Product::Probabilities => self.probabilities,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_list_once() {
        for p in Product::ALL {
            assert_eq!(Product::parse(p.name()).unwrap(), p);
            assert!(Products::of(&[p]).contains(p));
        }
        assert_eq!(Product::names(), "classes, valid or probabilities");
        assert_eq!(Product::parse(" prob ").unwrap(), Product::Probabilities);
        let e = Product::parse("cloudy").unwrap_err();
        assert!(e.message.contains("'cloudy': use classes, valid or"), "{e}");
        assert_eq!(
            Product::parse_list(&["valid", "classes", "valid"]).unwrap(),
            [Product::Valid, Product::Classes]
        );
        assert!(Product::parse_list::<&str>(&[]).is_err());
        let json = serde_json::to_string(&Product::ALL).unwrap();
        assert_eq!(json, r#"["classes","valid","probabilities"]"#);
        let back: Vec<Product> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Product::ALL);
    }

    #[test]
    fn files_and_bands() {
        let paths = output_paths(
            Path::new("/o/mask.tif"),
            &[Product::Classes, Product::Valid],
        );
        assert_eq!(paths[1].1, Path::new("/o/mask_valid.tif"));
        let classes = &Product::Classes.bands(&[])[0];
        assert_eq!(classes.categories[4], "cloud shadow");
        assert_eq!(classes.colours.len(), 5);
        let names = ["clear".to_string(), "cloud".to_string()];
        assert_eq!(Product::Probabilities.bands(&names).len(), 2);
    }
}
