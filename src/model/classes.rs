//! cloudmask's common classes: the codes every output uses, whatever the model's own classes are,
//! with the names and colours of the class map's colour table; and the valid mask's categories.
//! Every output (GeoTIFFs, virtual masks, the QGIS plugin's styles) takes them from here.

/// The valid mask's categories by value (0 invalid, 1 valid), with their colours (RGBA): invalid
/// pixels as a translucent red overlay, valid ones transparent.
pub const VALID_CATEGORIES: [(&str, [u8; 4]); 2] =
    [("invalid", [220, 40, 40, 160]), ("valid", [0, 0, 0, 0])];

/// Codes written into class rasters, 0 to 4 in declaration order (the C API's `cm_class`; a
/// test in `ffi/handles.rs` pins them). 0 is nodata so that GIS tools treat it as transparent.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommonClass {
    Nodata = 0,
    Clear,
    Cloud,
    ThinCloud,
    Shadow,
}

impl CommonClass {
    pub const ALL: [CommonClass; 5] = [
        CommonClass::Nodata,
        CommonClass::Clear,
        CommonClass::Cloud,
        CommonClass::ThinCloud,
        CommonClass::Shadow,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn name(self) -> &'static str {
        match self {
            CommonClass::Nodata => "nodata",
            CommonClass::Clear => "clear",
            CommonClass::Cloud => "cloud",
            CommonClass::ThinCloud => "thin cloud",
            CommonClass::Shadow => "cloud shadow",
        }
    }

    /// Colours (RGBA) chosen to read well over imagery in QGIS: clouds light, shadows dark.
    pub fn colour(self) -> [u8; 4] {
        match self {
            CommonClass::Nodata => [0, 0, 0, 0],
            CommonClass::Clear => [60, 160, 60, 255],
            CommonClass::Cloud => [240, 240, 240, 255],
            CommonClass::ThinCloud => [120, 200, 255, 255],
            CommonClass::Shadow => [70, 50, 120, 255],
        }
    }

    /// Every class's `(name, colour)` by code: the class map's categories.
    pub fn categories() -> [(&'static str, [u8; 4]); 5] {
        CommonClass::ALL.map(|c| (c.name(), c.colour()))
    }

    /// Parses the names used in model cards and on the command line.
    pub fn parse(name: &str) -> Option<CommonClass> {
        let n = name.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        Some(match n.as_str() {
            "nodata" | "no data" | "missing" => CommonClass::Nodata,
            "clear" | "background" | "land" | "water" | "snow" => CommonClass::Clear,
            "cloud" | "thick cloud" | "opaque cloud" => CommonClass::Cloud,
            "thin cloud" | "semi transparent cloud" | "cirrus" => CommonClass::ThinCloud,
            "shadow" | "cloud shadow" => CommonClass::Shadow,
            _ => return None,
        })
    }

    pub fn from_code(code: u8) -> Option<CommonClass> {
        CommonClass::ALL.into_iter().find(|c| c.code() == code)
    }
}
