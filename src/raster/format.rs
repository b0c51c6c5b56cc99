//! Output formats: a GDAL raster driver and its creation options (`--of`, `--co`), checked
//! before any work so that a run never fails at its end on a format that cannot hold its
//! products.
//!
//! Drivers that can create a file (DCAP_CREATE: GeoTIFF, ERDAS Imagine, …) are written directly;
//! drivers that can only copy one (DCAP_CREATECOPY: COG, PNG, JPEG, …) are written as a tiled
//! GeoTIFF first and copied into the target by the writer ([`super::writer`]).

use super::gdal::{cstring, opt_str, register_drivers, take_last_error, CStringList, PixelType};
use super::product::Product;
use crate::error::{Error, Result};
use gdal_sys as g;

/// GeoTIFF creation options of every GTiff output: tiled, DEFLATE-compressed, BigTIFF when
/// needed, one plane per band. The user's `--co` add to them and override them by key.
const GTIFF_DEFAULTS: [&str; 6] = [
    "TILED=YES",
    "BLOCKXSIZE=256",
    "BLOCKYSIZE=256",
    "COMPRESS=DEFLATE",
    "BIGTIFF=IF_SAFER",
    "INTERLEAVE=BAND",
];

/// Drivers that write no file of their own (a VRT would point at a temporary that is gone).
const VIRTUAL: [&str; 2] = ["MEM", "VRT"];

/// Where outputs are written: a GDAL driver (by its short name) and the user's creation options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    driver: String,
    options: Vec<String>,
}

impl Default for Format {
    /// Tiled, DEFLATE-compressed GeoTIFF with internal overviews.
    fn default() -> Format {
        Format {
            driver: "GTiff".to_string(),
            options: Vec::new(),
        }
    }
}

impl Format {
    /// The format of driver `name` (any case: `gtiff`, `cog`, `PNG`) with the creation options
    /// `options` (`KEY=VALUE` each). Refuses a driver GDAL does not have, one that does not write
    /// rasters, a virtual one, and options the driver does not accept.
    pub fn new<S: AsRef<str>>(name: &str, options: &[S]) -> Result<Format> {
        let drv = find(name)?;
        // SAFETY: a driver handle GDAL owns; the name is copied.
        let driver = opt_str(unsafe { g::GDALGetDriverShortName(drv) }).unwrap_or_default();
        let options: Vec<String> = options
            .iter()
            .map(|o| o.as_ref().trim().to_string())
            .collect();
        for o in &options {
            if !matches!(o.split_once('='), Some((k, _)) if !k.trim().is_empty()) {
                return Err(Error::invalid(format!(
                    "--co '{o}': write a creation option as KEY=VALUE, e.g. COMPRESS=LZW (the {driver} driver's options: `gdalinfo --format {driver}`)"
                )));
            }
        }
        validate_options(drv, &driver, &options)?;
        let format = Format { driver, options };
        format.check_single_file(drv)?;
        Ok(format)
    }

    /// GDAL's cloud-optimised GeoTIFF (`--of COG`).
    pub fn cog() -> Format {
        Format {
            driver: "COG".to_string(),
            options: Vec::new(),
        }
    }

    /// The driver's short name, as GDAL spells it ("GTiff", "COG", "PNG").
    pub fn driver(&self) -> &str {
        &self.driver
    }

    /// The user's creation options.
    pub fn options(&self) -> &[String] {
        &self.options
    }

    pub fn is_gtiff(&self) -> bool {
        self.driver == "GTiff"
    }

    /// Whether the driver creates files it writes into (else the writer copies a GeoTIFF).
    pub fn creates(&self) -> bool {
        has(handle(&self.driver), "DCAP_CREATE")
    }

    /// The driver's usual file extension ("tif", "png"), for temporary files.
    pub fn extension(&self) -> String {
        // SAFETY: a driver handle GDAL owns; the metadata string is copied.
        let ext = opt_str(unsafe {
            g::GDALGetMetadataItem(
                handle(&self.driver) as g::GDALMajorObjectH,
                c"DMD_EXTENSION".as_ptr(),
                std::ptr::null(),
            )
        });
        ext.filter(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .unwrap_or_else(|| "out".to_string())
    }

    /// Refuses products whose pixel type the driver cannot store (float probabilities as PNG).
    pub fn check_products(&self, products: impl IntoIterator<Item = Product>) -> Result<()> {
        // SAFETY: as in `extension`.
        let types = opt_str(unsafe {
            g::GDALGetMetadataItem(
                handle(&self.driver) as g::GDALMajorObjectH,
                c"DMD_CREATIONDATATYPES".as_ptr(),
                std::ptr::null(),
            )
        });
        // A driver that does not list its types says nothing against any.
        let Some(types) = types else { return Ok(()) };
        for p in products {
            let want = p.pixel_type().name();
            if !types.split_whitespace().any(|t| t == want) {
                return Err(Error::invalid(format!(
                    "the {} format cannot hold the {} output ({want} pixels; it writes {types}): choose another --of for it, e.g. GTiff or COG",
                    self.driver,
                    p.name()
                )));
            }
        }
        Ok(())
    }

    /// The creation options of `product`'s file: for GTiff and COG cloudmask's defaults with
    /// the user's options added (a user's key replaces the default's), for other drivers the
    /// user's options only.
    pub fn creation_options(&self, product: Product) -> Vec<String> {
        let defaults: Vec<String> = match self.driver.as_str() {
            "GTiff" => GTIFF_DEFAULTS.iter().map(|s| s.to_string()).collect(),
            "COG" => vec![
                "COMPRESS=DEFLATE".to_string(),
                format!("RESAMPLING={}", product.resampling().to_string_lossy()),
            ],
            _ => Vec::new(),
        };
        merge(&defaults, &self.options)
    }

    /// The options of the GeoTIFF a copy-only format is written from.
    pub(crate) fn working_options() -> Vec<String> {
        GTIFF_DEFAULTS.iter().map(|s| s.to_string()).collect()
    }
}

impl Format {
    /// Refuses a format that writes its output as several files (ENVI's `.hdr` beside the data):
    /// staged outputs are moved into place one file each. Found by writing one pixel into
    /// memory (`/vsimem/`); a driver that cannot write there is given the benefit of the doubt.
    fn check_single_file(&self, drv: g::GDALDriverH) -> Result<()> {
        let dir = format!("/vsimem/cloudmask-probe-{}-{:p}", std::process::id(), self);
        let path = cstring(&format!("{dir}/probe.{}", self.extension()))?;
        let one = super::gdal::Dataset::create("MEM", "", 1, 1, 1, PixelType::U8, &[])?;
        let mut opts = CStringList::new(&self.creation_options(Product::Classes))?;
        let c_dir = cstring(&dir)?;
        // SAFETY: valid driver, C strings, option list and source; the copy is closed and the
        // memory files removed before returning.
        let files = super::gdal::quietly(|| unsafe {
            let copy = g::GDALCreateCopy(
                drv,
                path.as_ptr(),
                one.handle(),
                0,
                opts.as_ptr(),
                None,
                std::ptr::null_mut(),
            );
            let files = if copy.is_null() {
                Vec::new()
            } else {
                let ds = super::gdal::Dataset::from_owned_handle(copy, &dir);
                ds.file_list()
            };
            g::VSIRmdirRecursive(c_dir.as_ptr());
            files
        });
        let _ = take_last_error();
        let side: Vec<&str> = files
            .iter()
            .skip(1)
            .filter(|f| !f.ends_with(".aux.xml"))
            .filter_map(|f| f.rsplit('/').next())
            .collect();
        if side.is_empty() {
            return Ok(());
        }
        Err(Error::invalid(format!(
            "the {} format writes each output as several files (also {}); cloudmask writes one file per output: choose another --of, e.g. GTiff",
            self.driver,
            side.join(", ")
        )))
    }
}

/// `defaults` with each key of `user` replaced or added, in order.
fn merge(defaults: &[String], user: &[String]) -> Vec<String> {
    let key = |o: &str| {
        o.split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_uppercase()
    };
    let mut out: Vec<String> = defaults
        .iter()
        .filter(|d| !user.iter().any(|u| key(u) == key(d)))
        .cloned()
        .collect();
    out.extend(user.iter().cloned());
    out
}

/// The driver called `name`, when it writes rasters into files; else a message listing those
/// that do.
fn find(name: &str) -> Result<g::GDALDriverH> {
    register_drivers();
    let drv = handle(name.trim());
    let writes = !drv.is_null()
        && has(drv, "DCAP_RASTER")
        && (has(drv, "DCAP_CREATE") || has(drv, "DCAP_CREATECOPY"));
    let virtual_driver = VIRTUAL.iter().any(|v| v.eq_ignore_ascii_case(name.trim()));
    if writes && !virtual_driver {
        return Ok(drv);
    }
    let why = if drv.is_null() {
        "GDAL has no such driver"
    } else if virtual_driver {
        "it writes no file of its own"
    } else {
        "GDAL cannot write it (read-only driver)"
    };
    Err(Error::invalid(format!(
        "output format '{name}': {why}; use --of with one of {} (GTiff by default)",
        writable().join(", ")
    )))
}

/// The short names of every driver that writes raster files.
fn writable() -> Vec<String> {
    // SAFETY: driver handles GDAL owns, indices below its count; names are copied.
    let mut names: Vec<String> = (0..unsafe { g::GDALGetDriverCount() })
        .map(|i| unsafe { g::GDALGetDriver(i) })
        .filter(|&d| has(d, "DCAP_RASTER") && (has(d, "DCAP_CREATE") || has(d, "DCAP_CREATECOPY")))
        .filter_map(|d| opt_str(unsafe { g::GDALGetDriverShortName(d) }))
        .filter(|n| !VIRTUAL.contains(&n.as_str()))
        .collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names
}

/// GDALGetDriverByName, NULL when there is none (or the name holds a NUL byte).
fn handle(name: &str) -> g::GDALDriverH {
    register_drivers();
    match cstring(name) {
        // SAFETY: a valid C string; GDAL owns the driver it returns.
        Ok(c) => unsafe { g::GDALGetDriverByName(c.as_ptr()) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Whether the driver's metadata item `cap` is "YES".
fn has(drv: g::GDALDriverH, cap: &str) -> bool {
    if drv.is_null() {
        return false;
    }
    let Ok(c) = cstring(cap) else { return false };
    // SAFETY: a valid driver and C string; the value is copied.
    let v = opt_str(unsafe {
        g::GDALGetMetadataItem(drv as g::GDALMajorObjectH, c.as_ptr(), std::ptr::null())
    });
    v.is_some_and(|v| v.eq_ignore_ascii_case("YES"))
}

/// Refuses creation options the driver does not accept (GDAL itself would only warn, and write a
/// file without them).
fn validate_options(drv: g::GDALDriverH, driver: &str, options: &[String]) -> Result<()> {
    if options.is_empty() {
        return Ok(());
    }
    let mut list = CStringList::new(options)?;
    let _ = take_last_error();
    // GDAL reports the offending option as a warning; it is read back here, not printed.
    // SAFETY: a valid driver and a NULL-terminated list alive across the call.
    let ok = super::gdal::quietly(|| unsafe { g::GDALValidateCreationOptions(drv, list.as_ptr()) });
    if ok == 0 {
        return Err(Error::invalid(format!(
            "--co {}: {} (the {driver} driver's options: `gdalinfo --format {driver}`)",
            options.join(" --co "),
            take_last_error()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_options_override_defaults_by_key() {
        let f = Format::new("gtiff", &["compress=LZW", "PREDICTOR=2"]).unwrap();
        assert_eq!(f.driver(), "GTiff");
        let o = f.creation_options(Product::Classes);
        assert!(o.contains(&"compress=LZW".to_string()), "{o:?}");
        assert!(!o.iter().any(|s| s == "COMPRESS=DEFLATE"), "{o:?}");
        assert!(o.contains(&"TILED=YES".to_string()), "{o:?}");
        let png = Format::new("png", &["ZLEVEL=9"]).unwrap();
        assert_eq!(png.creation_options(Product::Classes), ["ZLEVEL=9"]);
        assert!(!png.creates());
        assert_eq!(png.extension(), "png");
        assert!(Format::default().creates() && Format::default().is_gtiff());
    }

    #[test]
    fn unusable_formats_and_options_are_refused() {
        let e = Format::new("NoSuchFormat", &[] as &[&str]).unwrap_err();
        assert!(
            e.message.contains("GDAL has no such driver"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("GTiff") && e.message.contains("PNG"),
            "{}",
            e.message
        );
        let e = Format::new("ENVI", &[] as &[&str]).unwrap_err();
        assert!(
            e.message.contains("several files (also probe.hdr)"),
            "{}",
            e.message
        );
        let e = Format::new("VRT", &[] as &[&str]).unwrap_err();
        assert!(e.message.contains("no file of its own"), "{}", e.message);
        let e = Format::new("GTiff", &["COMPRESS"]).unwrap_err();
        assert!(e.message.contains("KEY=VALUE"), "{}", e.message);
        let e = Format::new("GTiff", &["COMPRESS=NOPE"]).unwrap_err();
        assert!(e.message.contains("NOPE"), "{}", e.message);
        let png = Format::new("PNG", &[] as &[&str]).unwrap();
        png.check_products([Product::Classes, Product::Valid])
            .unwrap();
        let e = png.check_products([Product::Probabilities]).unwrap_err();
        assert!(e.message.contains("Float32"), "{}", e.message);
    }
}
