//! The GDAL plugin. This cdylib, installed as `gdal_cloudmask.so` in a folder on
//! `GDAL_DRIVER_PATH`, is loaded by every GDAL program (gdal_translate, QGIS, …), which calls
//! `GDALRegister_cloudmask`. That registers two things:
//! - the `CLOUDMASK` raster driver (`driver`): the exact virtual mask, computed block by block
//!   from the engine's exact tiling with a shared tile cache;
//! - the `cloudmask` VRT pixel function (`pixel_function`): a convenience mode that only sees the
//!   buffer GDAL asks for.

pub mod descriptor;
mod driver;
mod pixel_function;
pub mod vrt;

pub use descriptor::Descriptor;
pub use vrt::write_virtual_mask;

use std::sync::Once;

/// The oldest GDAL the plugin registers itself with (the one it is built and tested against).
const MIN_GDAL_VERSION_NUM: i32 = 3_06_00_00;

/// GDAL's auto-loader calls `GDALRegister_<name>` for `gdal_<name>.so`; it may call it several
/// times per process (once per GDALAllRegister), so registration runs once.
#[no_mangle]
pub extern "C" fn GDALRegister_cloudmask() {
    register_once();
}

/// GDAL's fallback entry point name for plugins.
#[no_mangle]
pub extern "C" fn GDALRegisterMe() {
    register_once();
}

fn register_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // A panic must never reach GDAL: it would abort gdal_translate or QGIS.
        let _ = std::panic::catch_unwind(|| {
            if !gdal_is_recent_enough() || another_copy_registered() {
                return;
            }
            pixel_function::register();
            driver::register();
        });
    });
}

/// Whether a CLOUDMASK driver is already there: another copy of this library registered it
/// (the Debian package's plugin, auto-loaded from GDAL's own folder, beside a checkout's on
/// `GDAL_DRIVER_PATH`). The first copy keeps both its driver and its pixel function; GDAL
/// would let a second pixel function of the same name replace the first, mixing two builds.
fn another_copy_registered() -> bool {
    // SAFETY: a NUL-terminated name; GDAL returns a driver handle or null.
    !unsafe { gdal_sys::GDALGetDriverByName(c"CLOUDMASK".as_ptr()) }.is_null()
}

fn gdal_is_recent_enough() -> bool {
    // SAFETY: GDALVersionInfo returns a static string.
    let num: i32 =
        unsafe { std::ffi::CStr::from_ptr(gdal_sys::GDALVersionInfo(c"VERSION_NUM".as_ptr())) }
            .to_string_lossy()
            .parse()
            .unwrap_or(0);
    if num < MIN_GDAL_VERSION_NUM {
        crate::gdal_plugin::report_error(&format!(
            "cloudmask plugin: GDAL {} is too old; the plugin needs GDAL 3.6 or newer and was not registered",
            crate::raster::gdal::version()
        ));
        return false;
    }
    true
}

/// Reports a model's notes (device fallback, threads capped) as GDAL warnings, once, when the
/// process loads it.
pub(crate) fn report_notes(model: &crate::model::Model) {
    for note in model.notes() {
        report(gdal_sys::CPLErr::CE_Warning, &format!("cloudmask: {note}"));
    }
}

/// Reports an error through GDAL's error handler (`CPLError(CE_Failure, CPLE_AppDefined, "%s", …)`),
/// the way GDAL programs and QGIS show errors.
pub(crate) fn report_error(message: &str) {
    report(gdal_sys::CPLErr::CE_Failure, message);
}

fn report(class: gdal_sys::CPLErr::Type, message: &str) {
    const CPLE_APP_DEFINED: i32 = 1;
    let text = std::ffi::CString::new(message.replace('\0', " ")).unwrap_or_default();
    // SAFETY: variadic CPLError with a "%s" format and one C string argument.
    unsafe { gdal_sys::CPLError(class, CPLE_APP_DEFINED, c"%s".as_ptr(), text.as_ptr()) };
}
