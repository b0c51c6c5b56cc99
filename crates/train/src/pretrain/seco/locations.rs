//! SeCo's data: the location list (the same footprint at several dates), its checks, the
//! windows every date has data in, and the sampler that picks a footprint and its dates.

use super::super::PretrainData;
use crate::cli::PretrainArgs;
use crate::data::patches::{self, Normalisation, Patch};
use crate::data::scene::{Scene, Window};
use cloudmask::error::{Error, Result};
use cloudmask::raster::gdal::Dataset;
use cloudmask_tools::rng::Rng;
use std::path::Path;

/// One line of the location list.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub name: String,
    /// Raster paths, one per date.
    pub dates: Vec<String>,
    /// Line in the list (1-based), for messages.
    pub line: usize,
}

/// Parses a location list (`name: date1.tif date2.tif …`); relative paths are joined to `base`.
/// `source` names the list in messages.
pub fn parse_locations(text: &str, base: &Path, source: &str) -> Result<Vec<Location>> {
    let mut out: Vec<Location> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let bad = |why: String| {
            Error::invalid(format!(
                "{source} line {}: {why}; expected `name: date1.tif date2.tif …`",
                n + 1
            ))
        };
        let (name, rest) = line
            .split_once(':')
            .ok_or_else(|| bad("no `name:` before the rasters".into()))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("the location has no name".into()));
        }
        let dates: Vec<String> = rest
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .map(|f| {
                let p = Path::new(f);
                if p.is_absolute() || f.starts_with("/vsi") {
                    f.to_string()
                } else {
                    base.join(p).to_string_lossy().into_owned()
                }
            })
            .collect();
        if dates.len() < 2 {
            return Err(bad(format!(
                "location '{name}' has {} date(s); SeCo needs at least two co-registered rasters of the same footprint",
                dates.len()
            )));
        }
        if let Some(d) = dates
            .iter()
            .enumerate()
            .find(|(i, d)| dates[..*i].contains(d))
        {
            return Err(bad(format!("location '{name}' names {} twice", d.1)));
        }
        if let Some(prev) = out.iter().find(|l| l.name == name) {
            return Err(bad(format!(
                "location '{name}' is already on line {}",
                prev.line
            )));
        }
        out.push(Location {
            name: name.to_string(),
            dates,
            line: n + 1,
        });
    }
    if out.is_empty() {
        return Err(Error::invalid(format!(
            "location list {source} names no locations"
        )));
    }
    Ok(out)
}

/// Every date of a location covers the same pixels: same size, and the same CRS and
/// geotransform where both files say.
pub fn check_coregistered(loc: &Location) -> Result<()> {
    let first = Dataset::open(&loc.dates[0])?;
    let (w, h) = (first.width(), first.height());
    let (crs, gt) = (first.projection(), first.geo_transform());
    for date in &loc.dates[1..] {
        let ds = Dataset::open(date)?;
        if (ds.width(), ds.height()) != (w, h) {
            return Err(Error::input(format!(
                "location '{}': {date} is {} x {} pixels but {} is {w} x {h}; the dates of a location must be co-registered (gdalwarp -te … -ts …)",
                loc.name,
                ds.width(),
                ds.height(),
                loc.dates[0]
            )));
        }
        let other = ds.projection();
        if !crs.is_empty() && !other.is_empty() && other != crs {
            return Err(Error::input(format!(
                "location '{}': {date} and {} are in different coordinate reference systems",
                loc.name, loc.dates[0]
            )));
        }
        if let (Some(a), Some(b)) = (gt, ds.geo_transform()) {
            let tol = (a[1].abs().max(a[5].abs()) * 1e-3).max(1e-9);
            if a.iter().zip(&b).any(|(p, q)| (p - q).abs() > tol) {
                return Err(Error::input(format!(
                    "location '{}': {date} and {} have different geotransforms ({b:?} vs {a:?}): they are not on the same grid",
                    loc.name, loc.dates[0]
                )));
            }
        }
    }
    Ok(())
}

/// The loaded locations: which scenes are the dates of each, and its windows.
#[derive(Debug, Clone)]
pub struct Locations {
    pub names: Vec<String>,
    /// Scene indices (into `PretrainData::scenes`) of each location's dates.
    pub dates: Vec<Vec<usize>>,
    /// Windows with data on every date of the location.
    pub windows: Vec<Vec<Window>>,
}

/// One item of a batch: a footprint and three dates of it (scene indices).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    pub location: usize,
    pub window: Window,
    /// Reference date (the query and `k_aug`).
    pub t0: usize,
    /// Date of `k_both`.
    pub t1: usize,
    /// Date of `k_season`.
    pub t2: usize,
}

impl Locations {
    /// A location, a window of it, a reference date and two other dates (see the module notes).
    pub fn sample(&self, rng: &mut Rng) -> Pick {
        let location = rng.below(self.names.len());
        let windows = &self.windows[location];
        let dates = &self.dates[location];
        let window = windows[rng.below(windows.len())];
        let i0 = rng.below(dates.len());
        let others: Vec<usize> = (0..dates.len()).filter(|&i| i != i0).collect();
        let i1 = others[rng.below(others.len())];
        let rest: Vec<usize> = others.iter().copied().filter(|&i| i != i1).collect();
        let i2 = if rest.is_empty() {
            i1
        } else {
            rest[rng.below(rest.len())]
        };
        Pick {
            location,
            window,
            t0: dates[i0],
            t1: dates[i1],
            t2: dates[i2],
        }
    }
}

/// Reads `--locations`, checks it, loads every date with `Scene::load_unlabelled`, and finds the
/// windows. `PretrainData::pool` holds each window once (on the location's first date), for the
/// normalisation and the checkpoint's summary.
pub fn load(a: &PretrainArgs) -> Result<(PretrainData, Locations)> {
    let path = a.locations.as_ref().ok_or_else(|| {
        Error::invalid("seco pretrains on multi-date locations: give --locations FILE (`name: date1.tif date2.tif …` per line)")
    })?;
    if !a.images.is_empty() {
        return Err(Error::invalid(
            "seco reads its rasters from --locations; --image is for moco and deepcluster",
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::input(format!("cannot read location list {}: {e}", path.display())))?;
    let list = parse_locations(
        &text,
        path.parent().unwrap_or(Path::new(".")),
        &path.display().to_string(),
    )?;
    for loc in &list {
        check_coregistered(loc)?;
    }
    let bands = if a.bands.is_empty() {
        crate::bands_of(&list[0].dates[0])?
    } else {
        a.bands
            .iter()
            .map(|b| cloudmask::raster::bandmap::model_band_key(b))
            .collect()
    };
    let mut scenes = Vec::new();
    let mut locations = Locations {
        names: Vec::new(),
        dates: Vec::new(),
        windows: Vec::new(),
    };
    for loc in &list {
        let first = scenes.len();
        for date in &loc.dates {
            scenes.push(Scene::load_unlabelled(date, &bands)?);
        }
        let dates: Vec<usize> = (first..scenes.len()).collect();
        let region = (0, 0, scenes[first].width, scenes[first].height);
        // Windows with enough data on every date.
        let mut windows = patches::candidates(&scenes, &[(first, region)], a.window, a.window / 2);
        for &d in &dates[1..] {
            let on_d: Vec<Patch> =
                patches::candidates(&scenes, &[(d, region)], a.window, a.window / 2);
            windows.retain(|&(_, w)| on_d.iter().any(|&(_, x)| x == w));
        }
        if windows.is_empty() {
            return Err(Error::invalid(format!(
                "location '{}' has no {w} x {w} window with data on at least half its pixels on every date; lower --window",
                loc.name,
                w = a.window
            )));
        }
        locations.names.push(loc.name.clone());
        locations.dates.push(dates);
        locations
            .windows
            .push(windows.into_iter().map(|(_, w)| w).collect());
    }
    let pool: Vec<Patch> = locations
        .dates
        .iter()
        .zip(&locations.windows)
        .flat_map(|(d, ws)| ws.iter().map(move |&w| (d[0], w)))
        .collect();
    let every_date: Vec<Patch> = locations
        .dates
        .iter()
        .zip(&locations.windows)
        .flat_map(|(d, ws)| d.iter().flat_map(move |&s| ws.iter().map(move |&w| (s, w))))
        .collect();
    let norm = Normalisation::fit(&scenes, &every_date);
    Ok((
        PretrainData {
            scenes,
            pool,
            norm,
            bands,
        },
        locations,
    ))
}
