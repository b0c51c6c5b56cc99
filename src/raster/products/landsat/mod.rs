//! Landsat 4–9 Collection 2 scenes, Level-1 (top-of-atmosphere) and Level-2 (surface
//! reflectance), as USGS delivers them: one GeoTIFF per band beside an MTL metadata file, in a
//! folder or a `.tar` archive. Given the MTL (`*_MTL.txt` or `*_MTL.json`), the folder or the
//! archive, the model's bands are stacked into one virtual raster whose GDAL scale and offset
//! make the stored digital numbers reflectance (see [`scene::Scene::scale_offset`]).

mod mtl;
mod odl;
mod scene;
mod vrt;

use super::folders::is_landsat_metadata;
use super::{Opened, ProductLevel};
use crate::error::{Error, Result};
use crate::raster::gdal::vsi;
use mtl::Mtl;
use scene::Scene;
use std::path::Path;

/// MTL files are a few tens of kilobytes; anything far larger is not one.
const MTL_MAX_BYTES: usize = 4 << 20;

/// A scene's MTL and the folder holding its band files, as GDAL paths (`/vsitar/…` inside an
/// archive).
struct Located {
    mtl: String,
    folder: String,
}

/// Opens the Landsat scene at `path` for a model whose bands are `model_bands`; `None` when
/// `path` is not a Landsat scene (no MTL file, folder or archive holding one).
pub fn open(path: &str, model_bands: &[String], resolution: Option<f64>) -> Result<Option<Opened>> {
    let Some(found) = locate(path)? else {
        return Ok(None);
    };
    let scene = read_scene(&found)?;
    let mut bands = Vec::with_capacity(model_bands.len());
    for name in model_bands {
        let n = scene.band_number(name)?;
        let file = scene.band_file(n, name)?;
        if file.contains(['/', '\\']) || file == ".." {
            return Err(Error::input(format!(
                "{}: FILE_NAME_BAND_{n} = '{file}' is not a file name in the scene's folder",
                scene.mtl.name
            )));
        }
        let (scale, offset) = scene.scale_offset(n)?;
        bands.push(vrt::Band {
            name: name.clone(),
            file: format!("{}/{file}", found.folder),
            scale,
            offset,
        });
    }
    let meta = [
        (super::PRODUCT_KEY, scene.product_name()),
        (super::LEVEL_KEY, scene.level.card_name().to_string()),
        (
            "LANDSAT_PRODUCT_ID",
            scene
                .mtl
                .get(scene::PRODUCT_CONTENTS, "LANDSAT_PRODUCT_ID")
                .unwrap_or_default()
                .to_string(),
        ),
    ];
    let (dataset, input_grid) = vrt::stack(path, &scene.mtl.name, &bands, &meta, resolution)?;
    Ok(Some(Opened {
        dataset,
        stacked: true,
        input_grid,
    }))
}

/// The level of the Landsat scene at `path` from its MTL alone; `None` when `path` is not a
/// Landsat scene.
pub fn product_level(path: &str) -> Result<Option<ProductLevel>> {
    match locate(path)? {
        Some(found) => Ok(Some(read_scene(&found)?.level)),
        None => Ok(None),
    }
}

fn read_scene(found: &Located) -> Result<Scene> {
    let bytes = vsi::read_file(&found.mtl, MTL_MAX_BYTES)?;
    Scene::from_mtl(Mtl::parse(&found.mtl, &bytes)?)
}

/// Finds the MTL of the scene `path` names: the MTL itself, a folder holding one, or a `.tar`
/// (read through GDAL's `/vsitar/`) holding one.
fn locate(path: &str) -> Result<Option<Located>> {
    let lower = path.to_ascii_lowercase();
    if is_landsat_metadata(&lower) {
        let folder = match path.rfind('/') {
            Some(i) => path[..i].to_string(),
            None => ".".to_string(),
        };
        return Ok(Some(Located {
            mtl: path.to_string(),
            folder,
        }));
    }
    let p = Path::new(path);
    if [".tar", ".tar.gz", ".tgz"]
        .iter()
        .any(|e| lower.ends_with(e))
        && p.is_file()
    {
        let archive = format!("/vsitar/{path}");
        let names = vsi::read_dir_recursive(&archive)?;
        return Ok(pick_mtl(path, &names)?.map(|name| {
            let folder = match name.rfind('/') {
                Some(i) => format!("{archive}/{}", &name[..i]),
                None => archive.clone(),
            };
            Located {
                mtl: format!("{archive}/{name}"),
                folder,
            }
        }));
    }
    if p.is_dir() {
        let names: Vec<String> = std::fs::read_dir(p)
            .map_err(|e| Error::input(format!("cannot list {path}: {e}")))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let folder = path.trim_end_matches('/').to_string();
        return Ok(pick_mtl(path, &names)?.map(|name| Located {
            mtl: format!("{folder}/{name}"),
            folder,
        }));
    }
    Ok(None)
}

/// The one scene's MTL among `names` (USGS ships the same metadata as .json, .txt and .xml:
/// the JSON is preferred); an error when the names hold several scenes.
fn pick_mtl(container: &str, names: &[String]) -> Result<Option<String>> {
    let mut mtls: Vec<&String> = names.iter().filter(|n| is_landsat_metadata(n)).collect();
    // JSON first, then by name.
    mtls.sort_by_key(|n| (!n.to_ascii_lowercase().ends_with(".json"), n.as_str()));
    let scene_of = |n: &str| {
        let l = n.to_ascii_lowercase();
        n[..l.rfind("_mtl.").unwrap_or(l.len())].to_string()
    };
    let mut scenes: Vec<String> = mtls.iter().map(|n| scene_of(n)).collect();
    scenes.sort();
    scenes.dedup();
    if scenes.len() > 1 {
        return Err(Error::input(format!(
            "{container} holds several Landsat scenes ({}): give one scene's MTL file",
            scenes.join(", ")
        )));
    }
    Ok(mtls.first().map(|n| n.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mtl_is_picked_per_scene() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let got = pick_mtl(
            "d",
            &names(&["S_B4.TIF", "S_MTL.txt", "S_MTL.json", "S_MTL.xml"]),
        )
        .unwrap();
        assert_eq!(got.as_deref(), Some("S_MTL.json"));
        assert_eq!(
            pick_mtl("d", &names(&["S_MTL.txt"])).unwrap().as_deref(),
            Some("S_MTL.txt")
        );
        assert_eq!(pick_mtl("d", &names(&["a.tif"])).unwrap(), None);
        let e = pick_mtl("d", &names(&["A_MTL.txt", "B_MTL.json"])).unwrap_err();
        assert!(
            e.message.contains("several Landsat scenes (A, B)"),
            "{}",
            e.message
        );
    }
}
