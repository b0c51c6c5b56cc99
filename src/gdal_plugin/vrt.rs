//! Writing a virtual mask: a GDAL VRT over the `CLOUDMASK` driver, which any GDAL program or QGIS
//! opens with the plugin on `GDAL_DRIVER_PATH`. The CLI (`cloudmask vrt`) and the C API
//! (`cm_write_virtual_mask`) both call [`write_virtual_mask`].

use super::descriptor::Descriptor;
pub use super::descriptor::{DEFAULT_BLOCK, DEFAULT_CACHE_MB};
use crate::error::{Error, Result};
use crate::raster::output_check::check_outputs;
use crate::raster::staging::{checked, clean_stale, commit_all, Staged};
use crate::raster::Dataset;
use std::path::{Path, PathBuf};

/// Checks the mask opens (bands map, model and ONNX Runtime load: the same checks GDAL programs
/// will run), then lets GDAL's VRT driver copy it into `out`, written beside it and renamed into
/// place when complete.
pub fn write_virtual_mask(descriptor: &Descriptor, out: &Path) -> Result<()> {
    descriptor.products()?;
    // An unknown model is the commonest mistake: say so before anything else. The driver then
    // finds the model loaded in the shared cache.
    crate::model::cache::shared(&descriptor.model, &descriptor.model_options(), |_| ())?;
    let inputs: Vec<PathBuf> = descriptor.image.iter().map(PathBuf::from).collect();
    check_outputs(&inputs, &[("virtual mask".to_string(), out.to_path_buf())])?;
    super::GDALRegister_cloudmask();
    let mask = Dataset::open_with_driver(&descriptor.connection(), "CLOUDMASK").map_err(|e| {
        Error::new(
            e.kind,
            e.message
                .strip_prefix("CLOUDMASK: ")
                .unwrap_or(&e.message)
                .to_string(),
        )
    })?;
    clean_stale(out);
    let staged = Staged::new(out, "vrt")?;
    checked(out, || mask.copy_to("VRT", staged.path()))?;
    commit_all(vec![staged]).map(|_| ())
}
