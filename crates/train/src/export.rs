//! `cloudmask train export`: a checkpoint becomes a self-describing ONNX model (the card in
//! `metadata_props`) that every cloudmask shell loads by name.

use crate::checkpoint;
use cloudmask::error::{Error, Result};
use cloudmask::model::bands::wavelength_nm;
use cloudmask::model::card::{
    BandSpec, ClassSpec, ModelCard, OutputKind, CARD_FORMAT, CARD_METADATA_KEY,
};
use cloudmask::model::classes::CommonClass;
use serde_json::json;
use std::path::Path;
use tch::Device;

pub struct ExportOptions<'a> {
    pub name: &'a str,
    pub product_level: &'a str,
    pub tile_size: Option<usize>,
    pub resolution_m: Option<f64>,
    pub description: Option<&'a str>,
}

/// Writes `out` (through a temporary file) and returns the card written into it.
pub fn export(dir: &Path, out: &Path, opts: &ExportOptions) -> Result<ModelCard> {
    let (info, net) = checkpoint::load_network(dir, None, Device::Cpu)?;
    let multiple = info.spec.size_multiple();
    let tile = opts
        .tile_size
        .unwrap_or(256.max(multiple).div_ceil(multiple) * multiple);
    if tile % multiple != 0 {
        return Err(Error::invalid(format!(
            "--tile-size {tile} must be a multiple of {multiple} for {}",
            info.spec.arch.describe()
        )));
    }
    let classes = info
        .classes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let common = CommonClass::parse(n)
                .ok_or_else(|| Error::model(format!("checkpoint class '{n}' is unknown")))?;
            Ok(ClassSpec {
                id: i as u8,
                name: n.clone(),
                colour: common.colour(),
                common: common.name().to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let last = info.history.last().cloned().unwrap_or_default();
    let best = info
        .history
        .iter()
        .find(|e| e["epoch"].as_u64() == Some(info.best_epoch as u64))
        .cloned()
        .unwrap_or(last);
    let card = ModelCard {
        format: CARD_FORMAT.to_string(),
        name: opts.name.to_string(),
        version: format!("{}-epoch{}", env!("CARGO_PKG_VERSION"), info.epoch),
        description: opts.description.map(str::to_string).unwrap_or_else(|| {
            format!("{} trained with cloudmask train", info.spec.arch.describe())
        }),
        licence: "as the training data".to_string(),
        product_level: opts.product_level.to_string(),
        bands: band_specs(&info.bands),
        reflectance_scale: 1.0,
        mean: info.mean.clone(),
        std: info.std.clone(),
        classes,
        output: OutputKind::Logits,
        tile_size: tile,
        context: info.spec.context(),
        size_multiple: multiple,
        resolution_m: opts.resolution_m,
        training: json!({
            "network": info.spec,
            "epochs": info.epoch,
            "best_epoch": info.best_epoch,
            "data": info.data,
            "settings": info.settings,
            "metrics": best,
            "framework": format!("libtorch via tch {}", "0.26.0"),
        }),
    };
    card.validate()?;
    let bytes = net.to_onnx(&[(CARD_METADATA_KEY.to_string(), card.to_json())]);
    write_model(out, &bytes)?;
    Ok(card)
}

/// The card's bands: each input band by name, with its wavelength where known.
pub fn band_specs(bands: &[String]) -> Vec<BandSpec> {
    bands
        .iter()
        .map(|b| BandSpec {
            name: b.clone(),
            wavelength_nm: wavelength_nm(b),
        })
        .collect()
}

/// Writes an exported graph once it reads back as ONNX.
pub fn write_model(path: &Path, bytes: &[u8]) -> Result<()> {
    cloudmask::onnx::inspect(bytes)
        .map_err(|e| Error::model(format!("the exported graph does not read back: {e}")))?;
    crate::files::write_atomic(path, bytes, "onnx.tmp")
}
