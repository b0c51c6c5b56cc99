//! The `cloudmask` VRT pixel function: a cloud mask as a `VRTDerivedRasterBand` whose sources
//! are the model's input bands, computed by any GDAL program that reads the VRT.
//!
//! ```xml
//! <VRTRasterBand dataType="Byte" band="1" subClass="VRTDerivedRasterBand"
//!                blockXSize="512" blockYSize="512">
//!   <PixelFunctionType>cloudmask</PixelFunctionType>
//!   <PixelFunctionArguments model="ukis-6b-l1c" output="class"/>
//!   <SourceTransferType>Float32</SourceTransferType>
//!   <SimpleSource><SourceFilename>/abs/s2.tif</SourceFilename><SourceBand>1</SourceBand></SimpleSource>
//!   … one source per model band, in the model card's band order …
//! </VRTRasterBand>
//! ```
//!
//! **A convenience mode, not the exact one.** GDAL 3.6 hands a C pixel function only the buffer
//! it requests: no halo and no window position. The buffer is therefore masked as a whole raster
//! of its own (`Tiling::Exact` on a [`MemorySource`] of the buffer, mirrored at the buffer's
//! edges), so the mask depends on the request: it equals the CLI's whole-raster mask only when
//! the request is the whole raster (blocks as large as the raster). The `CLOUDMASK` raster driver
//! of this plugin is the exact path.
//!
//! **`<SourceTransferType>Float32</SourceTransferType>` is required** for float sources: without
//! it GDAL 3.6 delivers the sources in the buffer type (Byte for a class band), which rounds
//! reflectance to whole numbers. Any source type is accepted and converted with `GDALCopyWords`;
//! sources must hold reflectance (scale digital numbers in the VRT with a `ComplexSource`'s
//! `ScaleRatio`/`ScaleOffset`).
//!
//! ONNX Runtime and the model load on the first call, never at registration; models come from
//! the process's model cache (`model::cache`). A [`Model`] is `Sync` (a session pool), so GDAL
//!
//! One job per file: this file registers the function and is GDAL's callback (the panic
//! boundary); `arguments` holds the published argument list and parses
//! `<PixelFunctionArguments>`; `block` masks the block GDAL asks for and writes it into GDAL's
//! buffer.

mod arguments;
mod block;

use crate::error::guarded;
use arguments::arguments;
use block::{run, Destination};
use gdal_sys::{CPLErr, CSLConstList, GDALDataType};
use std::ffi::{c_int, c_void, CStr, CString};
use std::panic::catch_unwind;
use std::sync::Once;

/// The name used in `<PixelFunctionType>`.
pub const NAME: &CStr = c"cloudmask";

/// Registers the pixel function with GDAL, once per process (GDAL may call the plugin's entry
/// point several times; re-adding would be harmless, but there is no need).
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: NUL-terminated strings that live for the process and a function with GDAL's callback signature.
        let err = unsafe {
            gdal_sys::GDALAddDerivedBandPixelFuncWithArgs(
                NAME.as_ptr(),
                Some(pixel_function),
                arguments().as_ptr(),
            )
        };
        if err != CPLErr::CE_None {
            super::report_error(
                "cloudmask plugin: could not register the `cloudmask` pixel function",
            );
        }
    });
}

/// GDAL's callback. Never unwinds: a panic becomes a `CPLError` and `CE_Failure`.
unsafe extern "C" fn pixel_function(
    sources: *mut *mut c_void,
    n_sources: c_int,
    data: *mut c_void,
    nx: c_int,
    ny: c_int,
    src_type: GDALDataType::Type,
    buf_type: GDALDataType::Type,
    pixel_space: c_int,
    line_space: c_int,
    args: CSLConstList,
) -> CPLErr::Type {
    let outcome = guarded(|| {
        // SAFETY: GDAL passes `n_sources` source buffers of nx × ny values of `src_type`, an
        // output buffer laid out by `pixel_space`/`line_space`, and a NULL-terminated list.
        let destination = Destination {
            data,
            buf_type,
            pixel_space,
            line_space,
        };
        unsafe { run(sources, n_sources, src_type, (nx, ny), destination, args) }
    });
    let message = match outcome.and_then(|r| r) {
        Ok(()) => return CPLErr::CE_None,
        Err(e) => format!("cloudmask pixel function: {e}"),
    };
    // Reporting must not unwind either.
    let _ = catch_unwind(|| super::report_error(&message));
    CPLErr::CE_Failure
}

fn report_warning(message: &str) {
    const CPLE_APP_DEFINED: i32 = 1;
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: variadic CPLError with a "%s" format and one C string argument.
    unsafe {
        gdal_sys::CPLError(
            CPLErr::CE_Warning,
            CPLE_APP_DEFINED,
            c"%s".as_ptr(),
            text.as_ptr(),
        )
    };
}
