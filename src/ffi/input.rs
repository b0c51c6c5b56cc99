//! How the C API reads an input raster (`cloudmask mask`'s --scaling, --quantification,
//! --dn-offset, --nodata, --resolution and per-class --buffer): `cm_input_options`, its defaults,
//! and its translation into the library's `raster::Input`, which checks the values (or, for
//! `cm_select_tiles` and `cm_evaluate`, into the `raster::Reading` they apply to each raster).

use super::args::{opt_arg, or_default_in, write_default};
use crate::error::{Error, Result};
use crate::limits::MAX_BUFFER;
use crate::model::CommonClass;
use crate::postprocess::Buffers;
use crate::raster::{BandSelection, Input, Reading, Scaling};

/// How to read the input raster. Fill it with `cm_input_options_default`, then change what you
/// need.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct cm_input_options {
    /// A `cm_scaling` value: how stored values become reflectance.
    pub scaling: i32,
    /// Quantification value for `CM_SCALING_DN`, > 0 (default 10000).
    pub quantification: f64,
    /// Radiometric offset for `CM_SCALING_DN` (Sentinel-2 baseline 04.00 and later: -1000;
    /// default 0).
    pub dn_offset: f64,
    /// Whether `nodata` replaces the raster's own nodata value.
    pub has_nodata: bool,
    /// Input value that marks nodata in any band, when `has_nodata` (NaN matches NaN).
    pub nodata: f64,
    /// Resample the input to this pixel size, in its CRS units, before masking; 0 = native.
    pub resolution: f64,
    /// Valid-mask buffer in pixels around clouds, 0 to 1024; -1 = `cm_mask_options.buffer`.
    pub buffer_cloud: i32,
    /// Valid-mask buffer in pixels around thin clouds; -1 = `cm_mask_options.buffer`.
    pub buffer_thin_cloud: i32,
    /// Valid-mask buffer in pixels around cloud shadows; -1 = `cm_mask_options.buffer`.
    pub buffer_shadow: i32,
    /// Valid-mask buffer in pixels around nodata; -1 = none.
    pub buffer_nodata: i32,
}

/// Writes the default input options into `*out_options`: automatic scaling, the raster's own
/// nodata, native resolution, the mask options' buffers. NULL writes nothing.
#[no_mangle]
pub extern "C" fn cm_input_options_default(out_options: *mut cm_input_options) {
    write_default(out_options, || cm_input_options {
        scaling: super::options::cm_scaling::from(Scaling::default()) as i32,
        quantification: crate::raster::scaling::DEFAULT_QUANTIFICATION,
        dn_offset: 0.0,
        has_nodata: false,
        nodata: 0.0,
        resolution: 0.0,
        buffer_cloud: -1,
        buffer_thin_cloud: -1,
        buffer_shadow: -1,
        buffer_nodata: -1,
    })
}

/// A caller's input options, translated.
pub(crate) struct InputChoices {
    /// Scaling, nodata and resolution; the bands come per call.
    pub reading: Reading,
    /// Per common class code; `None` keeps the mask options' radius.
    buffers: [Option<u32>; 5],
}

impl InputChoices {
    /// `path` read as the options say, its bands chosen by `bands`.
    pub fn input(&self, path: &str, bands: BandSelection) -> Input {
        Reading {
            bands,
            ..self.reading.clone()
        }
        .input(path)
    }

    /// The mask options' buffers with the per-class radii the options set.
    pub fn buffers(&self, mut buffers: Buffers) -> Buffers {
        for (r, set) in buffers.radius.iter_mut().zip(self.buffers) {
            if let Some(set) = set {
                *r = set;
            }
        }
        buffers
    }
}

/// The input options from a caller's struct, or the defaults when it is NULL. Values only the
/// raster can judge (resolution, quantification) are checked by `Input::open_for`.
///
/// # Safety
/// `p` is NULL or points to a valid struct.
pub(crate) unsafe fn input_options(p: *const cm_input_options) -> Result<InputChoices> {
    let mut choices = InputChoices {
        reading: Reading::default(),
        buffers: [None; 5],
    };
    let Some(c) = opt_arg(p, "input_options")? else {
        return Ok(choices);
    };
    choices.reading = reading_of(c, "input_options")?;
    for (class, value, name) in [
        (
            CommonClass::Cloud,
            c.buffer_cloud,
            "input_options->buffer_cloud",
        ),
        (
            CommonClass::ThinCloud,
            c.buffer_thin_cloud,
            "input_options->buffer_thin_cloud",
        ),
        (
            CommonClass::Shadow,
            c.buffer_shadow,
            "input_options->buffer_shadow",
        ),
        (
            CommonClass::Nodata,
            c.buffer_nodata,
            "input_options->buffer_nodata",
        ),
    ] {
        choices.buffers[class as usize] =
            or_default_in(value, 0, MAX_BUFFER, name)?.map(|r| r as u32);
    }
    Ok(choices)
}

/// How the calls that read several rasters on their own pixels (`cm_select_tiles`,
/// `cm_evaluate`) read them, from the input options their option struct points to (`name`, for
/// messages), or the defaults when it is NULL: scaling, quantification, dn_offset and nodata.
/// A resolution is passed on for the library to refuse (their pixels are the rasters' own); the
/// buffer fields are not read, since these calls write no valid mask.
///
/// # Safety
/// `p` is NULL or points to a valid struct.
pub(crate) unsafe fn reading(p: *const cm_input_options, name: &str) -> Result<Reading> {
    match opt_arg(p, name)? {
        Some(c) => reading_of(c, name),
        None => Ok(Reading::default()),
    }
}

/// The reading part of input options (bands by name), their fields named `name->field` in
/// messages.
fn reading_of(c: &cm_input_options, name: &str) -> Result<Reading> {
    Ok(Reading {
        scaling: Scaling::try_from(c.scaling)
            .map_err(|e| Error::invalid(format!("{name}->scaling is {e}")))?
            .with_digital_numbers(c.quantification, c.dn_offset),
        nodata: c.has_nodata.then_some(c.nodata),
        resolution: (c.resolution != 0.0).then_some(c.resolution),
        ..Reading::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::MaybeUninit;

    fn defaults() -> cm_input_options {
        let mut c = MaybeUninit::<cm_input_options>::uninit();
        cm_input_options_default(c.as_mut_ptr());
        // SAFETY: written on success.
        unsafe { c.assume_init() }
    }

    #[test]
    fn defaults_read_the_raster_as_the_library_does() {
        let from_c = unsafe { input_options(&defaults()) }.unwrap();
        let (d, c) = (Input::path("x"), from_c.input("x", BandSelection::Auto));
        assert_eq!(from_c.reading, Reading::default());
        assert_eq!(c.scaling, d.scaling);
        assert_eq!(c.nodata, d.nodata);
        assert_eq!(c.resolution, d.resolution);
        assert_eq!(from_c.buffers(Buffers::default()), Buffers::default());
        let null = unsafe { input_options(std::ptr::null()) }.unwrap();
        assert_eq!(null.reading.scaling, Scaling::Auto);
    }

    #[test]
    fn values_translate_and_bad_ones_name_their_field() {
        let c = cm_input_options {
            scaling: 2,
            dn_offset: -1000.0,
            has_nodata: true,
            resolution: 20.0,
            buffer_shadow: 2,
            ..defaults()
        };
        let t = unsafe { input_options(&c) }.unwrap();
        assert_eq!(
            t.reading.scaling,
            Scaling::DigitalNumbers {
                quantification: 10000.0,
                offset: -1000.0
            }
        );
        assert_eq!(
            (t.reading.nodata, t.reading.resolution),
            (Some(0.0), Some(20.0))
        );
        let b = t.buffers(Buffers::uniform(4));
        assert_eq!(b.radius, [0, 0, 4, 4, 2]);
        for (bad, needle) in [
            (
                cm_input_options { scaling: 3, ..c },
                "input_options->scaling",
            ),
            (
                cm_input_options {
                    buffer_cloud: -2,
                    ..c
                },
                "input_options->buffer_cloud",
            ),
        ] {
            let err = unsafe { input_options(&bad) }.err().unwrap();
            assert!(err.message.contains(needle), "{}", err.message);
        }
    }

    #[test]
    fn a_reading_names_its_struct_and_ignores_the_buffers() {
        let c = cm_input_options {
            scaling: 2,
            dn_offset: -1000.0,
            buffer_cloud: -2,
            ..defaults()
        };
        let r = unsafe { reading(&c, "options->input_options") }.unwrap();
        assert_eq!(
            r,
            Reading {
                scaling: Scaling::DigitalNumbers {
                    quantification: 10000.0,
                    offset: -1000.0
                },
                ..Reading::default()
            }
        );
        let null = unsafe { reading(std::ptr::null(), "options->input_options") }.unwrap();
        assert_eq!(null, Reading::default());
        let bad = cm_input_options { scaling: 3, ..c };
        let err = unsafe { reading(&bad, "options->input_options") }.unwrap_err();
        assert!(
            err.message.contains("options->input_options->scaling is"),
            "{}",
            err.message
        );
    }
}
