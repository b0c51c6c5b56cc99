//! What the trainer's end-to-end tests share: the labelled tiles of ../shared/data as
//! (image, labels) paths.

/// An image and its label raster.
pub type Pair = (String, String);

/// The Landsat 5 and 7 tiles (training) and the Sentinel-2 tile (held out).
pub struct LabelledTiles {
    pub landsat: Vec<Pair>,
    pub s2: Pair,
}

/// Fails with what to install when ../shared/data is missing.
pub fn labelled_tiles() -> LabelledTiles {
    let d = super::data_dir();
    let f = |s: &str| d.join(s).to_string_lossy().into_owned();
    LabelledTiles {
        landsat: ["landsat5", "landsat7"]
            .iter()
            .map(|t| {
                (
                    f(&format!("ukis-landsat/{t}_6band.tif")),
                    f(&format!("ukis-landsat/{t}_labels.tif")),
                )
            })
            .collect(),
        s2: (f("ukis-s2/s2_6band.tif"), f("ukis-s2/labels.tif")),
    }
}
