//! The one handle, `cm_model`: a loaded model (its card and a pool of ONNX Runtime sessions).

use super::args::{arg, out, text, write_text};
use super::options::{cm_model_options, model_options};
use super::panic::{call, call_or};
use super::status::cm_status;
use crate::error::{Error, Result};
use crate::model::{CommonClass, Model};
use std::os::raw::c_char;

/// A loaded model. Created by `cm_model_load`, owned by the caller, released by exactly one
/// `cm_model_free`. One model may be used by several threads at once.
pub struct cm_model {
    _private: [u8; 0],
}

// The header promises that a cm_model may be used by several threads at once.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Model>();
};

/// Codes written into `classes_out` and class-map files (the same for every model).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cm_class {
    /// No data in the input.
    Nodata = 0,
    /// Clear: usable ground, water or snow.
    Clear = 1,
    /// Opaque cloud.
    Cloud = 2,
    /// Thin (semi-transparent) cloud, for models that tell it apart.
    ThinCloud = 3,
    /// Cloud shadow.
    CloudShadow = 4,
}

/// What a model needs and gives.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct cm_model_info {
    /// Input bands, in the order `cm_model_band_name` gives them.
    pub n_bands: usize,
    /// Output classes of the network (each maps onto a `cm_class` code, see `cm_model_class_code`).
    pub n_classes: usize,
    /// Tile size the network was trained on, in pixels.
    pub tile_size: usize,
    /// `cm_mask_options.tile` must be a multiple of this.
    pub size_multiple: usize,
}

/// The model behind a handle.
///
/// # Safety
/// `m` is NULL or a handle from `cm_model_load` that has not been freed.
pub(crate) unsafe fn model<'a>(m: *const cm_model) -> Result<&'a Model> {
    arg(m.cast::<Model>(), "model")
}

/// Loads a model by name (e.g. "ukis-6b-l1c", as `cloudmask models` lists them) or by path to an
/// .onnx file, loading ONNX Runtime first if needed. `options` may be NULL for the defaults.
/// On success `*out_model` is a new handle to release with `cm_model_free`.
#[no_mangle]
pub extern "C" fn cm_model_load(
    name_or_path: *const c_char,
    options: *const cm_model_options,
    out_model: *mut *mut cm_model,
) -> cm_status {
    call(|| {
        // SAFETY: every pointer is checked for NULL; the caller promises the rest.
        let (name, options, slot) = unsafe {
            (
                text(name_or_path, "name_or_path")?,
                model_options(options)?,
                out(out_model, "out_model")?,
            )
        };
        let loaded = Model::load(name, &options)?;
        // C has no other channel for them: what the load changed (threads capped to the cores,
        // CUDA unavailable) goes to stderr, as the CLI shows it.
        for note in loaded.notes() {
            eprintln!("cloudmask: note: {note}");
        }
        *slot = Box::into_raw(Box::new(loaded)).cast::<cm_model>();
        Ok(())
    })
}

/// Releases a model. NULL is a no-op. The handle must not be used afterwards, nor be in use by
/// another thread.
#[no_mangle]
pub extern "C" fn cm_model_free(model: *mut cm_model) {
    call_or((), || {
        if !model.is_null() {
            // SAFETY: a non-NULL handle came from Box::into_raw in cm_model_load and is freed once.
            drop(unsafe { Box::from_raw(model.cast::<Model>()) });
        }
        Ok(())
    })
}

/// Writes the model's sizes into `*out_info`.
#[no_mangle]
pub extern "C" fn cm_model_get_info(
    model: *const cm_model,
    out_info: *mut cm_model_info,
) -> cm_status {
    call(|| {
        // SAFETY: pointers checked for NULL; the handle is live.
        let (m, o) = unsafe { (self::model(model)?, out(out_info, "out_info")?) };
        *o = cm_model_info {
            n_bands: m.n_bands(),
            n_classes: m.n_classes(),
            tile_size: m.card.tile_size,
            size_multiple: m.card.size_multiple,
        };
        Ok(())
    })
}

/// Copies the common name of input band `index` (0-based, e.g. "blue", "swir16") into `buf`.
#[no_mangle]
pub extern "C" fn cm_model_band_name(
    model: *const cm_model,
    index: usize,
    buf: *mut c_char,
    len: usize,
) -> cm_status {
    model_text(model, buf, len, |m| {
        m.card
            .bands
            .get(index)
            .map(|band| band.name.as_str())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "band index {index} is out of range: the model has {} bands",
                    m.n_bands()
                ))
            })
    })
}

/// Copies the model's own name of output class `index` (0-based) into `buf`.
#[no_mangle]
pub extern "C" fn cm_model_class_name(
    model: *const cm_model,
    index: usize,
    buf: *mut c_char,
    len: usize,
) -> cm_status {
    model_text(model, buf, len, |m| {
        class_spec(m, index).map(|class| class.name.as_str())
    })
}

/// Copies a text of a model (a band's or a class's name) into the caller's buffer.
fn model_text(
    model: *const cm_model,
    buf: *mut c_char,
    len: usize,
    text: impl FnOnce(&Model) -> Result<&str>,
) -> cm_status {
    call(|| {
        // SAFETY: handle checked for NULL and live.
        let m = unsafe { self::model(model) }?;
        let text = text(m)?;
        // SAFETY: `buf` checked for NULL; `len` bytes writable.
        unsafe { write_text(text, buf, len, "buf") }
    })
}

/// Writes the `cm_class` code that output class `index` (0-based) is reported as.
#[no_mangle]
pub extern "C" fn cm_model_class_code(
    model: *const cm_model,
    index: usize,
    out_code: *mut u8,
) -> cm_status {
    call(|| {
        // SAFETY: pointers checked for NULL; the handle is live.
        let (m, o) = unsafe { (self::model(model)?, out(out_code, "out_code")?) };
        class_spec(m, index)?;
        *o = m.card.common_codes()[index];
        Ok(())
    })
}

fn class_spec(m: &Model, index: usize) -> Result<&crate::model::card::ClassSpec> {
    m.card.classes.get(index).ok_or_else(|| {
        Error::invalid(format!(
            "class index {index} is out of range: the model has {} classes",
            m.n_classes()
        ))
    })
}

impl From<CommonClass> for cm_class {
    fn from(c: CommonClass) -> Self {
        match c {
            CommonClass::Nodata => cm_class::Nodata,
            CommonClass::Clear => cm_class::Clear,
            CommonClass::Cloud => cm_class::Cloud,
            CommonClass::ThinCloud => cm_class::ThinCloud,
            CommonClass::Shadow => cm_class::CloudShadow,
        }
    }
}

/// Writes the names of the models cloudmask can see (what `cloudmask models` lists: our model
/// folders, then the ukis-csmask package), one per line, into `buf`, NUL-terminated and cut to
/// fit like snprintf, and returns the length the whole list needs, NUL included. Call it with
/// `buf` NULL and `len` 0 to learn the size. Returns 0 only after an internal error.
#[no_mangle]
pub extern "C" fn cm_list_models(buf: *mut c_char, len: usize) -> usize {
    crate::ffi::panic::call_or(0, || {
        let names: Vec<String> = crate::model::list_models()
            .into_iter()
            .map(|m| m.name)
            .collect();
        // SAFETY: the caller gives `len` writable bytes at `buf` (or NULL).
        Ok(unsafe { super::args::write_truncated(&names.join("\n"), buf, len) })
    })
}

/// Writes the model's card as JSON (what `cloudmask info MODEL` describes: name, version, bands
/// and their normalisation, classes and their `cm_class` codes, output kind, tile size, ...) into
/// `buf`, NUL-terminated and cut to fit like snprintf, and returns the length the whole card
/// needs, NUL included: call it with `buf` NULL and `len` 0 to learn the size. Returns 0 after an
/// error (a NULL model), with the last error set.
#[no_mangle]
pub extern "C" fn cm_model_card(model: *const cm_model, buf: *mut c_char, len: usize) -> usize {
    crate::ffi::panic::call_or(0, || {
        // SAFETY: the handle is NULL-checked and live (header).
        let m = unsafe { self::model(model) }?;
        let json = serde_json::to_string(&m.card)
            .map_err(|e| Error::new(crate::error::ErrorKind::Internal, e.to_string()))?;
        // SAFETY: the caller gives `len` writable bytes at `buf` (or NULL).
        Ok(unsafe { super::args::write_truncated(&json, buf, len) })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_codes_equal_the_common_codes() {
        for c in CommonClass::ALL {
            assert_eq!(cm_class::from(c) as u8, c.code(), "{c:?}");
        }
    }

    #[test]
    fn a_null_handle_is_refused_and_free_of_null_is_a_no_op() {
        cm_model_free(std::ptr::null_mut());
        let mut info = cm_model_info::default();
        assert_eq!(
            cm_model_get_info(std::ptr::null(), &mut info),
            cm_status::CM_ERROR_INVALID_ARGUMENT
        );
    }
}
