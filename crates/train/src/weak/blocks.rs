//! Block labels, the only supervision of the weak (WDCD) path: which square windows of which
//! images are cloudy and which are clear.
//!
//! Either listed in a file (CSV or JSON, one block per entry: image, xoff, yoff, width, height,
//! cloudy|clear), or derived from a pixel label raster by its cloud fraction: a block whose
//! labelled pixels are at least [`CLOUDY_MIN`] cloud is cloudy, one with at most [`CLEAR_MAX`]
//! cloud is clear, and the ambiguous ones between are dropped, as are blocks with less than half
//! their pixels labelled. Nothing but the block's label leaves this module: the pixel labels do
//! not train the network.

use crate::data::patches::grid;
use crate::data::scene::Window;
use cloudmask::error::{Error, Result};
use std::path::Path;

/// Default: a block with at most this cloud fraction is clear.
pub const CLEAR_MAX: f64 = 0.02;
/// Default: a block with at least this cloud fraction is cloudy.
pub const CLOUDY_MIN: f64 = 0.3;
/// Blocks with a smaller share of labelled pixels are not derived.
pub const MIN_LABELLED: f64 = 0.5;

/// One labelled block of a listed image.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ListedBlock {
    pub image: String,
    pub window: Window,
    pub cloudy: bool,
}

/// How blocks are cut from a label raster and labelled by their cloud fraction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeriveRule {
    /// Block side, pixels.
    pub size: usize,
    /// Step between blocks, pixels (blocks overlap when smaller than `size`).
    pub stride: usize,
    /// Clear when the cloud fraction is at most this.
    pub clear_max: f64,
    /// Cloudy when the cloud fraction is at least this.
    pub cloudy_min: f64,
}

impl DeriveRule {
    pub fn check(&self) -> Result<()> {
        if self.size == 0 || self.stride == 0 {
            return Err(Error::invalid(
                "--weak-block and --weak-stride must be positive",
            ));
        }
        if !(0.0 <= self.clear_max && self.clear_max < self.cloudy_min && self.cloudy_min <= 1.0) {
            return Err(Error::invalid(format!(
                "block thresholds: need 0 <= --weak-clear-max ({}) < --weak-cloudy-min ({}) <= 1",
                self.clear_max, self.cloudy_min
            )));
        }
        Ok(())
    }
}

/// Cloud fraction of a window over its labelled pixels, and its labelled share. `cloud` holds per
/// pixel `Some(true)` for cloud, `Some(false)` for any other labelled class, `None` unlabelled.
pub fn cloud_fraction(cloud: &[Option<bool>], width: usize, win: Window) -> (f64, f64) {
    let (x, y, w, h) = win;
    let (mut labelled, mut cloudy) = (0usize, 0usize);
    for row in y..y + h {
        for is_cloud in cloud[row * width + x..row * width + x + w].iter().flatten() {
            labelled += 1;
            cloudy += usize::from(*is_cloud);
        }
    }
    let fraction = if labelled == 0 {
        0.0
    } else {
        cloudy as f64 / labelled as f64
    };
    (fraction, labelled as f64 / (w * h) as f64)
}

/// Blocks of a `width` x `height` scene on a grid of `rule.size` with step `rule.stride`
/// (reaching the right and bottom edges), labelled by their cloud fraction; ambiguous and
/// mostly unlabelled blocks are left out. Returns (window, cloudy).
pub fn derive(
    cloud: &[Option<bool>],
    width: usize,
    height: usize,
    rule: &DeriveRule,
) -> Vec<(Window, bool)> {
    grid((0, 0, width, height), rule.size, rule.stride)
        .into_iter()
        .filter_map(|win| {
            let (fraction, labelled) = cloud_fraction(cloud, width, win);
            if labelled < MIN_LABELLED {
                None
            } else if fraction >= rule.cloudy_min {
                Some((win, true))
            } else if fraction <= rule.clear_max {
                Some((win, false))
            } else {
                None
            }
        })
        .collect()
}

/// Reads a block list: JSON (a `.json` file, or text starting with `[` or `{`) or CSV.
///
/// CSV: one block per line, `image, xoff, yoff, width, height, label` (commas or whitespace;
/// `#` comments; a header line starting with `image` is skipped). JSON: an array (or
/// `{"blocks": [...]}`) of objects `{"image", "xoff", "yoff", "width", "height", "label"}`, or
/// `"cloudy": true|false` instead of `"label"`. Labels: `cloudy`/`cloud`/`1` or `clear`/`0`.
/// Relative image paths are relative to the list. All blocks must be squares of one size.
pub fn read_list(path: &Path) -> Result<Vec<ListedBlock>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(format!("cannot read block list {}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let trimmed = text.trim_start();
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || trimmed.starts_with('[')
        || trimmed.starts_with('{');
    let mut blocks = if is_json {
        parse_json(&text, path)?
    } else {
        parse_csv(&text, path)?
    };
    for b in &mut blocks {
        let p = Path::new(&b.image);
        if !p.is_absolute() {
            b.image = base.join(p).to_string_lossy().into_owned();
        }
    }
    let Some(first) = blocks.first() else {
        return Err(Error::invalid(format!(
            "block list {} names no blocks",
            path.display()
        )));
    };
    let side = first.window.2;
    if let Some(b) = blocks
        .iter()
        .find(|b| b.window.2 != side || b.window.3 != side || side == 0)
    {
        return Err(Error::invalid(format!(
            "block list {}: every block must be a square of the first block's size ({side} x {side}); {} at ({}, {}) is {} x {}",
            path.display(),
            b.image,
            b.window.0,
            b.window.1,
            b.window.2,
            b.window.3
        )));
    }
    if !blocks.iter().any(|b| b.cloudy) || blocks.iter().all(|b| b.cloudy) {
        return Err(Error::invalid(format!(
            "block list {} needs both cloudy and clear blocks",
            path.display()
        )));
    }
    Ok(blocks)
}

fn parse_label(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "cloudy" | "cloud" | "1" | "true" => Some(true),
        "clear" | "0" | "false" => Some(false),
        _ => None,
    }
}

fn parse_csv(text: &str, path: &Path) -> Result<Vec<ListedBlock>> {
    let mut blocks = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        if fields.is_empty() || (blocks.is_empty() && fields[0].eq_ignore_ascii_case("image")) {
            continue;
        }
        let bad = |why: String| {
            Error::invalid(format!(
                "{} line {}: {why}; expected `image, xoff, yoff, width, height, cloudy|clear`",
                path.display(),
                n + 1
            ))
        };
        if fields.len() != 6 {
            return Err(bad(format!("{} fields", fields.len())));
        }
        let v: Vec<usize> = fields[1..5]
            .iter()
            .map(|f| f.parse::<usize>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad("the window must be four whole numbers".into()))?;
        let cloudy = parse_label(fields[5])
            .ok_or_else(|| bad(format!("'{}' is not cloudy or clear", fields[5])))?;
        blocks.push(ListedBlock {
            image: fields[0].to_string(),
            window: (v[0], v[1], v[2], v[3]),
            cloudy,
        });
    }
    Ok(blocks)
}

fn parse_json(text: &str, path: &Path) -> Result<Vec<ListedBlock>> {
    let bad = |why: String| Error::invalid(format!("block list {}: {why}", path.display()));
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let entries = match &value {
        serde_json::Value::Array(a) => a,
        v => v["blocks"]
            .as_array()
            .ok_or_else(|| bad("expected an array of blocks or {\"blocks\": [...]}".into()))?,
    };
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let number = |key: &str| {
                e[key]
                    .as_u64()
                    .map(|v| v as usize)
                    .ok_or_else(|| bad(format!("block {i}: \"{key}\" must be a whole number")))
            };
            let image = e["image"]
                .as_str()
                .ok_or_else(|| bad(format!("block {i}: \"image\" must be a path")))?;
            let cloudy = match (&e["label"], &e["cloudy"]) {
                (serde_json::Value::String(s), _) => parse_label(s),
                (_, serde_json::Value::Bool(b)) => Some(*b),
                _ => None,
            }
            .ok_or_else(|| {
                bad(format!(
                    "block {i}: give \"label\": \"cloudy\"|\"clear\" or \"cloudy\": true|false"
                ))
            })?;
            Ok(ListedBlock {
                image: image.to_string(),
                window: (
                    number("xoff")?,
                    number("yoff")?,
                    number("width")?,
                    number("height")?,
                ),
                cloudy,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(clear_max: f64, cloudy_min: f64) -> DeriveRule {
        DeriveRule {
            size: 4,
            stride: 4,
            clear_max,
            cloudy_min,
        }
    }

    /// An 8 x 8 scene of four 4 x 4 blocks: 0 cloud pixels, 1 of 16, 8 of 16, and 4 cloud pixels
    /// among 6 labelled (the other 10 unlabelled).
    fn scene() -> Vec<Option<bool>> {
        let mut cloud = vec![Some(false); 64];
        cloud[4] = Some(true); // block (4, 0): 1 / 16
        for r in 4..6 {
            for c in 0..4 {
                cloud[r * 8 + c] = Some(true); // block (0, 4): 8 / 16
            }
        }
        for r in 4..8 {
            for c in 4..8 {
                let i = (r - 4) * 4 + (c - 4);
                cloud[r * 8 + c] = match i {
                    0..=3 => Some(true),
                    4..=5 => Some(false),
                    _ => None,
                };
            }
        }
        cloud
    }

    #[test]
    fn blocks_are_labelled_by_their_cloud_fraction() {
        let cloud = scene();
        assert_eq!(cloud_fraction(&cloud, 8, (4, 0, 4, 4)), (1.0 / 16.0, 1.0));
        assert_eq!(
            cloud_fraction(&cloud, 8, (4, 4, 4, 4)),
            (4.0 / 6.0, 6.0 / 16.0)
        );
        // Defaults: 1/16 (6 %) is neither clear (<= 2 %) nor cloudy (>= 30 %); the block with 6
        // of 16 pixels labelled is dropped whatever its fraction.
        let got = derive(&cloud, 8, 8, &rule(CLEAR_MAX, CLOUDY_MIN));
        assert_eq!(got, vec![((0, 0, 4, 4), false), ((0, 4, 4, 4), true)]);
        // Looser thresholds keep the 6 % block as clear; a stricter cloudy rule drops 50 %.
        let got = derive(&cloud, 8, 8, &rule(0.1, 0.6));
        assert_eq!(got, vec![((0, 0, 4, 4), false), ((4, 0, 4, 4), false)]);
        // The boundaries are inclusive.
        let got = derive(&cloud, 8, 8, &rule(0.0625, 0.5));
        assert_eq!(got.len(), 3);
        assert!(got.contains(&((0, 4, 4, 4), true)) && got.contains(&((4, 0, 4, 4), false)));
        // Overlapping blocks with a smaller stride.
        let r = DeriveRule {
            stride: 2,
            ..rule(CLEAR_MAX, CLOUDY_MIN)
        };
        assert_eq!(derive(&cloud, 8, 8, &r).len(), 5);
        assert!(rule(0.3, 0.3).check().is_err() && rule(0.0, 1.0).check().is_ok());
    }

    #[test]
    fn csv_and_json_lists_read_the_same_blocks() {
        let header = "image,xoff,yoff,width,height,label\n";
        let rows = "a.tif, 0, 0, 32, 32, cloudy # c\n/x/b.tif 32 0 32 32 clear\n";
        let csv = crate::files::scratch_file("cm-blocks", "blocks.csv", &format!("{header}{rows}"));
        let dir = csv.parent().unwrap();
        let json = dir.join("blocks.json");
        std::fs::write(
            &json,
            r#"{"blocks": [{"image": "a.tif", "xoff": 0, "yoff": 0, "width": 32, "height": 32, "label": "cloudy"},
                          {"image": "/x/b.tif", "xoff": 32, "yoff": 0, "width": 32, "height": 32, "cloudy": false}]}"#,
        )
        .unwrap();
        let a = read_list(&csv).unwrap();
        assert_eq!(a, read_list(&json).unwrap());
        assert_eq!(a[0].image, dir.join("a.tif").to_string_lossy());
        assert_eq!((a[1].window, a[1].cloudy), ((32, 0, 32, 32), false));

        std::fs::write(&csv, "a.tif 0 0 32 32 hazy\n").unwrap();
        let e = read_list(&csv).unwrap_err().message;
        assert!(e.contains("line 1: 'hazy' is not cloudy or clear"), "{e}");
        std::fs::write(&csv, "a.tif 0 0 32 32 cloudy\na.tif 0 0 16 16 clear\n").unwrap();
        let e = read_list(&csv).unwrap_err().message;
        assert!(
            e.contains("must be a square of the first block's size"),
            "{e}"
        );
        std::fs::write(&csv, "a.tif 0 0 32 32 cloudy\n").unwrap();
        let e = read_list(&csv).unwrap_err().message;
        assert!(e.contains("both cloudy and clear"), "{e}");
        std::fs::write(&json, r#"[{"image": "a.tif", "xoff": 0}]"#).unwrap();
        let e = read_list(&json).unwrap_err().message;
        assert!(e.contains("block 0"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
