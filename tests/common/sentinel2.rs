//! Small Sentinel-2 products as users download them (.SAFE folders GDAL's SENTINEL2 driver
//! reads), written from the 6-band sample scene: the metadata files with the elements the
//! driver and the product opener read (after the layout of the fake products in GDAL's own test
//! suite), and lossless JPEG 2000 band images of digital numbers.
//!
//! The sample's reflectance r becomes DN = round(r * 10000) - offset, clamped to 1..65535 so
//! that 0 stays "no data". Blue, green, red and NIR are written at 10 m (each 20 m pixel
//! repeated 2 x 2, so that averaging back to 20 m gives the DN exactly); SWIR 1 and 2 at 20 m.
//! The reference is a float GeoTIFF of the reflectance those DN stand for, computed as the
//! reader computes it: (DN as f64 * (1 / Q) + offset / Q) as f32.

use super::{sample_scene, TempDir};
use cloudmask::raster::gdal::PixelType;
use cloudmask::raster::Dataset;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const QUANTIFICATION: f64 = 10000.0;
const BANDS: [&str; 6] = ["B02", "B03", "B04", "B08", "B11", "B12"];
const TILE: &str = "T32TMR";
const SENSED: &str = "20230823T095559";
/// Upper-left corner of the product (UTM 32N) and its size at 20 m.
const ULX: f64 = 600000.0;
const ULY: f64 = 5010240.0;
const SIZE20: usize = 512;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Level {
    L1C,
    L2A,
}

/// A product to write: level, processing baseline ("05.09"), the offset its metadata states
/// for every band (`None` before baseline 04.00) and bands left out.
pub struct Spec<'a> {
    pub level: Level,
    pub baseline: &'a str,
    pub offset: Option<i32>,
    pub without: &'a [&'a str],
}

/// A written product.
pub struct Product {
    /// The .SAFE folder.
    pub safe: PathBuf,
    /// Its main metadata file (MTD_MSIL1C.xml or MTD_MSIL2A.xml).
    pub mtd: PathBuf,
    /// A float GeoTIFF of the same reflectance (20 m, bands B02 … B12 by description).
    pub reference: PathBuf,
}

fn run(cmd: &str, args: &[&str]) {
    let o = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} could not be run ({e}); install it to build the fixture")
    });
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Writes the product described by `spec` under `dir`.
pub fn write(dir: &TempDir, spec: &Spec) -> Product {
    let (level_tag, product_type) = match spec.level {
        Level::L1C => ("L1C", "S2MSI1C"),
        Level::L2A => ("L2A", "S2MSI2A"),
    };
    let n = format!("N{}", spec.baseline.replace('.', ""));
    let name = format!("S2B_MSI{level_tag}_{SENSED}_{n}_R122_{TILE}_20230823T120234");
    let safe = dir.path(&format!("{name}.SAFE"));
    let granule = format!("GRANULE/{level_tag}_{TILE}_A033753_20230823T095553");
    std::fs::create_dir_all(safe.join(&granule).join("IMG_DATA")).unwrap();
    let offset = spec.offset.unwrap_or(0);
    let (dn, reference) = digital_numbers(dir, offset);

    let mut images = Vec::new();
    for (i, band) in BANDS.iter().enumerate() {
        if spec.without.contains(band) {
            continue;
        }
        let ten = i < 4;
        let image = match spec.level {
            Level::L1C => format!("{granule}/IMG_DATA/{TILE}_{SENSED}_{band}"),
            Level::L2A => {
                let res = if ten { "10m" } else { "20m" };
                format!("{granule}/IMG_DATA/R{res}/{TILE}_{SENSED}_{band}_{res}")
            }
        };
        let jp2 = safe.join(format!("{image}.jp2"));
        std::fs::create_dir_all(jp2.parent().unwrap()).unwrap();
        write_jp2(&dn, i + 1, ten, &jp2);
        images.push(image);
    }
    let mtd_name = format!("MTD_MSI{level_tag}.xml");
    let mtd = safe.join(&mtd_name);
    let product_xml = product_metadata(spec, level_tag, product_type, &name, &images);
    std::fs::write(&mtd, product_xml).unwrap();
    std::fs::write(
        safe.join(&granule).join("MTD_TL.xml"),
        tile_metadata(level_tag),
    )
    .unwrap();
    Product {
        safe,
        mtd,
        reference,
    }
}

/// The sample as DN (6 bands of whole numbers, 20 m, no georeferencing) and the reference reflectance
/// GeoTIFF of the same DN.
fn digital_numbers(dir: &TempDir, offset: i32) -> (PathBuf, PathBuf) {
    let scene = Dataset::open(&sample_scene()).unwrap();
    assert_eq!((scene.width(), scene.height()), (SIZE20, SIZE20));
    let n = SIZE20 * SIZE20;
    let tag = format!("{offset}").replace('-', "m");
    let dn_path = dir.path(&format!("dn-{tag}.tif"));
    let ref_path = dir.path(&format!("reference-{tag}.tif"));
    let s = |p: &Path| p.to_string_lossy().into_owned();
    // Whole numbers up to 65535 are exact in Float32; gdal_translate makes them UInt16.
    let dn_ds = Dataset::create(
        "GTiff",
        &s(&dn_path),
        SIZE20,
        SIZE20,
        6,
        PixelType::F32,
        &[],
    )
    .unwrap();
    let ref_ds = Dataset::create(
        "GTiff",
        &s(&ref_path),
        SIZE20,
        SIZE20,
        6,
        PixelType::F32,
        &[],
    )
    .unwrap();
    let (gain, bias) = (1.0 / QUANTIFICATION, f64::from(offset) / QUANTIFICATION);
    for (i, band) in BANDS.iter().enumerate() {
        let mut r = vec![0f32; n];
        scene.read(i + 1, 0, 0, SIZE20, SIZE20, &mut r).unwrap();
        let dn: Vec<f32> = r
            .iter()
            .map(|&v| {
                let d = (f64::from(v) * QUANTIFICATION).round() - f64::from(offset);
                d.clamp(1.0, 65535.0) as f32
            })
            .collect();
        let refl: Vec<f32> = dn
            .iter()
            .map(|&d| (f64::from(d) * gain + bias) as f32)
            .collect();
        dn_ds.write(i + 1, (0, 0, SIZE20, SIZE20), &dn).unwrap();
        ref_ds.write(i + 1, (0, 0, SIZE20, SIZE20), &refl).unwrap();
        ref_ds.set_band_description(i + 1, band).unwrap();
    }
    (dn_path, ref_path)
}

/// One band of the DN file as a lossless JPEG 2000 in UTM 32N, at 10 m (pixels repeated) or 20 m.
fn write_jp2(dn: &Path, band: usize, ten: bool, out: &Path) {
    let b = band.to_string();
    let (ulx, uly) = (ULX.to_string(), ULY.to_string());
    let (lrx, lry) = (
        (ULX + 20.0 * SIZE20 as f64).to_string(),
        (ULY - 20.0 * SIZE20 as f64).to_string(),
    );
    let dn = dn.to_string_lossy();
    let out = out.to_string_lossy();
    let mut args = vec![
        "-q",
        "--config",
        "GDAL_PAM_ENABLED",
        "NO",
        "-of",
        "JP2OpenJPEG",
        "-co",
        "REVERSIBLE=YES",
        "-co",
        "QUALITY=100",
        "-ot",
        "UInt16",
        "-a_srs",
        "EPSG:32632",
        "-a_ullr",
        &ulx,
        &uly,
        &lrx,
        &lry,
        "-b",
        &b,
    ];
    if ten {
        args.extend(["-outsize", "200%", "200%", "-r", "nearest"]);
    }
    args.extend([dn.as_ref(), out.as_ref()]);
    run("gdal_translate", &args);
}

/// MTD_MSIL1C.xml / MTD_MSIL2A.xml: product type, baseline, image files, special values,
/// quantification and (from baseline 04.00) the offsets by band id.
fn product_metadata(
    spec: &Spec,
    level_tag: &str,
    product_type: &str,
    name: &str,
    images: &[String],
) -> String {
    let files: String = images
        .iter()
        .map(|f| format!("          <IMAGE_FILE>{f}</IMAGE_FILE>\n"))
        .collect();
    let (quantification, offsets) = match spec.level {
        Level::L1C => (
            format!("<QUANTIFICATION_VALUE unit=\"none\">{QUANTIFICATION}</QUANTIFICATION_VALUE>"),
            ("Radiometric_Offset_List", "RADIO_ADD_OFFSET"),
        ),
        Level::L2A => (
            format!("<QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE unit=\"none\">{QUANTIFICATION}</BOA_QUANTIFICATION_VALUE><AOT_QUANTIFICATION_VALUE unit=\"none\">1000.0</AOT_QUANTIFICATION_VALUE><WVP_QUANTIFICATION_VALUE unit=\"cm\">1000.0</WVP_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST>"),
            ("BOA_ADD_OFFSET_VALUES_LIST", "BOA_ADD_OFFSET"),
        ),
    };
    let offsets = spec.offset.map_or(String::new(), |o| {
        let items: String = (0..13)
            .map(|id| format!("        <{0} band_id=\"{id}\">{o}</{0}>\n", offsets.1))
            .collect();
        format!("      <{0}>\n{items}      </{0}>\n", offsets.0)
    });
    let baseline = spec.baseline;
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-{l}_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-{l}.xsd">
  <n1:General_Info>
    <Product_Info>
      <PRODUCT_START_TIME>2023-08-23T09:55:59.024Z</PRODUCT_START_TIME>
      <PRODUCT_URI>{name}.SAFE</PRODUCT_URI>
      <PROCESSING_LEVEL>Level-{l}</PROCESSING_LEVEL>
      <PRODUCT_TYPE>{product_type}</PRODUCT_TYPE>
      <PROCESSING_BASELINE>{baseline}</PROCESSING_BASELINE>
      <Datatake datatakeIdentifier="GS2B_{SENSED}_033753_N{baseline}">
        <SPACECRAFT_NAME>Sentinel-2B</SPACECRAFT_NAME>
      </Datatake>
      <Query_Options completeSingleTile="true"><PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT></Query_Options>
      <Product_Organisation>
        <Granule_List>
          <Granule granuleIdentifier="S2B_OPER_MSI_{level_tag}_TL_2BPS_20230823T120234_A033753_{TILE}_N{baseline}" imageFormat="JPEG2000">
{files}          </Granule>
        </Granule_List>
      </Product_Organisation>
    </Product_Info>
    <Product_Image_Characteristics>
      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>
      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>
      {quantification}
{offsets}    </Product_Image_Characteristics>
  </n1:General_Info>
</n1:Level-{l}_User_Product>
"#,
        l = &level_tag[1..]
    )
}

/// The granule's MTD_TL.xml: the tile's CRS, sizes and corners at 10, 20 and 60 m.
fn tile_metadata(level_tag: &str) -> String {
    let l = &level_tag[1..];
    let mut geo = String::new();
    for res in [10usize, 20, 60] {
        let size = SIZE20 * 20 / res;
        geo += &format!(
            "      <Size resolution=\"{res}\"><NROWS>{size}</NROWS><NCOLS>{size}</NCOLS></Size>\n"
        );
    }
    for res in [10usize, 20, 60] {
        geo += &format!("      <Geoposition resolution=\"{res}\"><ULX>{ULX}</ULX><ULY>{ULY}</ULY><XDIM>{res}</XDIM><YDIM>-{res}</YDIM></Geoposition>\n");
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-{l}_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-{l}_Tile_Metadata.xsd">
  <n1:Geometric_Info>
    <Tile_Geocoding metadataLevel="Brief">
      <HORIZONTAL_CS_NAME>WGS84 / UTM zone 32N</HORIZONTAL_CS_NAME>
      <HORIZONTAL_CS_CODE>EPSG:32632</HORIZONTAL_CS_CODE>
{geo}    </Tile_Geocoding>
  </n1:Geometric_Info>
</n1:Level-{l}_Tile_ID>
"#
    )
}

/// The product's .SAFE folder zipped as downloads come (the folder at the zip's root).
pub fn zip(product: &Product, out: &Path) -> PathBuf {
    let parent = product.safe.parent().unwrap();
    let name = product.safe.file_name().unwrap().to_string_lossy();
    let o = Command::new("zip")
        .current_dir(parent)
        .args(["-q", "-r", "-0", &out.to_string_lossy(), &name])
        .output()
        .unwrap_or_else(|e| panic!("zip could not be run ({e}); install zip to build the fixture"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out.to_path_buf()
}
