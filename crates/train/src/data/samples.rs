//! Sample lists: which image/label pairs (and optionally which tile of each) to train or validate
//! on. One sample per line: `image labels [xoff yoff width height]`, whitespace or comma separated,
//! paths relative to the list file; `#` starts a comment. `cloudmask split` writes lists of sample
//! ids; a line may also start with such an id followed by `:` (`tile_17: a.tif b.tif 0 0 256 256`).

use super::scene::Window;
use cloudmask::error::{Error, Result};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    pub image: String,
    pub labels: String,
    pub window: Option<Window>,
}

/// Whole-scene samples from `--image`/`--labels` given in pairs.
pub fn pairs(images: &[String], labels: &[String]) -> Result<Vec<Sample>> {
    if images.len() != labels.len() {
        return Err(Error::invalid(format!(
            "{} --image but {} --labels: give them in pairs",
            images.len(),
            labels.len()
        )));
    }
    Ok(images
        .iter()
        .zip(labels)
        .map(|(image, labels)| Sample {
            image: image.clone(),
            labels: labels.clone(),
            window: None,
        })
        .collect())
}

pub fn read_list(path: &Path) -> Result<Vec<Sample>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(format!("cannot read sample list {}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut samples = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let line = match line.split_once(':') {
            Some((id, rest)) if !id.contains(['/', '.', ' ', ',']) => rest,
            _ => line,
        };
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        let bad = |why: &str| {
            Error::invalid(format!(
                "{} line {}: {why}; expected `image labels [xoff yoff width height]`",
                path.display(),
                n + 1
            ))
        };
        let window = match fields.len() {
            2 => None,
            6 => {
                let v: Vec<usize> = fields[2..]
                    .iter()
                    .map(|f| f.parse::<usize>())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| bad("the window must be four whole numbers"))?;
                Some((v[0], v[1], v[2], v[3]))
            }
            _ => return Err(bad(&format!("{} fields", fields.len()))),
        };
        let resolve = |f: &str| {
            let p = Path::new(f);
            if p.is_absolute() {
                f.to_string()
            } else {
                base.join(p).to_string_lossy().into_owned()
            }
        };
        samples.push(Sample {
            image: resolve(fields[0]),
            labels: resolve(fields[1]),
            window,
        });
    }
    if samples.is_empty() {
        return Err(Error::invalid(format!(
            "sample list {} names no samples",
            path.display()
        )));
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_resolve_paths_windows_and_ids() {
        let text = "# comment\na.tif b.tif\ntile_3: /x/c.tif,/x/d.tif,0,256,128,128\n\n";
        let list = crate::files::scratch_file("cm-samples", "train.txt", text);
        let dir = list.parent().unwrap();
        let s = read_list(&list).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].image, dir.join("a.tif").to_string_lossy());
        assert_eq!(s[1].labels, "/x/d.tif");
        assert_eq!(s[1].window, Some((0, 256, 128, 128)));
        std::fs::write(&list, "# nothing\n").unwrap();
        assert!(read_list(&list)
            .unwrap_err()
            .message
            .contains("names no samples"));
        std::fs::write(&list, "a.tif b.tif 1 2\n").unwrap();
        assert!(read_list(&list)
            .unwrap_err()
            .message
            .contains("line 1: 4 fields"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
