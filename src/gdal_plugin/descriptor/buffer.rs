//! The valid mask's buffer radii as a descriptor writes them: one number for clouds and
//! shadows, or one per class.

use crate::error::Result;
use crate::limits::{self, MAX_BUFFER};
use crate::model::CommonClass;
use crate::postprocess::Buffers;
use serde::{Deserialize, Serialize};

/// Buffer radii around each class: one number (clouds and shadows) or per class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BufferSpec {
    Uniform(u32),
    PerClass {
        #[serde(default)]
        cloud: u32,
        #[serde(default)]
        thin_cloud: u32,
        #[serde(default)]
        shadow: u32,
        #[serde(default)]
        nodata: u32,
    },
}

impl Default for BufferSpec {
    fn default() -> Self {
        BufferSpec::of(&Buffers::default())
    }
}

impl BufferSpec {
    pub fn buffers(&self) -> Buffers {
        match *self {
            BufferSpec::Uniform(n) => Buffers::uniform(n),
            BufferSpec::PerClass {
                cloud,
                thin_cloud,
                shadow,
                nodata,
            } => {
                let mut b = Buffers::uniform(0);
                b.radius[CommonClass::Cloud as usize] = cloud;
                b.radius[CommonClass::ThinCloud as usize] = thin_cloud;
                b.radius[CommonClass::Shadow as usize] = shadow;
                b.radius[CommonClass::Nodata as usize] = nodata;
                b
            }
        }
    }

    /// Every radius within [`MAX_BUFFER`] (the JSON number is a `u32`, so it cannot wrap).
    pub fn check(&self) -> Result<()> {
        for (name, r) in self.radii() {
            limits::check(name, r, 0, MAX_BUFFER)?;
        }
        Ok(())
    }

    fn radii(&self) -> Vec<(&'static str, u32)> {
        match *self {
            BufferSpec::Uniform(n) => vec![("buffer", n)],
            BufferSpec::PerClass {
                cloud,
                thin_cloud,
                shadow,
                nodata,
            } => vec![
                ("buffer.cloud", cloud),
                ("buffer.thin_cloud", thin_cloud),
                ("buffer.shadow", shadow),
                ("buffer.nodata", nodata),
            ],
        }
    }

    pub fn of(b: &Buffers) -> BufferSpec {
        BufferSpec::PerClass {
            cloud: b.radius[CommonClass::Cloud as usize],
            thin_cloud: b.radius[CommonClass::ThinCloud as usize],
            shadow: b.radius[CommonClass::Shadow as usize],
            nodata: b.radius[CommonClass::Nodata as usize],
        }
    }
}
