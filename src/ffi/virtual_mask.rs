//! The C API's equivalent of `cloudmask vrt`.

use super::args::{opt_text, text};
use super::input::{cm_input_options, input_options};
use super::options::{cm_model_options, mask_options, model_options};
use super::panic::call;
use super::status::cm_status;
use crate::error::Error;
use crate::gdal_plugin::descriptor::BufferSpec;
use crate::gdal_plugin::{write_virtual_mask, Descriptor};
use crate::raster::{BandSelection, Product};
use std::ffi::c_char;
use std::path::Path;

/// Writes a virtual mask of `image_path` to `vrt_path`: a GDAL VRT over the plugin's CLOUDMASK
/// driver, computed block by block when a GDAL program (or QGIS) with the plugin on
/// GDAL_DRIVER_PATH reads it; every block equals what cm_mask_dataset writes for those pixels.
/// `outputs` lists the bands, comma-separated, in order: "classes", "valid", "probabilities"
/// (NULL = "classes"). `model` is a name or an .onnx path. Bands are matched by name. Of
/// `mask_options` only the buffer is used. `model_options` and `mask_options` may be NULL.
/// Everything is checked (model, bands, ONNX Runtime) before the file appears.
#[no_mangle]
pub extern "C" fn cm_write_virtual_mask(
    image_path: *const c_char,
    model: *const c_char,
    model_options: *const cm_model_options,
    mask_options: *const super::options::cm_mask_options,
    outputs: *const c_char,
    vrt_path: *const c_char,
) -> cm_status {
    cm_write_virtual_mask_ex(
        image_path,
        std::ptr::null(),
        model,
        model_options,
        mask_options,
        outputs,
        vrt_path,
    )
}

/// `cm_write_virtual_mask` with the image read as `input_options` say (scaling, DN offset,
/// nodata, resolution, per-class buffers; NULL = the defaults, as `cm_write_virtual_mask`).
#[no_mangle]
pub extern "C" fn cm_write_virtual_mask_ex(
    image_path: *const c_char,
    input_options: *const cm_input_options,
    model: *const c_char,
    model_options: *const cm_model_options,
    mask_options: *const super::options::cm_mask_options,
    outputs: *const c_char,
    vrt_path: *const c_char,
) -> cm_status {
    call(|| {
        // SAFETY: every pointer is checked for NULL; strings are NUL-terminated (header).
        let (image, read, model, runtime, options, outputs, vrt) = unsafe {
            (
                text(image_path, "image_path")?,
                self::input_options(input_options)?,
                text(model, "model")?,
                self::model_options(model_options)?,
                self::mask_options(mask_options)?,
                opt_text(outputs, "outputs")?.unwrap_or(Product::Classes.name()),
                text(vrt_path, "vrt_path")?,
            )
        };
        // Checked here, where a bad value is still an invalid argument: the driver reports
        // every failure to open as an input error.
        let input = read.input(image, BandSelection::Auto);
        input.validate()?;
        let names: Vec<&str> = outputs.split(',').collect();
        let mut descriptor = Descriptor::new(image, model);
        descriptor.outputs = Product::parse_list(&names)
            .map_err(|e| Error::new(e.kind, format!("outputs: {}", e.message)))?;
        descriptor.buffer = BufferSpec::of(&read.buffers(options.buffers));
        descriptor.read_as(&input);
        descriptor.threads = runtime.threads;
        descriptor.device = runtime.device;
        descriptor.precision = runtime.precision;
        // ort_library loads ONNX Runtime for this process only: a virtual mask cannot name a
        // library, so the programs that open it find ONNX Runtime themselves.
        crate::runtime::init_for(runtime.ort_lib.as_deref(), runtime.device)?;
        write_virtual_mask(&descriptor, Path::new(vrt))
    })
}
