//! Which paths are one product as users download it, by name alone (nothing is opened): a
//! Sentinel-2 `.SAFE` folder (or its `.zip`), a Landsat scene folder holding its `*_MTL.txt` or
//! `*_MTL.json`, or that metadata file itself. Listing a folder of inputs (`cloudmask mask
//! scenes/`) treats such a folder as one input instead of looking into it, and output names use
//! the product's name.

use std::path::Path;

/// Whether `path` is a folder that is one product: a `*.SAFE` folder, or a folder holding a
/// Landsat `*_MTL.txt` / `*_MTL.json`.
pub fn is_product_folder(path: &Path) -> bool {
    if !path.is_dir() {
        return false;
    }
    if has_suffix(path, ".safe") {
        return true;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return false;
    };
    entries
        .flatten()
        .any(|e| landsat_metadata_stem(&e.file_name().to_string_lossy()).is_some())
}

/// The product's name for a product path (a `.SAFE` folder, a `.zip` or `.SAFE.zip`, a Landsat
/// folder or its `*_MTL.txt` / `*_MTL.json`), else the file name without its extension:
/// `S2B_MSIL2A_…SAFE` → `S2B_MSIL2A_…`, `LC09_…_MTL.txt` → `LC09_…`, `scene.tif` → `scene`.
pub fn product_stem(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string_lossy().into_owned());
    if let Some(stem) = landsat_metadata_stem(&name) {
        return stem.to_string();
    }
    let mut stem = name.as_str();
    for ext in [".zip", ".safe"] {
        if stem.to_ascii_lowercase().ends_with(ext) {
            stem = &stem[..stem.len() - ext.len()];
        }
    }
    if stem.len() < name.len() || is_product_folder(path) {
        return stem.to_string();
    }
    Path::new(&name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or(name)
}

/// Whether `name` is a Landsat metadata file name (`*_MTL.txt` or `*_MTL.json`, any case): the
/// one test the folder listing and the Landsat opener share.
pub fn is_landsat_metadata(name: &str) -> bool {
    landsat_metadata_stem(name).is_some()
}

/// `LC09_…` for a Landsat metadata file name `LC09_…_MTL.txt` or `LC09_…_MTL.json` (any case,
/// as the Landsat opener accepts it).
fn landsat_metadata_stem(name: &str) -> Option<&str> {
    let lower = name.to_ascii_lowercase();
    ["_mtl.txt", "_mtl.json"]
        .iter()
        .find(|suffix| lower.ends_with(*suffix))
        .map(|suffix| &name[..name.len() - suffix.len()])
        .filter(|stem| !stem.is_empty())
}

fn has_suffix(path: &Path, suffix: &str) -> bool {
    path.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase().ends_with(suffix))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_are_recognised_by_name() {
        let dir = std::env::temp_dir().join(format!("cm-folders-{}", std::process::id()));
        let safe = dir.join("S2B_MSIL2A_20240101T101010_N0510_R022_T32TQM_20240101T120000.SAFE");
        let landsat = dir.join("LC09_L2SP_193027_20240101_20240102_02_T1");
        let plain = dir.join("scenes");
        for d in [&safe, &landsat, &plain] {
            std::fs::create_dir_all(d).unwrap();
        }
        let mtl = landsat.join("LC09_L2SP_193027_20240101_20240102_02_T1_MTL.txt");
        std::fs::write(&mtl, "").unwrap();
        std::fs::write(plain.join("a.tif"), "").unwrap();
        assert!(is_product_folder(&safe) && is_product_folder(&landsat));
        assert!(!is_product_folder(&plain) && !is_product_folder(&mtl));
        assert_eq!(
            product_stem(&safe),
            "S2B_MSIL2A_20240101T101010_N0510_R022_T32TQM_20240101T120000"
        );
        assert_eq!(
            product_stem(&landsat),
            landsat.file_name().unwrap().to_str().unwrap()
        );
        assert_eq!(
            product_stem(&mtl),
            "LC09_L2SP_193027_20240101_20240102_02_T1"
        );
        assert_eq!(
            product_stem(Path::new("/x/S2A_MSIL1C_X.SAFE.zip")),
            "S2A_MSIL1C_X"
        );
        assert_eq!(product_stem(Path::new("/x/scene.v2.tif")), "scene.v2");
        assert_eq!(product_stem(&plain.join("a.tif")), "a");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
